"""Harmony and rhythm features of a mix, by signal processing, at the latent rate.

The mix latent of an autoencoder trained on General-MIDI renders does not carry harmony
across domains; a constant-Q chroma does by construction. These features join the mix
latent as the diffusion model's condition (``UNetConfig.feature_dim``), computed the same
way in training (latent cache) and at inference (:class:`~groundbass.core.BassGenerator`).

Feature set 1 (:data:`FEATURE_NAMES`, 26 channels), one value per latent frame:

- ``chroma``: 12-bin CQT chroma of the whole mix (C1 to B7), each frame scaled to a peak of 1;
- ``bass_chroma``: the same from the lowest three octaves only (C1 to B3), where a bass
  line's notes sit in the other instruments' left hand;
- ``onset``: onset strength (spectral flux), divided by the excerpt's 95th percentile (by its
  maximum when that percentile is 0), clipped to 0..4;
- ``level``: frame RMS in dB, mapped from -80..0 dBFS to 0..1.

Feature set 2 (51 channels) appends madmom's deep chroma and recognised chord
(:mod:`groundbass.core.chord_features`), from networks trained on recorded music.

The CQT follows the mix's tuning (:func:`estimate_tuning`), so a mix tuned to A = 432 Hz
gives the same chroma as one at 440. Feature frames are centred on the four quarters of
each latent frame and averaged, so latent frame ``k`` (samples ``k*ratio ..
(k+1)*ratio``) sees exactly its own audio. The signal processing is librosa's, through the
numpy + soxr re-implementations in :mod:`groundbass.core.dsp` (equal to librosa's results to
float32 rounding), so inference does not import librosa.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np

from . import dsp
from .chord_features import CHORD_FEATURE_DIM, CHORD_FEATURE_NAMES, chord_features
from .stream import Signal, as_signal, windows

__all__ = ["FEATURE_DIM", "FEATURE_DIM_CHORDS", "FEATURE_NAMES", "FEATURE_SETS", "check_feature_dim",
           "chroma_argmax_pitch_classes", "estimate_tuning", "mix_features"]

log = logging.getLogger(__name__)

FEATURE_NAMES = tuple([f"chroma{i}" for i in range(12)] + [f"bass_chroma{i}" for i in range(12)]
                      + ["onset", "level"])
FEATURE_DIM = len(FEATURE_NAMES)
# Feature set 2: set 1 followed by madmom's chord features (groundbass.core.chord_features), 51 channels.
# A model's feature set is known by its U-Net's feature_dim (the input convolution's channels).
FEATURE_DIM_CHORDS = FEATURE_DIM + CHORD_FEATURE_DIM
FEATURE_SETS = {FEATURE_DIM: FEATURE_NAMES, FEATURE_DIM_CHORDS: FEATURE_NAMES + CHORD_FEATURE_NAMES}


def check_feature_dim(feature_dim: int) -> int:
    """``feature_dim`` if a feature set has that many channels, else ValueError."""
    if feature_dim not in FEATURE_SETS:
        raise ValueError(f"no feature set has {feature_dim} channels (known: {sorted(FEATURE_SETS)})")
    return feature_dim

_BINS_PER_OCTAVE = 36
_OCTAVES = 7
_BASS_OCTAVES = 3
_SUB = 4  # feature frames per latent frame
_FMIN_C1 = 32.70319566257483


_TUNING_EXCERPT_S = 20.0  # the tuning is estimated on at most three excerpts this long


def estimate_tuning(mono: np.ndarray | Signal, sample_rate: int) -> float:
    """Deviation of the mix's tuning from A = 440 Hz in fractions of a semitone, in [-0.5, 0.5).

    librosa's pitch-tracking estimate (0.0 for silence; :func:`groundbass.core.dsp.estimate_tuning`),
    over the whole mix up to a minute, else over three 20-second excerpts (start, middle, end),
    so time and memory stay bounded. ``mono`` is an array or a :class:`~.stream.Signal`.
    """
    sig = as_signal(mono)
    n, size = int(_TUNING_EXCERPT_S * sample_rate), sig.length
    if size > 3 * n:
        mid = (size - n) // 2
        y = np.concatenate([sig.read(0, n), sig.read(mid, mid + n), sig.read(size - n, size)])
    else:
        y = sig.read(0, size)
    if y.size < 2048 or float(np.max(np.abs(y))) < 1e-5:
        return 0.0
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = float(dsp.estimate_tuning(y, sample_rate, n_fft=4096, resolution=0.01, bins_per_octave=12))
    return t if np.isfinite(t) else 0.0


def _pool(x: np.ndarray, frames: int) -> np.ndarray:
    """(C, n) feature frames -> (C, frames): mean of each latent frame's ``_SUB`` frames."""
    need = frames * _SUB
    if x.shape[1] < need:
        x = np.pad(x, ((0, 0), (0, need - x.shape[1])), mode="edge" if x.shape[1] else "constant")
    return x[:, :need].reshape(x.shape[0], frames, _SUB).mean(axis=2)


def _cqt_chroma(cqt_mag: np.ndarray) -> np.ndarray:
    """Fold a CQT magnitude (octaves * 36 bins from C1, n) into 12 pitch classes, peak 1 per frame."""
    bins = cqt_mag.shape[0]
    energy = cqt_mag ** 2
    # 3 bins per semitone, centred: bin b belongs to semitone round(b / 3).
    semis = np.round(np.arange(bins) / (_BINS_PER_OCTAVE / 12)).astype(int) % 12
    fold = np.zeros((12, bins), dtype=np.float64)
    fold[semis, np.arange(bins)] = 1.0
    chroma = fold @ energy.astype(np.float64)
    peak = chroma.max(axis=0, keepdims=True)
    return (chroma / np.where(peak > 1e-10, peak, 1.0)).astype(np.float32)


_CHUNK_FRAMES = 512  # latent frames per window of the chunked pass (about 48 s at 10.77 Hz)
_CONTEXT_FRAMES = 32  # context on each side (3 s: longer than the lowest CQT filter)


def mix_features(mono: np.ndarray | Signal, sample_rate: int, frames: int, ratio: int,
                 tuning: float | None = None, feature_dim: int = FEATURE_DIM) -> np.ndarray:
    """Features of a mono mix at the model rate -> float32 (``feature_dim``, ``frames``).

    ``mono`` is an array or a :class:`~.stream.Signal`; ``ratio`` is the number of samples per
    latent frame (a multiple of 4); ``tuning`` in semitones (None: estimated); ``feature_dim``
    picks the feature set (:data:`FEATURE_SETS`: 26 = set 1, 51 = set 1 + madmom's chord
    features). Deterministic for a given input. Long mixes are processed in windows of
    :data:`_CHUNK_FRAMES` latent frames with context on both sides, read from the signal one
    at a time, so memory stays flat in the length; the onset scale is the whole mix's.
    """
    if ratio % _SUB:
        raise ValueError(f"ratio must be a multiple of {_SUB}, got {ratio}")
    check_feature_dim(feature_dim)
    sig = as_signal(mono)
    if tuning is None:
        tuning = estimate_tuning(sig, sample_rate)
    if frames <= _CHUNK_FRAMES + 2 * _CONTEXT_FRAMES:
        feats, onset = _features(sig.read(0, sig.length), sample_rate, frames, ratio, tuning)
    else:
        parts, onsets = [], []
        for w in windows(frames, _CHUNK_FRAMES, _CONTEXT_FRAMES):
            f, o = _features(sig.read(w.lo * ratio, w.hi * ratio), sample_rate, w.hi - w.lo, ratio, tuning)
            parts.append(f[:, w.keep])
            onsets.append(o[:, w.keep.start * _SUB: w.keep.stop * _SUB])
        feats, onset = np.concatenate(parts, axis=1), np.concatenate(onsets, axis=1)
    scale = float(np.percentile(onset, 95)) if onset.size else 0.0
    if scale <= 1e-6 and onset.size:  # a mostly silent excerpt: scale by its strongest onset
        scale = float(onset.max())
    onset = np.clip(onset / scale, 0.0, 4.0) if scale > 1e-6 else np.zeros_like(onset)
    feats[24] = _pool(onset, frames)[0]
    if feature_dim == FEATURE_DIM_CHORDS:
        feats = np.concatenate([feats, chord_features(sig, sample_rate, frames, ratio, tuning)], axis=0)
    return feats


def _features(y: np.ndarray, sample_rate: int, frames: int, ratio: int,
              tuning: float) -> tuple[np.ndarray, np.ndarray]:
    """One window: (features with the onset row left raw, the raw onset envelope (1, 4 * frames))."""
    hop = ratio // _SUB
    # Centre feature frame j on sample hop/2 + j*hop: the quarters of the latent frames.
    y = np.pad(y, (0, max(0, frames * ratio - y.size)))[hop // 2:]
    octaves = _OCTAVES
    while octaves > 1 and _FMIN_C1 * 2 ** (tuning / 12) * 2 ** octaves > 0.45 * sample_rate:
        octaves -= 1
    if float(np.max(np.abs(y))) < 1e-6:
        cqt = np.zeros((octaves * _BINS_PER_OCTAVE, frames * _SUB), dtype=np.float32)
    else:
        cqt = dsp.cqt_magnitude(y, sample_rate, hop, _FMIN_C1, octaves * _BINS_PER_OCTAVE, _BINS_PER_OCTAVE,
                                tuning).astype(np.float32)
    chroma = _cqt_chroma(cqt)
    bass = _cqt_chroma(cqt[: _BASS_OCTAVES * _BINS_PER_OCTAVE])
    onset = dsp.onset_strength(y, sample_rate, hop)[None].astype(np.float32)
    need = frames * _SUB
    onset = np.pad(onset, ((0, 0), (0, max(0, need - onset.shape[1]))), mode="edge" if onset.size else "constant")
    onset = onset[:, :need]
    rms = dsp.frame_rms(y, 2 * hop, hop)
    level = np.clip((20 * np.log10(np.maximum(rms, 1e-4)) + 80.0) / 80.0, 0.0, 1.0).astype(np.float32)
    feats = [_pool(chroma, frames), _pool(bass, frames), _pool(onset, frames), _pool(level, frames)]
    return np.concatenate(feats, axis=0).astype(np.float32), onset


def chroma_argmax_pitch_classes(mono: np.ndarray, sample_rate: int, hop: int = 512,
                                smooth_s: float = 0.25) -> np.ndarray:
    """The DSP baseline bass: per frame of ``hop`` samples, the argmax of the mix's CQT chroma
    smoothed over ``smooth_s`` seconds (a moving average), tuning-corrected. Returns int (n,).
    """
    import librosa
    from scipy.ndimage import uniform_filter1d

    y = np.asarray(mono, dtype=np.float32)
    tuning = estimate_tuning(y, sample_rate)
    chroma = librosa.feature.chroma_cqt(y=y, sr=sample_rate, hop_length=hop, tuning=tuning)
    width = max(1, int(round(smooth_s * sample_rate / hop)))
    return np.argmax(uniform_filter1d(chroma, size=width, axis=1, mode="nearest"), axis=0)
