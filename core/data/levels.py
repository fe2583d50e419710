"""Levels of the training data: how loud a bass is when its mix is at the model's level."""

from __future__ import annotations

import math

import numpy as np

from ..audio import rms
from .manifest import Song
from .song_audio import read_song_part

__all__ = ["median_bass_level_db"]


def median_bass_level_db(songs: list[Song], mix_rms_db: float, *, seconds: float = 20.0,
                         max_songs: int = 100) -> float:
    """Median RMS level (dBFS) of a song's bass once its non-bass stems are scaled to
    ``mix_rms_db`` dBFS RMS — the level rule of the latent cache and of the generator.

    Measured on a ``seconds`` excerpt from the middle of each of the first ``max_songs``
    songs, at the files' own rate. Silent excerpts are skipped; raises ValueError when no
    song has both a sounding mix and a sounding bass.
    """
    levels = []
    for song in songs[:max_songs]:
        length = min(seconds, song.seconds)
        start = max(0.0, (song.seconds - length) / 2)
        mix = read_song_part(song, "mix", song.sample_rate, start, length)
        bass = read_song_part(song, "bass", song.sample_rate, start, length)
        mix_rms = rms(mix)
        if mix_rms < 1e-6:
            continue
        bass_rms = rms(bass[: len(mix)]) * 10 ** (mix_rms_db / 20) / mix_rms  # after the mix's gain
        if bass_rms > 1e-6:
            levels.append(20 * math.log10(bass_rms))
    if not levels:
        raise ValueError("no song with both a sounding mix and a sounding bass to measure the bass level on")
    return float(np.median(levels))
