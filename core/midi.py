"""Bass audio -> MIDI: monophonic pitch tracking (pYIN, 30-400 Hz), note segmentation,
tempo, velocities from loudness, optional grid quantisation, a standard MIDI file (mido).

Pipeline: mono audio -> 11.025 kHz -> librosa ``pyin`` f0 + voicing per 128-sample frame ->
rounded MIDI pitch, median-smoothed -> notes = runs of one voiced pitch at least
``min_note_s`` long, split again at re-articulations of the same pitch -> each note's start
snapped to the nearest spectral-flux onset within half a pYIN window (so a note starts
where its attack is, not where the tracker's window first saw it) -> velocity from the RMS
of the note's first 100 ms relative to the loudest note -> MIDI file, GM bass program 33
(``program_change program=33``, 0-based: Electric Bass (finger)), one track, 4/4.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import mido
import numpy as np

from .audio import resample, to_mono

__all__ = ["Note", "MidiResult", "track_pitch", "segment_notes", "estimate_tempo", "parse_grid", "parse_time_signature",
           "notes_to_midi", "audio_to_midi", "BASS_PROGRAM", "FMIN_HZ", "FMAX_HZ"]

log = logging.getLogger(__name__)

BASS_PROGRAM = 33
"""General MIDI program written (0-based as in the MIDI byte: 33 = Electric Bass (finger))."""
FMIN_HZ = 30.0
FMAX_HZ = 400.0
PPQ = 480
_SR = 11025
_HOP = 128
_FRAME = 1024
_ONSET_HOP = 32
_RISE_DB = 3.0  # an onset counts where the level rises at least this much


@dataclass
class Note:
    """One note: ``start`` and ``end`` in seconds, MIDI ``pitch`` (0-127), ``velocity`` (1-127)."""

    start: float
    end: float
    pitch: int
    velocity: int = 100


@dataclass
class MidiResult:
    """What :func:`audio_to_midi` wrote: the notes (seconds, unquantised), the tempo in BPM and the path."""

    notes: list[Note]
    tempo: float
    path: Path | None


def track_pitch(audio: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """pYIN pitch track of mono or multichannel ``audio``.

    Returns ``(times_s, f0_hz, voiced)``: frame centre times in seconds, f0 in Hz (NaN where
    unvoiced) and a boolean voicing flag, one per 128-sample frame at 11.025 kHz (11.6 ms).
    """
    import librosa

    y = resample(to_mono(audio, "bass"), int(sample_rate), _SR)
    if len(y) < _FRAME:
        y = np.pad(y, (0, _FRAME - len(y)))
    f0, voiced, _ = librosa.pyin(y, fmin=FMIN_HZ, fmax=FMAX_HZ, sr=_SR, frame_length=_FRAME,
                                 hop_length=_HOP, center=True, fill_na=np.nan, resolution=0.2)
    times = librosa.frames_to_time(np.arange(len(f0)), sr=_SR, hop_length=_HOP)
    return times, f0, voiced.astype(bool)


def _onsets(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Onset times in seconds ``(strong, all)``: spectral-flux peaks (short hop), stepped back
    to where the flux starts to rise; ``strong`` are those where the level also rises at
    least ``_RISE_DB`` (quietest point in the 60 ms before -> loudest in the 30 ms after)."""
    import librosa

    env = librosa.onset.onset_strength(y=y, sr=_SR, hop_length=_ONSET_HOP, n_fft=512, lag=2, max_size=1)
    frames = librosa.onset.onset_detect(onset_envelope=env, sr=_SR, hop_length=_ONSET_HOP, backtrack=False,
                                        units="frames", delta=0.05, wait=4)
    rms = librosa.feature.rms(y=y, frame_length=512, hop_length=_ONSET_HOP, center=True)[0]
    db = 20 * np.log10(rms + 1e-6)
    before, after = int(0.06 * _SR / _ONSET_HOP), int(0.03 * _SR / _ONSET_HOP)
    # fine level curve for placing each attack: 128-sample windows every 16 samples
    fine = 20 * np.log10(librosa.feature.rms(y=y, frame_length=128, hop_length=16, center=True)[0] + 1e-6)
    strong, every = [], []
    for f in frames:
        if db[f:min(len(db), f + after + 1)].max() < db.max() - 50:
            continue  # noise floor
        t = _refine_attack(float(f * _ONSET_HOP / _SR), fine)
        every.append(t)
        if db[f:min(len(db), f + after + 1)].max() - db[max(0, f - before):f + 1].min() >= _RISE_DB:
            strong.append(t)
    return np.asarray(strong), np.asarray(every)


def _refine_attack(t: float, fine: np.ndarray, *, early_s: float = 0.06, late_s: float = 0.005) -> float:
    """Move a flux onset at ``t`` seconds to the steepest level rise (over 8 ms) in
    [t - 60 ms, t + 5 ms] of the fine level curve, when that rise is at least 6 dB; else ``t``."""
    hop_s = 16 / _SR
    span = int(0.008 / hop_s)
    a, b = max(0, int((t - early_s) / hop_s)), min(len(fine) - span - 1, int((t + late_s) / hop_s))
    if b <= a:
        return t
    rise = fine[a + span:b + span] - fine[a:b]
    k = int(np.argmax(rise))
    if rise[k] < 6.0:
        return t
    return (a + k + span / 2) * hop_s + 0.006


def _median3(a: np.ndarray) -> np.ndarray:
    if len(a) < 3:
        return a
    p = np.pad(a, 1, mode="edge")
    return np.median(np.stack([p[:-2], p[1:-1], p[2:]]), axis=0)


def segment_notes(audio: np.ndarray, sample_rate: int, *, min_note_s: float = 0.05) -> list[Note]:
    """Monophonic notes of a bass recording, sorted by start (seconds, MIDI pitch, velocity)."""
    times, f0, voiced = track_pitch(audio, sample_rate)
    y = resample(to_mono(audio, "bass"), int(sample_rate), _SR)
    midi = np.where(voiced & np.isfinite(f0), np.round(69 + 12 * np.log2(np.nan_to_num(f0, nan=440.0) / 440.0)), -1)
    midi = _median3(midi).astype(int)
    onsets, any_onsets = _onsets(y)
    frame_s = _HOP / _SR

    # runs of equal voiced pitch
    runs: list[tuple[int, int, int]] = []
    i = 0
    while i < len(midi):
        if midi[i] < 0:
            i += 1
            continue
        j = i
        while j + 1 < len(midi) and midi[j + 1] == midi[i]:
            j += 1
        runs.append((i, j, int(midi[i])))
        i = j + 1

    # a short unvoiced gap inside one held note (the tracker losing a low note) is bridged
    merged: list[tuple[int, int, int]] = []
    for run in runs:
        if merged and merged[-1][2] == run[2] and (run[0] - merged[-1][1]) * frame_s <= 0.15 and not any(
                times[merged[-1][1]] < t < times[run[0]] + frame_s for t in onsets):
            merged[-1] = (merged[-1][0], run[1], run[2])
        else:
            merged.append(run)
    runs = merged

    notes: list[Note] = []
    half_window = _FRAME / _SR / 2
    for a, b, pitch in runs:
        start, end = times[a] - frame_s / 2, times[b] + frame_s / 2
        # split a run where the same pitch is struck again
        inner = [t for t in onsets if start + 0.06 < t < end - 0.06]
        bounds = [start] + inner + [end]
        for s, e in zip(bounds[:-1], bounds[1:]):
            # snap to the nearest attack: a strong onset within half a pYIN window, else any
            # flux onset within 40 ms (legato notes rise little in level)
            for cand, reach in ((onsets, half_window), (any_onsets, 0.04)):
                near = cand[np.abs(cand - s) <= reach] if len(cand) else cand
                if len(near):
                    s = float(near[np.argmin(np.abs(near - s))])
                    break
            if e - s >= min_note_s:
                notes.append(Note(float(max(0.0, s)), float(e), pitch))
    notes.sort(key=lambda n: n.start)
    for prev, nxt in zip(notes, notes[1:]):  # monophonic: a note ends where the next starts
        prev.end = min(prev.end, nxt.start)
    notes = [n for n in notes if n.end - n.start >= min_note_s / 2]
    _set_velocities(notes, y)
    return notes


def _set_velocities(notes: list[Note], y: np.ndarray) -> None:
    if not notes:
        return
    levels = []
    for n in notes:
        a = int(n.start * _SR)
        seg = y[a:a + max(1, int(min(0.1, n.end - n.start) * _SR))]
        levels.append(20 * np.log10(np.sqrt(np.mean(seg.astype(np.float64) ** 2)) + 1e-9) if len(seg) else -120.0)
    top = max(levels)
    for n, db in zip(notes, levels):
        # the loudest note -> 120; 1.8 velocity steps per dB below it, floor 20
        n.velocity = int(np.clip(round(120 + 1.8 * (db - top)), 20, 127))


def estimate_tempo(audio: np.ndarray, sample_rate: int) -> float:
    """Tempo in BPM from the onset envelope (librosa beat tracker), folded into 70-180 BPM;
    120.0 when the audio has no clear beat."""
    import librosa

    y = resample(to_mono(audio, "audio"), int(sample_rate), _SR)
    try:
        tempo = float(np.atleast_1d(librosa.beat.beat_track(y=y, sr=_SR, hop_length=512)[0])[0])
    except (ValueError, IndexError):
        tempo = 0.0
    if not np.isfinite(tempo) or tempo <= 0:
        return 120.0
    while tempo < 70:
        tempo *= 2
    while tempo > 180:
        tempo /= 2
    return round(tempo, 2)


def parse_grid(quantize: str) -> float:
    """``"1/16"`` (or ``"1/8t"`` for triplets) -> grid step in quarter notes (1/16 -> 0.25).
    Raises ValueError on anything else."""
    m = re.fullmatch(r"\s*1/(1|2|4|8|16|32|64)(t?)\s*", str(quantize))
    if not m:
        raise ValueError(f"quantize must look like 1/4, 1/8, 1/16, 1/32 or 1/8t, got {quantize!r}")
    step = 4.0 / int(m.group(1))
    return step * 2 / 3 if m.group(2) else step


def parse_time_signature(text: str) -> tuple[int, int]:
    """``"6/8"`` -> (6, 8): beats per bar 1..32 over a note value 1, 2, 4, 8, 16 or 32.
    Raises ValueError on anything else."""
    m = re.fullmatch(r"\s*(\d{1,2})\s*/\s*(1|2|4|8|16|32)\s*", str(text))
    if not m or not 1 <= int(m.group(1)) <= 32:
        raise ValueError(f"time signature must look like 4/4, 3/4 or 6/8 (1-32 beats over 1-32), got {text!r}")
    return int(m.group(1)), int(m.group(2))


def notes_to_midi(notes: list[Note], path: str | Path, tempo: float, *, quantize: str | None = None,
                  time_signature: tuple[int, int] = (4, 4)) -> Path:
    """Write ``notes`` as a type-1 standard MIDI file at ``tempo`` BPM (quarter notes per
    minute, 480 PPQ, ``time_signature``, program :data:`BASS_PROGRAM` on channel 1),
    optionally snapped to the ``quantize`` grid. Returns the path written."""
    if not tempo or tempo <= 0:
        raise ValueError(f"tempo must be > 0 BPM, got {tempo}")
    beats_per_s = tempo / 60.0
    grid = parse_grid(quantize) * PPQ if quantize else None
    events: list[tuple[int, int, mido.Message]] = []
    for n in notes:
        a = n.start * beats_per_s * PPQ
        b = n.end * beats_per_s * PPQ
        if grid:
            a = round(a / grid) * grid
            b = max(a + grid, round(b / grid) * grid)
        a, b = int(round(a)), int(round(b))
        if b <= a:
            b = a + 1
        events.append((a, 1, mido.Message("note_on", channel=0, note=n.pitch, velocity=n.velocity)))
        events.append((b, 0, mido.Message("note_off", channel=0, note=n.pitch, velocity=0)))
    events.sort(key=lambda e: (e[0], e[1]))  # note-offs before note-ons at the same tick

    track = mido.MidiTrack()
    track.append(mido.MetaMessage("track_name", name="groundbass bass", time=0))
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo), time=0))
    track.append(mido.MetaMessage("time_signature", numerator=time_signature[0], denominator=time_signature[1],
                                  time=0))
    track.append(mido.Message("program_change", channel=0, program=BASS_PROGRAM, time=0))
    now = 0
    for tick, _, msg in events:
        track.append(msg.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    mf = mido.MidiFile(type=1, ticks_per_beat=PPQ)
    mf.tracks.append(track)
    path = Path(path)
    mf.save(str(path))
    return path


def audio_to_midi(audio: np.ndarray, sample_rate: int, path: str | Path | None, *, tempo: float | None = None,
                  tempo_audio: np.ndarray | None = None, quantize: str | None = None) -> MidiResult:
    """Transcribe a monophonic bass to MIDI. The tempo is ``tempo`` BPM if given, else
    estimated from ``tempo_audio`` (e.g. the mix, at ``sample_rate``) or the bass itself.
    Writes ``path`` unless it is None. Returns the notes (seconds), tempo (BPM) and path."""
    if quantize:
        parse_grid(quantize)
    notes = segment_notes(audio, sample_rate)
    bpm = float(tempo) if tempo else estimate_tempo(audio if tempo_audio is None else tempo_audio, sample_rate)
    log.debug("midi: %d notes at %.2f BPM", len(notes), bpm)
    written = notes_to_midi(notes, path, bpm, quantize=quantize) if path is not None else None
    return MidiResult(notes, bpm, written)
