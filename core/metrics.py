"""Measurements of "musically matches" (DESIGN.md, "Metrics") and of reconstruction quality.

Pitch comes from the pYIN tracker in :mod:`.midi` (30-400 Hz, 11.6 ms frames). All audio
arguments are mono or multichannel numpy arrays with their sample rate in Hz.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .audio import resample, to_mono
from .midi import track_pitch

__all__ = [
    "pitch_class_track",
    "pitch_class_agreement",
    "load_chords",
    "chord_tone_rate",
    "chord_tone_rate_track",
    "chord_root_track",
    "track_agreement",
    "log_spectral_distance",
    "mfcc_embedding",
    "cosine_distance",
    "onset_offset_ms",
    "chroma_track",
    "compatibility",
    "matching_accuracy",
    "chroma_frames",
    "chroma_at",
    "logmel_frames",
    "frechet_distance",
]


def pitch_class_track(audio: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame pitch class of a bass: ``(times_s, pc)`` with pc in 0..11, -1 where unvoiced."""
    times, f0, voiced = track_pitch(audio, sample_rate)
    pc = np.full(len(f0), -1, dtype=np.int64)
    ok = voiced & np.isfinite(f0)
    midi = np.round(69 + 12 * np.log2(f0[ok] / 440.0)).astype(np.int64)
    pc[ok] = midi % 12
    return times, pc


def pitch_class_agreement(reference: np.ndarray, estimate: np.ndarray, sample_rate: int) -> float:
    """Share of the reference's voiced frames where the estimate has the same pitch class.

    An unvoiced estimate frame counts as a disagreement. NaN if the reference has no voiced frame.
    """
    _, a = pitch_class_track(reference, sample_rate)
    _, b = pitch_class_track(estimate, sample_rate)
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]
    voiced = a >= 0
    return float(np.mean(a[voiced] == b[voiced])) if voiced.any() else float("nan")


def track_agreement(ref_pc: np.ndarray, est_pc: np.ndarray) -> float:
    """Share of the reference track's voiced frames (pc >= 0) where ``est_pc`` has the same
    pitch class (tracks on the same frame times; an unvoiced estimate disagrees). NaN if none voiced."""
    n = min(len(ref_pc), len(est_pc))
    a, b = np.asarray(ref_pc[:n]), np.asarray(est_pc[:n])
    voiced = a >= 0
    return float(np.mean(a[voiced] == b[voiced])) if voiced.any() else float("nan")


def load_chords(path: str | Path) -> list[dict]:
    """A chord chart (``chords.json`` of ``groundbass data synth``): list of
    ``{"start": s, "end": s, "chord": str, "pitch_classes": [..]}`` sorted by start."""
    chart = json.loads(Path(path).read_text())
    return sorted(chart, key=lambda c: c["start"])


def chord_tone_rate(audio: np.ndarray, sample_rate: int, chords: list[dict], offset_s: float = 0.0) -> float:
    """Share of the bass's voiced frames whose pitch class belongs to the sounding chord.

    ``offset_s`` is where ``audio`` starts within the chart's time line (seconds). Frames
    outside every chord are ignored. NaN if no voiced frame falls inside a chord.
    """
    times, pc = pitch_class_track(audio, sample_rate)
    return chord_tone_rate_track(times, pc, chords, offset_s)


def chord_tone_rate_track(times: np.ndarray, pc: np.ndarray, chords: list[dict], offset_s: float = 0.0) -> float:
    """:func:`chord_tone_rate` of a pitch-class track ``(times_s, pc)`` (pc -1 = unvoiced),
    e.g. of a bass that exists only as pitch classes (the chroma-argmax baseline)."""
    idx = _chord_at(times, chords, offset_s)
    ok = (np.asarray(pc) >= 0) & (idx >= 0)
    hits = sum(int(p in chords[i]["pitch_classes"]) for p, i in zip(np.asarray(pc)[ok], idx[ok]))
    return hits / int(ok.sum()) if ok.any() else float("nan")


def chord_root_track(times: np.ndarray, chords: list[dict], offset_s: float = 0.0) -> np.ndarray:
    """The root pitch class of the chord sounding at each of ``times`` (seconds, ``offset_s``
    into the chart), -1 outside every chord: the bass of a player who knows the chart and plays
    only roots — an oracle yardstick for pitch-class agreement, not a system anyone can run on a
    mix. A chord without a ``root`` field takes its first pitch class."""
    roots = [int(c.get("root", c["pitch_classes"][0])) % 12 if c["pitch_classes"] else -1 for c in chords]
    return np.array([roots[i] if i >= 0 else -1 for i in _chord_at(times, chords, offset_s)], dtype=np.int64)


def _chord_at(times: np.ndarray, chords: list[dict], offset_s: float) -> np.ndarray:
    """Index of the chord sounding at each of ``times`` (``offset_s`` into the chart), -1 outside every chord."""
    t = np.asarray(times, dtype=np.float64) + offset_s
    if not chords:
        return np.full(len(t), -1, dtype=np.int64)
    starts = np.array([c["start"] for c in chords])
    ends = np.array([c["end"] for c in chords])
    i = np.searchsorted(starts, t, side="right") - 1
    inside = (i >= 0) & (t < ends[np.clip(i, 0, None)])
    return np.where(inside, i, -1).astype(np.int64)


def _power_spec(x: np.ndarray, n_fft: int = 2048, hop: int = 512) -> np.ndarray:
    import librosa

    return np.abs(librosa.stft(x, n_fft=n_fft, hop_length=hop)) ** 2


def log_spectral_distance(reference: np.ndarray, estimate: np.ndarray, sample_rate: int) -> float:
    """Log-spectral distance in dB: mean over frames of the RMS over bins of
    ``10 log10(P_ref / P_est)`` (2048-point STFT at 22.05 kHz, power floor 1e-10)."""
    a = resample(to_mono(reference), sample_rate, 22050)
    b = resample(to_mono(estimate), sample_rate, 22050)
    n = min(len(a), len(b))
    pa, pb = _power_spec(a[:n]) + 1e-10, _power_spec(b[:n]) + 1e-10
    return float(np.mean(np.sqrt(np.mean((10 * np.log10(pa / pb)) ** 2, axis=0))))


def mfcc_embedding(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Timbre embedding independent of our autoencoder: mean and std over time of 20 MFCCs
    (librosa, 22.05 kHz, 128 mel bands up to 8 kHz), a (40,) vector."""
    import librosa

    y = resample(to_mono(audio), sample_rate, 22050)
    m = librosa.feature.mfcc(y=y, sr=22050, n_mfcc=20, n_mels=128, fmax=8000)
    return np.concatenate([m.mean(axis=1), m.std(axis=1)])


def cosine_distance(a: np.ndarray, b: np.ndarray) -> float:
    """``1 - cos(a, b)``."""
    return float(1.0 - np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))


def _onsets_s(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    import librosa

    y = resample(to_mono(audio), sample_rate, 22050)
    return librosa.onset.onset_detect(y=y, sr=22050, hop_length=128, units="time", backtrack=True)


def onset_offset_ms(bass: np.ndarray, mix: np.ndarray, sample_rate: int) -> float:
    """Median absolute distance (ms) from each bass onset to the nearest onset of the mix.

    NaN when either has no onset.
    """
    b, m = _onsets_s(bass, sample_rate), _onsets_s(mix, sample_rate)
    if len(b) == 0 or len(m) == 0:
        return float("nan")
    idx = np.clip(np.searchsorted(m, b), 1, len(m) - 1) if len(m) > 1 else np.zeros(len(b), int)
    near = np.minimum(np.abs(b - m[idx]), np.abs(b - m[np.maximum(idx - 1, 0)]))
    return float(np.median(near) * 1000.0)


def chroma_frames(mix: np.ndarray, sample_rate: int) -> np.ndarray:
    """STFT chroma (12, frames) of a mix at 22.05 kHz, hop 512 (what :func:`chroma_at` samples)."""
    import librosa

    y = resample(to_mono(mix), sample_rate, 22050)
    return librosa.feature.chroma_stft(y=y, sr=22050, hop_length=512, n_fft=4096)


def chroma_at(chroma: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Columns of :func:`chroma_frames` output at ``times`` (s), each scaled to sum to 1."""
    idx = np.clip(np.round(times * 22050 / 512).astype(int), 0, chroma.shape[1] - 1)
    c = chroma[:, idx]
    return c / (c.sum(axis=0, keepdims=True) + 1e-9)


def chroma_track(mix: np.ndarray, sample_rate: int, times: np.ndarray) -> np.ndarray:
    """Chroma (12, len(times)) of a mix, sampled at ``times`` (s), each column summing to 1."""
    return chroma_at(chroma_frames(mix, sample_rate), times)


def compatibility(mix_chroma: np.ndarray, bass_pc: np.ndarray) -> float:
    """Mix-bass compatibility: mean chroma weight of the bass's pitch class over voiced frames
    (``mix_chroma`` (12, T) from :func:`chroma_track` on the bass's frame times)."""
    n = min(mix_chroma.shape[1], len(bass_pc))
    pc = bass_pc[:n]
    voiced = pc >= 0
    if not voiced.any():
        return 0.0
    return float(np.mean(mix_chroma[pc[voiced], np.nonzero(voiced)[0]]))


def matching_accuracy(scores: np.ndarray) -> float:
    """Top-1 accuracy of a (mixes x basses) score matrix: share of rows whose best column is
    the diagonal (paper Fig. 3)."""
    return float(np.mean(np.argmax(scores, axis=1) == np.arange(scores.shape[0])))


def logmel_frames(audio: np.ndarray, sample_rate: int, n_mels: int = 64) -> np.ndarray:
    """Log-mel frames of a bass (22.05 kHz, 2048-point STFT, hop 512, ``n_mels`` bands up to
    8 kHz, dB): (frames, n_mels) — the frame statistics :func:`frechet_distance` compares."""
    import librosa

    y = resample(to_mono(audio), sample_rate, 22050)
    m = librosa.feature.melspectrogram(y=y, sr=22050, n_fft=2048, hop_length=512, n_mels=n_mels, fmax=8000)
    return librosa.power_to_db(m, ref=1.0, top_db=None).T.astype(np.float64)


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two sets of frames (rows):
    ``|mu_a - mu_b|^2 + tr(C_a + C_b - 2 (C_a C_b)^(1/2))``. An offline audio-quality measure
    (FAD-style, on log-mel statistics instead of a learned embedding)."""
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    ca, cb = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    # tr (C_a C_b)^(1/2) = tr (S C_b S)^(1/2) with S = C_a^(1/2): a symmetric PSD matrix, so
    # the trace is the sum of the square roots of its eigenvalues (no general sqrtm needed)
    w, v = np.linalg.eigh(ca)
    s = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    tr_covmean = np.sum(np.sqrt(np.clip(np.linalg.eigvalsh(s @ cb @ s), 0, None)))
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(ca) + np.trace(cb) - 2 * tr_covmean)
