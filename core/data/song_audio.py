"""Reading a song's stems from a manifest entry as one mono signal."""

from __future__ import annotations

import numpy as np
import soundfile as sf

from ..audio import resample
from .manifest import Song

__all__ = ["read_song_part", "read_song_stems"]


def read_song_part(song: Song, role: str, rate: int, start_s: float, seconds: float) -> np.ndarray:
    """Mono excerpt of a song at ``rate`` Hz: ``role`` = "bass" (sum of bass stems) or "mix"
    (sum of every non-bass stem), ``seconds`` long from ``start_s``. Returns float32 (samples,)."""
    paths = song.bass if role == "bass" else song.others
    a = int(start_s * song.sample_rate)
    b = a + int(seconds * song.sample_rate)
    parts = [sf.read(str(p), start=a, stop=b, dtype="float32", always_2d=True)[0].mean(axis=1) for p in paths]
    n = min(len(p) for p in parts)
    return resample(np.sum([p[:n] for p in parts], axis=0).astype(np.float32), song.sample_rate, rate)


def read_song_stems(song: Song, rate: int, start_s: float, seconds: float) -> tuple[list[np.ndarray], list[bool]]:
    """The non-bass stems of a song, each a mono float32 excerpt at ``rate`` Hz of equal length,
    and for each whether it is a drum stem (by its file name)."""
    a = int(start_s * song.sample_rate)
    b = a + int(seconds * song.sample_rate)
    parts = [sf.read(str(p), start=a, stop=b, dtype="float32", always_2d=True)[0].mean(axis=1) for p in song.others]
    n = min(len(p) for p in parts)
    stems = [resample(p[:n].astype(np.float32), song.sample_rate, rate) for p in parts]
    return stems, ["drum" in p.name.lower() for p in song.others]
