"""One source of truth for the numeric sampling and render parameters: name, type, range,
help. The command line (click types), the OSC bridge (key checks), the render checks and
:meth:`BassGenerator.generate` all read their limits from :data:`NUMBERS`, so a range is
written once. Values must be finite: ``nan`` and ``inf`` are refused everywhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = ["lua_ranges", "NumberSpec", "NUMBERS", "MAX_VARIATIONS", "MAX_STEPS", "check_number", "SAMPLER_NAMES", "SAMPLER_HELP",
           "check_sampler", "EDIT_METHOD_NAMES", "EDIT_METHOD_HELP", "check_edit_method", "CROSSFADE_DEFAULT"]

MAX_VARIATIONS = 16
MAX_STEPS = 1000
CROSSFADE_DEFAULT = 0.03  # seconds of equal-power crossfade at each edge of an edit


@dataclass(frozen=True)
class NumberSpec:
    """A numeric parameter: ``kind`` "int" or "float", inclusive range ``[lo, hi]``, help text."""

    name: str
    kind: str
    lo: float
    hi: float
    help: str

    def check(self, value: Any) -> int | float:
        """``value`` as int/float if it is a finite number of the right kind within range;
        else ValueError with a one-line message naming the parameter."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{self.name} must be a number, got {type(value).__name__}")
        if not math.isfinite(value):
            raise ValueError(f"{self.name} must be a finite number, got {value}")
        if self.kind == "int":
            if value != int(value):
                raise ValueError(f"{self.name} must be a whole number, got {value:g}")
            value = int(value)
        else:
            value = float(value)
        if not self.lo <= value <= self.hi:
            raise ValueError(f"{self.name} must be within {self.range_text}, got {value:g}")
        return value

    @property
    def range_text(self) -> str:
        """``"lo..hi"`` for help texts and documentation."""
        if self.kind == "int":
            return f"{int(self.lo)}..{int(self.hi)}"
        return f"{self.lo:g}..{self.hi:g}"


def _specs(*specs: NumberSpec) -> dict[str, NumberSpec]:
    return {s.name: s for s in specs}


NUMBERS: dict[str, NumberSpec] = _specs(
    NumberSpec("steps", "int", 1, MAX_STEPS, "diffusion sampling steps (default: the model's)"),
    NumberSpec("cfg", "float", 0.0, 20.0, "classifier-free guidance weight (1 = conditional only; default: the model's)"),
    NumberSpec("phi", "float", 0.0, 1.0, "guidance std-rescale mix (default: the model's)"),
    NumberSpec("grounding", "float", 0.0, 1.0,
               "style grounding strength towards the reference's latent mean (the paper's; a model with a note "
               "basis moves only the timbre directions)"),
    NumberSpec("style_cfg", "float", 0.0, 10.0,
               "guidance weight of the timbre reference (models trained with one; 0 ignores it)"),
    NumberSpec("harmony_cfg", "float", 0.0, 10.0,
               "extra guidance towards the mix's chroma features: the bass follows the chords more "
               "(models trained with latent dropout; 0 = off; default: the model's)"),
    NumberSpec("seed", "int", 0, 2**31 - 1 - MAX_VARIATIONS, "random seed; variation i uses seed + i"),
    NumberSpec("variations", "int", 1, MAX_VARIATIONS, "number of basses (seeds seed..seed+n-1)"),
    NumberSpec("loudness", "float", -70.0, 0.0, "loudness target of the bass in LUFS"),
    NumberSpec("sample_rate", "int", 8000, 192000, "output sample rate in Hz (default: the input's)"),
    NumberSpec("tempo", "float", 20.0, 400.0, "tempo in BPM for the MIDI file (default: estimated)"),
    NumberSpec("crossfade", "float", 0.0, 1.0,
               f"equal-power crossfade in seconds at each edge of an edit (default {CROSSFADE_DEFAULT:g})"),
)


def check_number(name: str, value: Any) -> int | float:
    """:meth:`NumberSpec.check` of the parameter called ``name``."""
    return NUMBERS[name].check(value)


SAMPLER_NAMES = ("ddim", "dpmpp2m")
SAMPLER_HELP = "diffusion sampler: ddim or dpmpp2m (DPM-Solver++ 2M; default: the model's)"


def check_sampler(value: Any) -> str:
    """A sampler name of :data:`SAMPLER_NAMES`, else ValueError."""
    if value not in SAMPLER_NAMES:
        raise ValueError(f"sampler must be one of {', '.join(SAMPLER_NAMES)}, got {value!r}")
    return str(value)


EDIT_METHOD_NAMES = ("replace", "repaint", "guidance")
EDIT_METHOD_HELP = ("how an edit keeps the known part while sampling: replace (re-noised known frames put back "
                    "each step; default, measured best), repaint (replace with resampling jumps) or guidance "
                    "(reconstruction-guidance gradient step)")


def check_edit_method(value: Any) -> str:
    """An edit method of :data:`EDIT_METHOD_NAMES`, else ValueError."""
    if value not in EDIT_METHOD_NAMES:
        raise ValueError(f"edit_method must be one of {', '.join(EDIT_METHOD_NAMES)}, got {value!r}")
    return str(value)


def lua_ranges() -> str:
    """The numeric ranges as a Lua module for the REAPER scripts
    (``reaper_scripts/groundbass_params.lua``; a test keeps the file equal to this text)."""
    lines = ["-- @noindex", "-- groundbass parameter ranges, generated from groundbass/core/params.py",
             "-- (tests/test_reaper_scripts.py checks that this file matches it; do not edit by hand).",
             "return {"]
    for spec in NUMBERS.values():
        kind = "integer" if spec.kind == "int" else "number"
        lo = int(spec.lo) if spec.kind == "int" else spec.lo
        hi = int(spec.hi) if spec.kind == "int" else spec.hi
        lines.append(f'  {spec.name} = {{ kind = "{kind}", lo = {lo!r}, hi = {hi!r} }},')
    lines.append("}")
    return "\n".join(lines) + "\n"
