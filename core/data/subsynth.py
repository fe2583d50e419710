"""A small subtractive synthesizer of groundbass's own, for the v4 synthetic songs.

Every note is one voice: one or two band-limited oscillators (saw, square, pulse: PolyBLEP;
triangle: naive, its harmonics fall as 1/n^2; high notes: additive), the second detuned and optionally an octave
away, into a ``pedalboard.LadderFilter`` whose cutoff follows a filter envelope (updated
every 64 samples), then an amplitude ADSR; velocity scales the level and the filter
envelope. The summed voices go through an optional ``Distortion``, ``Chorus`` and (leads and
pads) ``Reverb``, and the stem is brought to the preset's RMS level.

Presets come from parameter ranges (:data:`TRAIN_RANGES`), in three families: ``"bass"``,
``"lead"`` and ``"pad"``. :data:`HELDOUT_RANGES` is a second table for out-of-domain sets:
it draws resonance, detune and pulse width from ranges the training table never reaches
(:data:`HELDOUT_AXES`). A data set's presets form a bank of :data:`BANK_SIZE` presets per
(seed, family, table) — :func:`bank_preset` — so several songs share one synth sound (the
timbre condition needs other songs with the same bass sound).
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass, fields

import mido
import numpy as np
import pedalboard as pb

from ..audio import level_gain
from .midi_tracks import note_events

log = logging.getLogger(__name__)

__all__ = ["FAMILIES", "WAVES", "TRAIN_RANGES", "HELDOUT_RANGES", "HELDOUT_AXES", "BANK_SIZE", "Preset",
           "draw_preset", "bank_preset", "render_notes", "render_midi_stem", "oscillator"]

FAMILIES = ("bass", "lead", "pad")
WAVES = ("saw", "square", "pulse", "triangle")
BANK_SIZE = 64
FILTER_BLOCK = 64  # samples between filter-cutoff updates
FILTER_INPUT = 0.25  # oscillator level into the ladder filter
ADDITIVE_HARMONICS = 48  # waves with at most this many harmonics below Nyquist are additive
DRY_LEVEL_DB = -18.0  # the voices' sum is brought here before the effects, so drive means the same everywhere


@dataclass(frozen=True)
class Preset:
    """One synth sound. Times in seconds, ``cutoff_hz`` at MIDI note 45 (110 Hz) before key
    tracking, ``env_octaves`` the filter envelope's depth; an effect is off at 0."""

    family: str
    ranges: str  # "train" or "heldout": the table it was drawn from
    wave1: str
    wave2: str  # "none": one oscillator
    osc2_mix: float
    osc2_semitones: int
    detune_cents: float
    pulse_width: float
    attack: float
    decay: float
    sustain: float
    release: float
    filter_mode: str  # "LPF24" or "LPF12"
    cutoff_hz: float
    resonance: float
    keytrack: float
    env_octaves: float
    f_attack: float
    f_decay: float
    f_sustain: float
    velocity_amp: float  # 0: every velocity equally loud, 1: level proportional to velocity
    velocity_filter: float  # the same for the filter envelope's depth
    drive_db: float
    chorus_mix: float
    chorus_rate_hz: float
    chorus_depth: float
    reverb_wet: float
    level_db: float  # RMS of the rendered stem (dBFS)

    def to_dict(self) -> dict:
        """The preset as a JSON-ready dict (floats rounded to 6 digits)."""
        return {k: round(v, 6) if isinstance(v, float) else v for k, v in asdict(self).items()}


# A spec is ("uniform", lo, hi), ("log", lo, hi), ("choice", (values...)) or
# ("maybe", p, spec): the inner spec with probability p, else 0.
_COMMON = {
    "osc2_mix": ("uniform", 0.2, 0.6),
    "detune_cents": ("uniform", 0.0, 12.0),
    "pulse_width": ("uniform", 0.25, 0.5),
    "filter_mode": ("choice", ("LPF24", "LPF12")),
    "resonance": ("uniform", 0.0, 0.45),
    "keytrack": ("uniform", 0.0, 1.0),
    "velocity_amp": ("uniform", 0.2, 1.0),
    "velocity_filter": ("uniform", 0.0, 1.0),
    "chorus_rate_hz": ("log", 0.2, 2.0),
    "chorus_depth": ("uniform", 0.1, 0.4),
    "level_db": ("uniform", -34.0, -28.0),
}

TRAIN_RANGES: dict[str, dict[str, tuple]] = {
    "bass": {**_COMMON,
             "wave1": ("choice", ("saw", "square", "pulse")),
             "wave2": ("choice", ("none", "saw", "square", "triangle")),
             "osc2_semitones": ("choice", (0, 0, 12)),
             "attack": ("log", 0.001, 0.01), "decay": ("log", 0.05, 0.6), "sustain": ("uniform", 0.3, 1.0),
             "release": ("log", 0.02, 0.15),
             "cutoff_hz": ("log", 150.0, 1500.0), "env_octaves": ("uniform", 0.0, 4.0),
             "f_attack": ("log", 0.001, 0.01), "f_decay": ("log", 0.04, 0.5), "f_sustain": ("uniform", 0.0, 0.6),
             "drive_db": ("maybe", 0.3, ("uniform", 2.0, 14.0)),
             "chorus_mix": ("maybe", 0.2, ("uniform", 0.2, 0.5)),
             "reverb_wet": ("choice", (0.0,))},
    "lead": {**_COMMON,
             "wave1": ("choice", WAVES),
             "wave2": ("choice", ("none", "saw", "square", "pulse", "triangle")),
             "osc2_semitones": ("choice", (0, 12, -12)),
             "attack": ("log", 0.002, 0.05), "decay": ("log", 0.1, 1.0), "sustain": ("uniform", 0.4, 1.0),
             "release": ("log", 0.05, 0.5),
             "cutoff_hz": ("log", 400.0, 5000.0), "env_octaves": ("uniform", 0.0, 3.0),
             "f_attack": ("log", 0.002, 0.05), "f_decay": ("log", 0.1, 1.0), "f_sustain": ("uniform", 0.2, 0.8),
             "drive_db": ("maybe", 0.3, ("uniform", 2.0, 12.0)),
             "chorus_mix": ("maybe", 0.4, ("uniform", 0.2, 0.5)),
             "reverb_wet": ("maybe", 0.6, ("uniform", 0.1, 0.35))},
    "pad": {**_COMMON,
            "wave1": ("choice", WAVES),
            "wave2": ("choice", ("saw", "square", "pulse", "triangle")),
            "osc2_semitones": ("choice", (0, 12, -12)),
            "detune_cents": ("uniform", 3.0, 12.0),
            "attack": ("log", 0.05, 0.8), "decay": ("log", 0.3, 2.0), "sustain": ("uniform", 0.5, 1.0),
            "release": ("log", 0.3, 1.5),
            "cutoff_hz": ("log", 300.0, 3000.0), "env_octaves": ("uniform", 0.0, 2.0),
            "f_attack": ("log", 0.05, 1.0), "f_decay": ("log", 0.3, 2.0), "f_sustain": ("uniform", 0.3, 1.0),
            "drive_db": ("maybe", 0.1, ("uniform", 2.0, 8.0)),
            "chorus_mix": ("maybe", 0.7, ("uniform", 0.3, 0.6)),
            "reverb_wet": ("maybe", 0.8, ("uniform", 0.2, 0.5))},
}

# The held-out table: the training table with these axes moved to ranges it never draws.
HELDOUT_AXES = {
    "resonance": ("uniform", 0.55, 0.8),  # training: at most 0.45
    "detune_cents": ("uniform", 18.0, 35.0),  # training: at most 12
    "pulse_width": ("uniform", 0.08, 0.18),  # training: at least 0.25
}
HELDOUT_RANGES: dict[str, dict[str, tuple]] = {
    family: {**table, **HELDOUT_AXES,
             # a pulse (narrow, as above) or a triangle on the first oscillator, a second always on
             "wave1": ("choice", ("pulse", "triangle")),
             "wave2": ("choice", ("saw", "square", "pulse"))}
    for family, table in TRAIN_RANGES.items()
}


def _draw(rng: np.random.Generator, spec: tuple):
    kind = spec[0]
    if kind == "uniform":
        return float(rng.uniform(spec[1], spec[2]))
    if kind == "log":
        return float(math.exp(rng.uniform(math.log(spec[1]), math.log(spec[2]))))
    if kind == "choice":
        return spec[1][int(rng.integers(len(spec[1])))]
    if kind == "maybe":
        return _draw(rng, spec[2]) if rng.random() < spec[1] else 0.0
    raise ValueError(f"unknown preset range kind {kind!r}")


def draw_preset(rng: np.random.Generator, family: str, heldout: bool = False) -> Preset:
    """Draw one :class:`Preset` of ``family`` from :data:`TRAIN_RANGES` (or, ``heldout``,
    from :data:`HELDOUT_RANGES`)."""
    if family not in FAMILIES:
        raise ValueError(f"unknown synth family {family!r} (choose from {', '.join(FAMILIES)})")
    table = (HELDOUT_RANGES if heldout else TRAIN_RANGES)[family]
    values = {f.name: _draw(rng, table[f.name]) for f in fields(Preset) if f.name not in ("family", "ranges")}
    values["osc2_semitones"] = int(values["osc2_semitones"])
    return Preset(family=family, ranges="heldout" if heldout else "train", **values)


def bank_preset(seed: int, family: str, index: int, heldout: bool = False) -> Preset:
    """Preset ``index`` (0..BANK_SIZE-1) of the bank of data set ``seed``: the same preset
    for every song of that seed that draws this index."""
    return draw_preset(np.random.default_rng([seed, 0x5B5, FAMILIES.index(family), int(heldout), index]),
                       family, heldout)


def _polyblep(t: np.ndarray, dt: np.ndarray) -> np.ndarray:
    """The PolyBLEP residual at phase ``t`` (0..1) for phase step ``dt``."""
    out = np.zeros_like(t)
    lo = t < dt
    x = t[lo] / dt[lo]
    out[lo] = x + x - x * x - 1.0
    hi = t > 1.0 - dt
    x = (t[hi] - 1.0) / dt[hi]
    out[hi] = x * x + x + x + 1.0
    return out


def _additive(wave: str, freq: float, n: int, sample_rate: int, pulse_width: float, phase: float) -> np.ndarray:
    """The Fourier series of ``wave`` up to the last harmonic below Nyquist (same shape and
    phase as the PolyBLEP waves); harmonic k is the k-th power of one complex phasor."""
    t = phase + np.arange(n) * (freq / sample_rate)
    base = np.exp(2j * math.pi * t)
    cur = np.ones(n, dtype=complex)
    width = 0.5 if wave == "square" else pulse_width
    out = np.zeros(n)
    for k in range(1, int((sample_rate / 2 - 1) // freq) + 1):
        cur *= base  # exp(2j pi k t)
        if wave == "saw":
            out -= (2 / (math.pi * k)) * cur.imag
        elif wave in ("square", "pulse"):  # sin(2 pi k t) - sin(2 pi k (t - width))
            out += (2 / (math.pi * k)) * (cur * (1 - np.exp(-2j * math.pi * k * width))).imag
        elif k % 2:  # triangle: odd cosines
            out -= (8 / (math.pi * k) ** 2) * cur.real
    return out


def oscillator(wave: str, freq: float, n: int, sample_rate: int, pulse_width: float = 0.5,
               phase: float = 0.0) -> np.ndarray:
    """``n`` samples of a band-limited ``wave`` ("saw", "square", "pulse", "triangle") at
    ``freq`` Hz starting at ``phase`` (0..1), about -1..1 (float64). PolyBLEP while the
    wave has more than :data:`ADDITIVE_HARMONICS` harmonics below Nyquist, else additive
    (high notes, where PolyBLEP's residual aliasing would be heard); silent above Nyquist."""
    if wave not in WAVES:
        raise ValueError(f"unknown oscillator wave {wave!r} (choose from {', '.join(WAVES)})")
    if freq * ADDITIVE_HARMONICS >= sample_rate / 2:
        return _additive(wave, freq, n, sample_rate, pulse_width, phase)
    dt = np.full(n, freq / sample_rate)
    t = (phase + np.arange(n) * dt[0]) % 1.0
    if wave == "saw":
        return 2.0 * t - 1.0 - _polyblep(t, dt)
    if wave in ("square", "pulse"):
        width = 0.5 if wave == "square" else pulse_width
        naive = np.where(t < width, 1.0, -1.0)
        return naive + _polyblep(t, dt) - _polyblep((t + 1.0 - width) % 1.0, dt) - (2.0 * width - 1.0)
    return 1.0 - 4.0 * np.abs(t - 0.5)  # triangle


def _adsr(gate: int, total: int, attack: float, decay: float, sustain: float, sample_rate: int) -> np.ndarray:
    """An envelope of ``total`` samples: linear attack, exponential decay to ``sustain`` while
    the gate (``gate`` samples) is open, then an exponential release to 0 at ``total``."""
    t = np.arange(gate) / sample_rate
    rise = np.minimum(t / attack, 1.0)
    fall = sustain + (1.0 - sustain) * np.exp(-np.maximum(t - attack, 0.0) * 3.0 / decay)
    held = np.where(t < attack, rise, fall)
    rel = total - gate
    k = np.arange(rel)
    release = held[-1] * np.exp(-5.0 * k / max(rel, 1)) * (1.0 - k / max(rel, 1))
    return np.concatenate([held, release])


def _ladder(x: np.ndarray, cutoff: np.ndarray, preset: Preset, sample_rate: int) -> np.ndarray:
    """``x`` through a ladder low-pass whose cutoff follows ``cutoff`` (Hz, per sample)."""
    mode = getattr(pb.LadderFilter.Mode, preset.filter_mode)
    filt = pb.LadderFilter(mode=mode, cutoff_hz=float(cutoff[0]), resonance=preset.resonance, drive=1.0)
    x = x.astype(np.float32)
    out = np.empty_like(x)
    for i in range(0, len(x), FILTER_BLOCK):
        filt.cutoff_hz = float(cutoff[min(i + FILTER_BLOCK // 2, len(x) - 1)])
        out[i:i + FILTER_BLOCK] = filt.process(x[i:i + FILTER_BLOCK], sample_rate, reset=i == 0)
    return out


def _voice(preset: Preset, note: int, velocity: int, seconds: float, sample_rate: int,
           rng: np.random.Generator) -> np.ndarray:
    """One note held ``seconds`` seconds, with its release tail (float32)."""
    gate = max(1, int(round(seconds * sample_rate)))
    total = gate + max(1, int(round(preset.release * sample_rate)))
    f0 = 440.0 * 2.0 ** ((note - 69) / 12)
    sig = oscillator(preset.wave1, f0, total, sample_rate, preset.pulse_width, rng.random())
    if preset.wave2 != "none":
        f2 = f0 * 2.0 ** (preset.osc2_semitones / 12 + preset.detune_cents / 1200)
        sig = (1 - preset.osc2_mix) * sig + preset.osc2_mix * oscillator(
            preset.wave2, f2, total, sample_rate, preset.pulse_width, rng.random())
    vel = velocity / 127.0
    depth = preset.env_octaves * (1 - preset.velocity_filter + preset.velocity_filter * vel)
    fenv = _adsr(gate, total, preset.f_attack, preset.f_decay, preset.f_sustain, sample_rate)
    cutoff = preset.cutoff_hz * (f0 / 110.0) ** preset.keytrack * 2.0 ** (depth * fenv)
    # the ladder saturates (tanh) inside: a low input keeps it clean and asymmetric waves free of DC
    filtered = _ladder(sig * FILTER_INPUT, np.clip(cutoff, 20.0, 0.45 * sample_rate), preset, sample_rate)
    amp = _adsr(gate, total, preset.attack, preset.decay, preset.sustain, sample_rate)
    gain = 1 - preset.velocity_amp + preset.velocity_amp * vel
    return (filtered * amp * gain).astype(np.float32)


def _effects(preset: Preset) -> pb.Pedalboard:
    fx: list = []
    if preset.drive_db > 0:
        # tanh distortion of an asymmetric wave (a narrow pulse) makes DC: a 20 Hz high-pass after it
        fx += [pb.Distortion(drive_db=preset.drive_db), pb.HighpassFilter(cutoff_frequency_hz=20.0)]
    if preset.chorus_mix > 0:
        fx.append(pb.Chorus(rate_hz=preset.chorus_rate_hz, depth=preset.chorus_depth, centre_delay_ms=7.0,
                            feedback=0.0, mix=preset.chorus_mix))
    if preset.reverb_wet > 0:
        fx.append(pb.Reverb(room_size=0.5, wet_level=preset.reverb_wet, dry_level=1.0 - preset.reverb_wet / 2))
    return pb.Pedalboard(fx)


def render_notes(notes: list[tuple[float, float, int, int]], preset: Preset, sample_rate: int, samples: int,
                 seed: int = 0) -> np.ndarray:
    """Render ``notes`` ((onset_s, offset_s, note, velocity), as from
    :func:`~.midi_tracks.note_events`) with ``preset``: a float32 mono array of exactly
    ``samples`` samples at the preset's level (silent when no note starts in time).
    ``seed`` draws the oscillators' start phases: the same inputs give the same samples."""
    rng = np.random.default_rng([seed, 0x05C])
    tail = int(round(preset.release * sample_rate)) + 1
    out = np.zeros(samples + tail, dtype=np.float32)
    for onset, offset, note, velocity in notes:
        start = int(round(onset * sample_rate))
        if start >= samples:
            continue
        voice = _voice(preset, note, velocity, max(offset - onset, 1.0 / sample_rate), sample_rate, rng)
        end = min(len(out), start + len(voice))
        out[start:end] += voice[:end - start]
    if not np.any(out):
        return out[:samples]
    out *= level_gain(out[:samples], DRY_LEVEL_DB)
    wet = _effects(preset)(out, sample_rate)[:samples]
    return (wet * level_gain(wet, preset.level_db)).astype(np.float32)


def render_midi_stem(midi: mido.MidiFile, preset: Preset, sample_rate: int, samples: int, seed: int = 0) -> np.ndarray:
    """Render every note of ``midi`` (all tracks and channels) with ``preset``; see
    :func:`render_notes`."""
    notes = note_events(midi)
    log.debug("subsynth: %d notes, %s preset", len(notes), preset.family)
    return render_notes(notes, preset, sample_rate, samples, seed)
