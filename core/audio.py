"""Audio array helpers: layout, downmix, resampling, exact length.

Arrays follow soundfile's layout: ``(samples,)`` or ``(samples, channels)``.
"""

from __future__ import annotations

import numpy as np
import soxr

__all__ = ["MIN_RATE", "MAX_RATE", "to_mono", "resample", "fit_length", "to_layout", "check_rate", "level_gain",
           "gain_for_level"]

MIN_RATE = 8000
MAX_RATE = 192000


def check_rate(sample_rate: int, what: str = "audio") -> int:
    """Return ``sample_rate`` as int if it is within 8-192 kHz, else raise ValueError."""
    sr = int(sample_rate)
    if sr != sample_rate or not MIN_RATE <= sr <= MAX_RATE:
        raise ValueError(f"{what}: sample rate {sample_rate} Hz is outside {MIN_RATE}-{MAX_RATE} Hz")
    return sr


def to_mono(audio: np.ndarray, what: str = "audio") -> np.ndarray:
    """Downmix a ``(samples,)`` or ``(samples, channels)`` array to float32 ``(samples,)``.

    Integer arrays are scaled to [-1, 1). Raises ValueError for empty input, more than two
    dimensions, or NaN/Inf samples.
    """
    a = np.asarray(audio)
    if a.ndim not in (1, 2):
        raise ValueError(f"{what}: expected (samples,) or (samples, channels), got shape {a.shape}")
    if a.shape[0] == 0 or (a.ndim == 2 and a.shape[1] == 0):
        raise ValueError(f"{what}: no samples")
    if np.issubdtype(a.dtype, np.integer):
        a = a.astype(np.float32) / float(np.iinfo(a.dtype).max + 1)
    a = a.astype(np.float32, copy=False)
    if not np.isfinite(a).all():
        raise ValueError(f"{what}: contains NaN or Inf samples")
    return a.mean(axis=1) if a.ndim == 2 else a


def resample(x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Resample a float32 ``(samples,)`` array from ``rate_in`` to ``rate_out`` Hz (soxr HQ)."""
    if rate_in == rate_out:
        return x.astype(np.float32, copy=False)
    return soxr.resample(x, rate_in, rate_out, quality="HQ").astype(np.float32, copy=False)


def fit_length(x: np.ndarray, length: int) -> np.ndarray:
    """Crop or zero-pad the first axis of ``x`` to exactly ``length`` samples."""
    if x.shape[0] >= length:
        return x[:length]
    pad = [(0, length - x.shape[0])] + [(0, 0)] * (x.ndim - 1)
    return np.pad(x, pad)


def to_layout(mono: np.ndarray, channels: int | None) -> np.ndarray:
    """Mono ``(samples,)`` -> ``(samples,)`` if ``channels`` is None, else duplicated to ``(samples, channels)``."""
    if channels is None:
        return mono
    return np.repeat(mono[:, None], channels, axis=1)


def peak(x: np.ndarray, block: int = 1 << 18) -> float:
    """Largest absolute sample of ``x`` (0.0 if empty), ``block`` rows at a time: no
    full-length temporary for a long file."""
    return max((float(np.max(np.abs(x[i:i + block]))) for i in range(0, len(x), block)), default=0.0)


def release_memory() -> None:
    """Hand freed heap memory back to the system (glibc's ``malloc_trim``; nothing elsewhere).
    Between the stages of a long song the allocator otherwise keeps the freed buffers of the
    last stage mapped, and the peak of the next stage lands on top of them."""
    global _trim
    if _trim is None:
        import ctypes
        import ctypes.util

        try:
            _trim = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _trim = False
    if _trim:
        _trim(0)


_trim = None


def rms(x: np.ndarray) -> float:
    """Root mean square of ``x`` (linear, computed in float64); 0.0 for an empty array."""
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0


def level_gain(x: np.ndarray, target_db: float | None) -> float:
    """Linear gain that brings ``x`` to an RMS of ``target_db`` dBFS (1.0 if None or near-silent)."""
    return 1.0 if target_db is None else gain_for_level(rms(x), target_db)


def gain_for_level(level: float, target_db: float | None) -> float:
    """Linear gain that brings a signal of RMS ``level`` to ``target_db`` dBFS (1.0 if None or
    near-silent)."""
    if target_db is None or level < 1e-6:
        return 1.0
    return float(10 ** (target_db / 20) / level)
