"""Render one mix file into a bass stem file: the one function shared by the command line
and the OSC bridge.

:func:`render_file` checks the output location (:func:`check_output_location`), reads and
checks the mix (and style reference, kept bass, transition reference), only then makes the
output folder, generates, applies the post-fx chain and loudness target, writes every output
to a temporary name in the destination folder and renames it into place, and optionally
writes MIDI beside it. It never overwrites without ``overwrite=True``, never touches the
input, and leaves no partial file (nor a new empty folder, for a bad input) behind when it
fails or is cancelled.
"""

from __future__ import annotations

import dataclasses
import errno
import logging
import math
import os
import secrets
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np

from groundbass.core.atomic import atomic_path
from groundbass.core.audio import fit_length
from groundbass.core.midi import audio_to_midi, estimate_tempo, notes_to_midi, parse_grid, parse_time_signature
from groundbass.core.params import CROSSFADE_DEFAULT, NUMBERS, check_edit_method, check_sampler
from groundbass.core.pipeline import BassGenerator
from groundbass.core.postfx import ChainError, ChainSpec, apply_postfx, load_chain_spec
from groundbass.core.postfx_stream import postfx_stream
from groundbass.core.stream import resample_pieces

from .audio_files import (AudioData, AudioFileError, bit_depth_of, file_loudness, open_staged, read_audio, stage_audio,
                          subtype_for)
from .paths import path_problem

__all__ = ["RenderParams", "RenderResult", "RenderError", "RenderCancelled", "render_file",
           "resolve_params", "params_dict", "parse_region", "variation_paths", "midi_path_for", "check_params", "check_output_audio",
           "check_output_location", "output_paths", "STAGES"]

log = logging.getLogger(__name__)

OUTPUT_FORMATS = ("wav", "flac")
BIT_DEPTHS = ("16", "24", "32f")

# share of the whole render given to each stage, for the overall progress fraction
STAGES = {"read": 0.02, "encode": 0.06, "diffusion": 0.74, "decode": 0.08, "postfx": 0.05, "midi": 0.03,
          "write": 0.02}


@dataclass
class RenderParams:
    """Every generation and post-processing parameter of one render (JSON-serialisable with
    ``dataclasses.asdict``). ``None`` means: the model's default (steps, cfg, phi,
    grounding), a random seed (recorded in the result), the input's format / bit depth /
    rate, a tempo estimated from the mix."""

    style: str | None = None
    grounding: float | None = None
    style_cfg: float | None = None
    harmony_cfg: float | None = None
    steps: int | None = None
    sampler: str | None = None
    cfg: float | None = None
    phi: float | None = None
    seed: int | None = None
    variations: int = 1
    fx: str = "none"
    loudness: float | None = None
    match_mix: bool = False
    format: str | None = None
    bit_depth: str | None = None
    sample_rate: int | None = None
    midi: bool = False
    tempo: float | None = None
    quantize: str | None = None
    time_signature: str | None = None  # "N/D" for the MIDI file and bar positions (default 4/4)
    keep: str | None = None  # an existing bass to edit (regenerate a region, or continue it)
    region: str | None = None  # "START:END" in seconds, or bars "BAR[.BEAT]:BAR[.BEAT]" with a tempo
    continue_: bool = False  # continue `keep` (shorter than the mix) to the end of the mix
    loop: bool = False  # a seamless loop of the whole input
    crossfade: float = CROSSFADE_DEFAULT  # seconds of equal-power crossfade at each edit edge
    edit_method: str = "replace"  # how an edit keeps the known part (core.params.EDIT_METHOD_NAMES)
    transition_to: str | None = None  # a reference bass whose timbre the bass moves to over `span`
    span: str | None = None  # "START:END" of a transition (from `keep` or `style` to `transition_to`)


@dataclass
class RenderResult:
    """What :func:`render_file` wrote: audio ``outputs`` (one per variation), ``midi`` files
    (empty unless asked), the ``seeds`` used, the input's ``duration_s`` in seconds and
    wall-clock ``timings`` in seconds per stage (read, encode, diffusion, decode, postfx,
    midi, write, total)."""

    outputs: list[Path]
    midi: list[Path]
    seeds: list[int]
    duration_s: float
    timings: dict[str, float] = field(default_factory=dict)


class RenderError(ValueError):
    """A render that cannot be done: bad input, bad parameter, output exists or cannot be
    written. The message is one line and names the file."""


class RenderCancelled(Exception):
    """``should_stop()`` returned True; nothing was left behind."""


def variation_paths(out_path: Path, variations: int) -> list[Path]:
    """``out.wav`` -> [``out.wav``, ``out.v2.wav``, ``out.v3.wav`` ...] (``variations`` paths)."""
    out_path = Path(out_path)
    return [out_path] + [out_path.with_name(f"{out_path.stem}.v{i + 1}{out_path.suffix}") for i in range(1, variations)]


def midi_path_for(audio_path: Path) -> Path:
    """The MIDI file written beside an output: ``song.bass.v2.wav`` -> ``song.bass.v2.mid``."""
    return Path(audio_path).with_suffix(".mid")


def output_paths(out_path: Path, params: RenderParams) -> list[Path]:
    """Every file a render of ``params`` into ``out_path`` writes: the variations, then their
    MIDI files when ``params.midi``."""
    outs = variation_paths(out_path, params.variations)
    return outs + ([midi_path_for(p) for p in outs] if params.midi else [])


def check_output_location(mix_path: Path, outputs: list[Path], *, overwrite: bool = False) -> None:
    """The output checks :func:`render_file` makes before it reads anything, creating nothing
    (so ``groundbass generate`` can make them before it loads the model): no output is the
    input (also through a link), none exists unless ``overwrite``, and the outputs' folder is a
    writable folder, or one that can be created (its nearest existing ancestor is a writable
    folder). Raises :class:`RenderError` with a one-line message naming the path."""
    mix_path = Path(mix_path)
    try:
        mix_real = mix_path.resolve()
    except (OSError, RuntimeError) as exc:
        raise RenderError(f"{mix_path}: {path_problem(exc)}") from None
    for p in map(Path, outputs):
        try:
            if p.resolve() == mix_real:
                raise RenderError(f"{p}: output would overwrite the input")
            if p.exists() and not overwrite:
                raise RenderError(f"{p}: already exists (not overwritten; use --overwrite)")
        except (OSError, RuntimeError) as exc:
            raise RenderError(f"{p}: {path_problem(exc)}") from None
    if not outputs:
        return
    folder = Path(outputs[0]).parent
    try:
        if _exists(folder):
            if not folder.is_dir():
                raise RenderError(f"{folder}: output folder is not a directory")
            if not os.access(folder, os.W_OK):
                raise RenderError(f"{folder}: output folder is not writable")
            return
        ancestor = folder.parent
        while not _exists(ancestor) and ancestor != ancestor.parent:
            ancestor = ancestor.parent
        if not ancestor.is_dir():
            raise RenderError(f"{folder}: cannot create the output folder ({ancestor} is not a directory)")
        if not os.access(ancestor, os.W_OK | os.X_OK):
            raise RenderError(f"{folder}: cannot create the output folder (permission denied in {ancestor})")
    except (OSError, RuntimeError) as exc:
        raise RenderError(f"{folder}: cannot use the output folder ({path_problem(exc)})") from None


def _exists(path: Path) -> bool:
    """Whether ``path`` names something (a dangling link counts); False where a parent is
    missing or not a folder. Other errors (a symlink loop, a name too long) are raised."""
    try:
        os.lstat(path)
        return True
    except (FileNotFoundError, NotADirectoryError):
        return False


def _make_output_folder(folder: Path) -> None:
    """Create the outputs' folder (and its parents); raises :class:`RenderError`."""
    try:
        if _exists(folder) and not folder.is_dir():
            raise RenderError(f"{folder}: output folder is not a directory")
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = path_problem(exc) if exc.errno in (errno.ELOOP, errno.ENAMETOOLONG) else exc.strerror or exc
        raise RenderError(f"{folder}: cannot create the output folder ({reason})") from None
    if not os.access(folder, os.W_OK):
        raise RenderError(f"{folder}: output folder is not writable")


def resolve_params(gen: BassGenerator, params: RenderParams) -> RenderParams:
    """A copy of ``params`` with steps, cfg, phi and grounding filled in from the model's
    defaults (what is recorded in manifests, so an explicit default equals an omitted one)."""
    d = gen.config.sampling
    return replace(params,
                   steps=d.steps if params.steps is None else int(params.steps),
                   sampler=d.sampler if params.sampler is None else str(params.sampler),
                   cfg=d.cfg if params.cfg is None else float(params.cfg),
                   phi=d.phi if params.phi is None else float(params.phi),
                   grounding=d.grounding if params.grounding is None else float(params.grounding),
                   style_cfg=d.style_cfg if params.style_cfg is None else float(params.style_cfg),
                   harmony_cfg=d.harmony_cfg if params.harmony_cfg is None else float(params.harmony_cfg))


def check_params(params: RenderParams) -> ChainSpec:
    """Check parameter ranges and load the fx chain. Returns the chain spec; raises
    :class:`RenderError` with a one-line message."""
    def bad(msg: str) -> RenderError:
        return RenderError(msg)

    if params.sampler is not None:
        try:
            check_sampler(params.sampler)
        except ValueError as exc:
            raise bad(str(exc)) from None
    for name, spec in NUMBERS.items():  # every numeric range, from the one spec
        v = getattr(params, name, None)
        if v is not None:
            try:
                spec.check(v)
            except ValueError as exc:
                raise bad(str(exc)) from None
    if params.format is not None and params.format not in OUTPUT_FORMATS:
        raise bad(f"format must be wav or flac, got {params.format!r}")
    if params.bit_depth is not None and str(params.bit_depth) not in BIT_DEPTHS:
        raise bad(f"bit depth must be 16, 24 or 32f, got {params.bit_depth!r}")
    if params.format == "flac" and str(params.bit_depth) == "32f":
        raise bad("FLAC has no 32-bit float; use --bit-depth 16 or 24, or --format wav")
    if params.loudness is not None and params.match_mix:
        raise bad("choose either a loudness target or match-mix, not both")
    if params.quantize:
        try:
            parse_grid(params.quantize)
        except ValueError as exc:
            raise bad(str(exc)) from None
    if params.time_signature:
        try:
            parse_time_signature(params.time_signature)
        except ValueError as exc:
            raise bad(str(exc)) from None
    if params.transition_to and params.span is None:
        raise bad("transition_to needs a span (--span START:END) to move over")
    if params.span is not None:
        if params.region is not None or params.continue_ or params.loop:
            raise bad("a transition (span) does not combine with region, continue or loop")
        if not (params.keep or params.transition_to or params.style):
            raise bad("a transition needs something to go from or to: keep, style or transition_to")
        try:
            parse_region(params.span, params.tempo, params.time_signature)
        except ValueError as exc:
            raise bad(str(exc).replace("region", "span", 1)) from None
    if params.region is not None or params.continue_:
        if not params.keep:
            raise bad("region and continue edit an existing bass: give keep (--keep BASS.wav)")
        if params.region is not None and params.continue_:
            raise bad("choose either a region to regenerate or continue, not both")
    if params.keep and params.region is None and not params.continue_ and params.span is None:
        raise bad("keep needs a region to regenerate (--region START:END), continue (--continue) "
                  "or a transition span (--span START:END)")
    if params.keep and params.loop:
        raise bad("loop makes a new bass; it does not combine with keep")
    if params.keep and (params.fx not in ("none", "", None) or params.loudness is not None or params.match_mix):
        raise bad("an edit keeps the existing bass sample for sample: post-fx and loudness do not apply with keep")
    if params.region is not None:
        try:
            parse_region(params.region, params.tempo, params.time_signature)
        except ValueError as exc:
            raise bad(str(exc)) from None
    try:
        check_edit_method(params.edit_method)
    except ValueError as exc:
        raise bad(str(exc)) from None
    try:
        return load_chain_spec(params.fx)
    except ChainError as exc:
        raise bad(str(exc)) from None


def parse_region(text: str, tempo: float | None = None, time_signature: str | None = None) -> tuple[float, float]:
    """``"START:END"`` -> (start_s, end_s). Without a tempo both are seconds ("12.5:20");
    with ``tempo`` (BPM, quarter notes per minute) they are bar positions, 1-based, ``BAR`` or
    ``BAR.BEAT`` ("5:9" = bar 5 to bar 9, "5.3:6" = bar 5 beat 3 to bar 6), in bars of
    ``time_signature`` ("N/D": N beats of a 1/D note; default 4/4). Raises ValueError with a
    one-line message."""
    beats_per_bar, unit = parse_time_signature(time_signature) if time_signature else (4, 4)
    beat_s = 60.0 / tempo * 4.0 / unit if tempo else 0.0
    parts = str(text).split(":")
    if len(parts) != 2:
        raise ValueError(f"region must be START:END, got {text!r}")

    def one(p: str) -> float:
        p = p.strip()
        if tempo is None:
            v = float(p)
        else:
            bar, _, beat = p.partition(".")
            b, bt = int(bar), int(beat) if beat else 1
            if b < 1 or not 1 <= bt <= beats_per_bar:
                raise ValueError(f"bar positions are BAR[.BEAT] from 1.1, got {p!r}")
            v = ((b - 1) * beats_per_bar + (bt - 1)) * beat_s
        if not math.isfinite(v) or v < 0:
            raise ValueError(f"region times must be finite and >= 0, got {p!r}")
        return v

    try:
        start, end = one(parts[0]), one(parts[1])
    except ValueError as exc:
        raise ValueError(f"region {text!r}: {exc}") from None
    if not start < end:
        raise ValueError(f"region {text!r}: START must come before END")
    return start, end


def _output_format(out_path: Path, params: RenderParams) -> str:
    suffix = out_path.suffix.lower().lstrip(".")
    if suffix not in OUTPUT_FORMATS:
        raise RenderError(f"{out_path}: unsupported output format {out_path.suffix or '(no extension)'!r} "
                          "(use .wav or .flac)")
    if params.format is not None and params.format != suffix:
        raise RenderError(f"{out_path}: the name says {suffix} but format {params.format} was asked for")
    return suffix


class _Progress:
    """Turns per-stage progress into one overall fraction for ``progress(stage, fraction)``
    and checks ``should_stop`` at every report; records stage timings."""

    def __init__(self, progress, should_stop, stages: list[str]) -> None:
        self.progress, self.should_stop = progress, should_stop
        total = sum(STAGES[s] for s in stages)
        self.weights = {s: STAGES[s] / total for s in stages}
        self.offsets, acc = {}, 0.0
        for s in stages:
            self.offsets[s] = acc
            acc += self.weights[s]
        self.timings: dict[str, float] = {s: 0.0 for s in stages}
        self.stage, self.t = None, time.perf_counter()

    def __call__(self, stage: str, done: float, total: float) -> None:
        # a report with done > 0 closes work of its own stage; done == 0 opens the stage and
        # closes the work of the previous one
        now = time.perf_counter()
        owner = stage if done > 0 and stage != "done" else self.stage
        if owner is not None:
            self.timings[owner] = self.timings.get(owner, 0.0) + now - self.t
        self.stage, self.t = stage, now
        if self.should_stop is not None and self.should_stop():
            raise RenderCancelled("render cancelled")
        if self.progress is not None and stage in self.weights:
            frac = self.offsets[stage] + self.weights[stage] * (done / total if total else 1.0)
            self.progress(stage, float(min(1.0, frac)))

    def finish(self) -> dict[str, float]:
        self("done", 1, 1)
        self.timings.pop("done", None)
        if self.progress is not None:
            self.progress("done", 1.0)
        self.timings["total"] = sum(self.timings.values())
        return {k: round(v, 4) for k, v in self.timings.items()}


def render_file(gen: BassGenerator, mix_path: Path, out_path: Path, params: RenderParams, *,
                overwrite: bool = False, progress: Callable[[str, float], None] | None = None,
                should_stop: Callable[[], bool] | None = None,
                folder_check: Callable[[Path], None] | None = None) -> RenderResult:
    """Generate the bass stem of ``mix_path`` into ``out_path`` (variation i > 0 goes to
    ``<stem>.v{i+1}<ext>`` beside it; ``params.midi`` adds ``.mid`` files beside each).

    ``progress(stage, fraction)`` gets the stage name (read, encode, diffusion, decode,
    postfx, midi, write; finally ``done``) and the overall fraction done in [0, 1]. ``should_stop()`` is polled
    at every progress report (each diffusion step); True raises :class:`RenderCancelled`
    and leaves no file behind. Raises :class:`RenderError` (one line naming the file) for
    bad input, bad parameters, an existing output without ``overwrite``, or a failed write.

    ``folder_check(real_folder)`` is called at write time with the real path of the output
    folder as opened for writing, and every output is created relative to that open folder
    (the OSC bridge refuses folders outside its roots this way, whatever happened to the
    path while the job waited); it raises to refuse.

    Returns the written paths, the seeds, the input duration (s) and stage timings (s).
    """
    mix_path, out_path = Path(mix_path), Path(out_path)
    spec = check_params(params)
    try:
        gen.config.check_harmony_cfg(params.harmony_cfg or 0.0)  # before any work: no file read or written
    except ValueError as exc:
        raise RenderError(str(exc)) from None
    fmt = _output_format(out_path, params)
    outs = variation_paths(out_path, params.variations)
    midis = [midi_path_for(p) for p in outs] if params.midi else []
    check_output_location(mix_path, outs + midis, overwrite=overwrite)

    stages = ["read", "encode", "diffusion", "decode", "postfx"] + (["midi"] if params.midi else []) + ["write"]
    prog = _Progress(progress, should_stop, stages)
    prog("read", 0, 1)
    streamed = _streams(params, spec)
    try:
        # the model hears the mono downmix: read only that (and the file's channel count and
        # peak), unless match_mix measures the mix's own channels later; a plain generation
        # reads it into a scratch file at the model's rate and never holds it (or the bass) whole
        mix = read_audio(mix_path, downmix=streamed or not params.match_mix,
                         stream_rate=gen.sample_rate if streamed else None)
    except AudioFileError as exc:
        raise RenderError(str(exc)) from None
    try:
        return _render(gen, mix, mix_path, out_path, params, spec, fmt, outs, midis, prog, should_stop,
                       folder_check)
    finally:
        if mix.signal is not None:
            mix.signal.close()


def _streams(params: RenderParams, spec: ChainSpec) -> bool:
    """Whether a render runs streamed end to end (mix read into a scratch file, the bass
    decoded, resampled, post-processed (:mod:`groundbass.core.postfx_stream`), checked and
    written piece by piece): every generation of a new bass except loops and MIDI export;
    edits and transitions work on whole arrays."""
    del spec  # every chain streams
    return not (params.keep or params.span is not None or params.loop or params.midi)


def _fx_hears_channels(params: RenderParams, spec: ChainSpec) -> bool:
    """Whether the post-fx must see the bass in the input's channel count: plugins and loudness
    targets do; a limiter alone runs on the mono bass (its gain is linked across identical
    channels, so the N-channel file written from it is the same)."""
    return bool(spec.plugins) or params.loudness is not None or params.match_mix


def _render(gen: BassGenerator, mix: AudioData, mix_path: Path, out_path: Path, params: RenderParams,
            spec: ChainSpec, fmt: str, outs: list[Path], midis: list[Path], prog: "_Progress",
            should_stop: Callable[[], bool] | None, folder_check: Callable[[Path], None] | None) -> RenderResult:
    """:func:`render_file` once the mix is read."""
    try:
        style = read_audio(Path(params.style), "style file", min_seconds=0.0) if params.style else None
        kept = read_audio(Path(params.keep), "kept bass", min_seconds=0.0) if params.keep else None
        target = read_audio(Path(params.transition_to), "transition reference", min_seconds=0.0) \
            if params.transition_to else None
    except AudioFileError as exc:
        raise RenderError(str(exc)) from None
    if style is not None and style.duration_s < 0.1:
        raise RenderError(f"{params.style} (style file): too short ({style.duration_s:.2f} s) to use as a reference")
    bit_depth = str(params.bit_depth) if params.bit_depth else bit_depth_of((kept or mix).subtype)
    if fmt == "flac" and bit_depth == "32f":
        bit_depth = "24" if params.bit_depth is None else bit_depth
    try:
        subtype = subtype_for(fmt, bit_depth)
    except ValueError as exc:
        raise RenderError(f"{out_path}: {exc}") from None

    seed = int(params.seed) if params.seed is not None else secrets.randbelow(2**31 - params.variations)
    seeds = [seed + i for i in range(params.variations)]
    sampling = dict(style=None if style is None else style.samples,
                    style_sample_rate=None if style is None else style.sample_rate,
                    steps=params.steps, cfg=params.cfg, phi=params.phi, grounding=params.grounding,
                    style_cfg=params.style_cfg, harmony_cfg=params.harmony_cfg, sampler=params.sampler,
                    callback=prog)
    src_rate = mix.sample_rate
    mix_silent = mix.file_peak < SILENCE_PEAK  # of the file as read (a downmix can cancel)
    channels = 1
    if target is not None and target.duration_s < 0.1:
        raise RenderError(f"{params.transition_to} (transition reference): too short ({target.duration_s:.2f} s)")
    _make_output_folder(out_path.parent)  # only now: a bad input leaves no new folder behind
    if params.span is not None:
        span = parse_region(params.span, params.tempo, params.time_signature)
        try:
            basses = [gen.transition(mix.samples, mix.sample_rate, start=span[0], end=span[1],
                                     to_style=None if target is None else target.samples,
                                     to_style_sample_rate=None if target is None else target.sample_rate,
                                     bass=None if kept is None else kept.samples,
                                     bass_sample_rate=None if kept is None else kept.sample_rate,
                                     crossfade=params.crossfade, method=params.edit_method, seed=s,
                                     **sampling) for s in seeds]
        except ValueError as exc:
            raise RenderError(f"{params.keep or params.transition_to or params.style}: {exc}") from None
        if kept is not None:
            src_rate = kept.sample_rate
    elif kept is not None:
        region = parse_region(params.region, params.tempo, params.time_signature) if params.region is not None else (None, None)
        try:
            basses = [gen.edit(mix.samples, mix.sample_rate, kept.samples, kept.sample_rate,
                               task="continue" if params.continue_ else "regenerate", start=region[0], end=region[1],
                               crossfade=params.crossfade, method=params.edit_method, seed=s,
                               **sampling) for s in seeds]
        except ValueError as exc:
            raise RenderError(f"{params.keep}: {exc}") from None
        src_rate = kept.sample_rate
    elif mix.signal is not None:  # streamed: decode, resample, check and write piece by piece
        rate_out = int(params.sample_rate or mix.sample_rate)
        length_out = int(round(mix.frames * rate_out / mix.sample_rate))
        streams = gen.generate_stream(mix.signal, sample_rate=mix.sample_rate, length=mix.frames, seed=seed,
                                      variations=params.variations, **sampling)
        audios = (resample_pieces(pieces, mix.sample_rate, rate_out, length_out) for pieces in streams)
        if spec.ceiling_db is not None or _fx_hears_channels(params, spec):
            ch = mix.file_channels if _fx_hears_channels(params, spec) else 1
            mix_lufs = file_loudness(mix_path, rate_out, length_out) if params.match_mix else None
            audios = (postfx_stream(a, rate_out, length_out, ch, spec, loudness=params.loudness,
                                    match_mix=params.match_mix, match_mix_lufs=mix_lufs) for a in audios)
        written = _write_outputs(outs, audios, [mix.file_channels] * len(outs), rate_out, fmt, subtype,
                                 folder_check, mix_silent, should_stop, before_commit=lambda: (prog("postfx", 0, 1),
                                                                                               prog("write", 0, 1)))
        timings = prog.finish()
        log.info("%s -> %s (%.1f s audio, %.1f s, streamed)", mix_path, out_path, mix.duration_s, timings["total"])
        return RenderResult(written, [], seeds, mix.duration_s, timings)
    else:
        channels = mix.file_channels  # the bass is written in the input's channel count
        generated = gen.generate(mix.samples, mix.sample_rate, seed=seed, variations=params.variations,
                                 loop=params.loop, **sampling)
        basses = [generated] if params.variations == 1 else list(generated)
        del generated

    rate_out = int(params.sample_rate or src_rate)
    length_out = int(round(basses[0].shape[0] * rate_out / src_rate))
    mix_out = _resample(mix.samples, mix.sample_rate, rate_out, length_out) if params.match_mix else None
    duration_s = mix.duration_s
    if not params.midi:  # nothing reads the mix from here on (its mono samples are 160 MB for 15 minutes)
        mix = dataclasses.replace(mix, samples=mix.samples[:0])
    processed = []
    # the limiter alone is linked across channels, so a mono bass limited then written as N
    # identical channels is the N-channel result: the writer repeats it block by block (a
    # 15-minute stereo copy is 320 MB); plugins and loudness targets see the real layout
    dual_mono_write = kept is not None or not _fx_hears_channels(params, spec)
    for i, bass in enumerate(basses):
        prog("postfx", i, len(basses))
        bass = _resample(np.asarray(bass, np.float32), src_rate, rate_out, length_out)
        if bass.ndim == 2 and bass.shape[1] < channels and not dual_mono_write:  # back to the input's channels
            bass = np.repeat(bass, channels, axis=1)
        if not params.midi:
            basses[i] = None  # only the processed copy is needed from here on
        try:
            # an edit is written as computed: the kept part stays the kept file's samples
            processed.append(bass if kept is not None else
                             apply_postfx(bass, rate_out, spec, loudness=params.loudness, match_mix=mix_out))
        except ChainError as exc:
            raise RenderError(str(exc)) from None

    notes = []
    if params.midi:
        prog("midi", 0, len(basses))
        tempo = params.tempo
        if tempo is None:
            tempo = estimate_tempo(mix.samples, mix.sample_rate)
        for i, bass in enumerate(basses):
            prog("midi", i, len(basses))
            notes.append(audio_to_midi(np.asarray(bass), src_rate, None, tempo=tempo,
                                       quantize=params.quantize))

    prog("write", 0, 1)
    if should_stop is not None and should_stop():
        raise RenderCancelled("render cancelled")
    written = _write_outputs(outs, ([a] for a in processed),
                             [max(channels, 1 if a.ndim == 1 else a.shape[1]) for a in processed],
                             rate_out, fmt, subtype, folder_check, mix_silent, None)
    try:
        for i in range(len(outs) if params.midi else 0):
            written.append(_write_midi_atomic(midis[i], notes[i], params.quantize, folder_check,
                                              parse_time_signature(params.time_signature or "4/4")))
    except AudioFileError as exc:
        _remove(written)
        raise RenderError(str(exc)) from None
    except BaseException:
        _remove(written)
        raise
    timings = prog.finish()
    log.info("%s -> %s (%.1f s audio, %.1f s)", mix_path, out_path, duration_s, timings["total"])
    return RenderResult(outs, midis, seeds, duration_s, timings)


def _write_outputs(outs: list[Path], audios, channels: list[int], rate: int, fmt: str, subtype: str,
                   folder_check: Callable[[Path], None] | None, mix_silent: bool,
                   should_stop: Callable[[], bool] | None, before_commit: Callable[[], object] | None = None,
                   ) -> list[Path]:
    """Write every output or none: each of ``audios`` (an iterable of pieces per output, in
    order) goes through an :class:`OutputGuard` into a temporary file in the outputs' folder,
    and only when all are written and checked are they renamed into place. Raises
    :class:`RenderError` (one line naming the file) or :class:`RenderCancelled`."""
    try:
        staged = open_staged(Path(outs[0]).parent, folder_check)
    except AudioFileError as exc:
        raise RenderError(str(exc)) from None
    with staged:
        try:
            for path, pieces, ch in zip(outs, audios, channels):
                guard = OutputGuard(path, mix_silent)
                stage_audio(staged, path, guard.watch(pieces, should_stop), rate, fmt, subtype, ch)
                guard.check()
            if before_commit is not None:
                before_commit()
            return staged.commit()
        except (AudioFileError, ChainError) as exc:
            raise RenderError(str(exc)) from None
        except OSError as exc:
            raise RenderError(f"{outs[0]}: cannot write ({exc.strerror or exc})") from None


SILENCE_PEAK = 10 ** (-80 / 20)  # below -80 dBFS peak a signal counts as silent


class OutputGuard:
    """The last guard before a bass is written, fed block by block as the bass is written
    (:meth:`watch`) or all at once (:func:`check_output_audio`), then :meth:`check`-ed before
    the file is renamed into place: refuse audio with NaN/Inf samples, a DC or full-scale
    signal (a speaker-damaging file: over 5 % of the samples at -0.1 dBFS or beyond, or a mean
    offset above -20 dBFS), or silence where the mix is not silent."""

    _FULL_SCALE = np.float32(10 ** (-0.1 / 20))

    def __init__(self, path: Path, mix_silent: bool) -> None:
        self.path, self.mix_silent = Path(path), mix_silent
        self.peak, self.loud, self.size, self.frames = 0.0, 0, 0, 0
        self.total: np.ndarray | float = 0.0
        self.finite = True

    def add(self, audio: np.ndarray, block: int = 1 << 18) -> None:
        """Measure ``audio`` ((n,) or (n, channels)), ``block`` frames at a time: no full-length
        float64 copy or temporaries."""
        a = np.asarray(audio)
        for i in range(0, a.shape[0], block):
            x = np.abs(np.asarray(a[i:i + block], dtype=np.float32))
            if not np.isfinite(x).all():
                self.finite = False
                return
            self.peak = max(self.peak, float(x.max()))
            self.loud += int(np.count_nonzero(x >= self._FULL_SCALE))
            self.total = self.total + np.sum(a[i:i + block], axis=0, dtype=np.float64)
        self.size += a.size
        self.frames += a.shape[0]

    def watch(self, pieces, should_stop: Callable[[], bool] | None = None):
        """``pieces`` passed through unchanged, each measured on the way (and ``should_stop``
        polled: True raises :class:`RenderCancelled`)."""
        for piece in pieces:
            if should_stop is not None and should_stop():
                raise RenderCancelled("render cancelled")
            self.add(piece)
            yield piece

    def check(self) -> None:
        """Raise :class:`RenderError` naming the file if what was measured must not be written."""
        path = self.path
        if not self.finite:
            raise RenderError(f"{path}: the generated bass has NaN/Inf samples; nothing written")
        if self.size == 0:
            raise RenderError(f"{path}: the generated bass is empty; nothing written")
        if self.loud / self.size > 0.05:
            share = 100 * self.loud / self.size
            raise RenderError(f"{path}: the generated bass is pinned at full scale "
                              f"({share:.0f} % of samples at -0.1 dBFS or beyond); nothing written")
        if float(np.max(np.abs(np.asarray(self.total) / self.frames))) > 0.1:
            raise RenderError(f"{path}: the generated bass has a DC offset above -20 dBFS; nothing written")
        if self.peak < SILENCE_PEAK and not self.mix_silent:
            raise RenderError(f"{path}: the generated bass is silent although the mix is not; nothing written")


def check_output_audio(audio: np.ndarray, path: Path, mix_silent: bool) -> None:
    """:class:`OutputGuard` of a whole bass: raise :class:`RenderError` naming ``path`` for
    audio that must not be written."""
    guard = OutputGuard(path, mix_silent)
    guard.add(audio)
    guard.check()


def _resample(audio: np.ndarray, rate_in: int, rate_out: int, length: int) -> np.ndarray:
    """(frames, channels) or (frames,) float32 from ``rate_in`` to ``rate_out`` Hz, cropped or
    padded to exactly ``length`` frames."""
    if rate_in != rate_out:
        import soxr

        audio = soxr.resample(audio, rate_in, rate_out, quality="HQ").astype(np.float32)
    return fit_length(audio, length)


def _write_midi_atomic(path: Path, result, quantize: str | None,
                      folder_check: Callable[[Path], None] | None = None,
                      time_signature: tuple[int, int] = (4, 4)) -> Path:
    try:
        if folder_check is None:
            with atomic_path(path, ".part") as tmp:
                notes_to_midi(result.notes, tmp, result.tempo, quantize=quantize, time_signature=time_signature)
            return path
        import tempfile

        from groundbass.core.atomic import open_directory, write_in_directory

        with tempfile.TemporaryDirectory() as scratch:  # made privately, then copied in through the checked folder
            tmp = Path(scratch) / "bass.mid"
            notes_to_midi(result.notes, tmp, result.tempo, quantize=quantize, time_signature=time_signature)
            data = tmp.read_bytes()
        fd, real = open_directory(path.parent)
        try:
            folder_check(real)
            write_in_directory(fd, path.name, lambda f: f.write(data))
        finally:
            os.close(fd)
    except OSError as exc:
        raise AudioFileError(f"{path}: cannot write ({exc.strerror or exc})") from None
    return path


def _remove(paths: list[Path]) -> None:
    for p in paths:
        try:
            Path(p).unlink(missing_ok=True)
        except OSError:
            log.warning("could not remove %s", p)


def params_dict(params: RenderParams) -> dict:
    """``params`` as a plain dict (for manifests and OSC replies)."""
    return asdict(params)
