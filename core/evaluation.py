"""Evaluation runs over held-out songs (the numbers in MODEL_CARD.md come from here).

:func:`evaluate_autoencoder` measures what decides everything downstream: whether the bass
autoencoder keeps pitch (pitch-class agreement of the reconstruction with the input), plus
multi-scale spectral distance and log-spectral distance.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import torch

from .audio import level_gain
from .autoencoder import SpectrogramAutoencoder
from .data.manifest import Song
from .data.song_audio import read_song_part
from .metrics import log_spectral_distance, pitch_class_agreement
from .spectral import multiscale_spectral_distance

log = logging.getLogger(__name__)

__all__ = ["evaluate_autoencoder", "read_song_part"]


@torch.inference_mode()
def evaluate_autoencoder(ae: SpectrogramAutoencoder, songs: list[Song], role: str = "bass", *,
                         seconds: float = 10.0, level_db: float = -20.0) -> dict[str, float]:
    """Reconstruct a ``seconds`` excerpt from the middle of each song and compare.

    Each excerpt is brought to ``level_db`` dBFS RMS first. Returns the means over songs of
    ``pitch_class_agreement`` (bass only; voiced input frames with the same pitch class in the
    reconstruction), ``mssd`` (the paper's multi-scale spectral distance) and ``lsd_db``
    (log-spectral distance in dB), plus ``songs`` (how many were measured).
    """
    rate = ae.sample_rate
    pca, mssd, lsd = [], [], []
    for song in songs:
        start = max(0.0, (song.seconds - seconds) / 2)
        x = read_song_part(song, role, rate, start, min(seconds, song.seconds))
        x = x * level_gain(x, level_db)
        y = ae.decode(ae.encode(torch.from_numpy(x)[None]), length=len(x))[0].numpy()
        mssd.append(multiscale_spectral_distance(torch.from_numpy(x)[None], torch.from_numpy(y)[None]).item())
        lsd.append(log_spectral_distance(x, y, rate))
        if role == "bass":
            v = pitch_class_agreement(x, y, rate)
            if not math.isnan(v):
                pca.append(v)
    out = {"songs": float(len(songs)), "mssd": float(np.mean(mssd)), "lsd_db": float(np.mean(lsd))}
    if role == "bass":
        out["pitch_class_agreement"] = float(np.mean(pca)) if pca else float("nan")
    return out
