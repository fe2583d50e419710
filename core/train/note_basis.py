"""The note directions of the bass latent, for style grounding that keeps the notes.

Style grounding (:func:`~groundbass.core.guidance.ground`) pulls the time-mean of the bass
latent towards a reference's. That mean carries the reference's notes as well as its timbre:
on a 12-way probe the pitch class of a latent frame is linearly readable at 93.6 % (the
bundled model's fit: held-out frames of 25,273 from 200 training songs; chance 10 %). The
*note basis* is the row space of that probe, a few orthonormal directions (k, bass_dim) in
the normalised latent; grounding moves the mean only in the directions orthogonal to it, so
the reference's timbre comes with fewer of its notes.

The probe is a multinomial logistic regression (scikit-learn) from normalised latent frames
to the pitch class the bass autoencoder's own pitch head decodes from them (the notes the
decoder will play), fitted on the training songs of a latent cache.
"""

from __future__ import annotations

import json
import logging
import random
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from ..guidance import ground

__all__ = ["fit_note_basis", "note_frames", "notes_moved", "note_basis_from_cache", "NOTE_BASIS_SONGS"]

log = logging.getLogger(__name__)

NOTE_BASIS_SONGS = 200  # training songs the probe is fitted on (about 25,000 voiced frames)
_MIN_FRAMES = 200


def fit_note_basis(z: np.ndarray, pitch_class: np.ndarray, *, seed: int = 0) -> tuple[torch.Tensor, float]:
    """Normalised latent frames ``z`` (N, C) and their pitch classes (N,) in 0..11 -> (the note
    basis: orthonormal rows (k, C) spanning the probe's weight rows, k <= 12; the probe's
    accuracy on a held-out fifth of the frames). Raises ValueError with too few frames or
    fewer than two pitch classes."""
    from sklearn.linear_model import LogisticRegression

    z = np.asarray(z, dtype=np.float64)
    y = np.asarray(pitch_class).astype(int)
    if z.ndim != 2 or len(z) != len(y):
        raise ValueError(f"note basis: frames {z.shape} and labels {y.shape} do not match")
    if len(y) < _MIN_FRAMES or len(np.unique(y)) < 2:
        raise ValueError(f"note basis: {len(y)} voiced frames in {len(np.unique(y))} pitch classes "
                         f"(need >= {_MIN_FRAMES} in at least two)")
    order = np.random.default_rng(seed).permutation(len(y))
    cut = int(0.8 * len(y))
    train, held = order[:cut], order[cut:]
    probe = LogisticRegression(max_iter=500)
    probe.fit(z[train], y[train])
    accuracy = float(probe.score(z[held], y[held]))
    _, s, vt = np.linalg.svd(probe.coef_, full_matrices=False)
    basis = vt[s > 1e-6 * s.max()]
    return torch.tensor(basis, dtype=torch.float32), accuracy


def note_frames(bass_ae, stats, latent: torch.Tensor, voiced_share: float = 0.75) -> tuple[np.ndarray, np.ndarray]:
    """A raw (unnormalised) bass latent (C, T) -> (frames normalised with the generator's
    :class:`~groundbass.core.pipeline.LatentStats` ``stats`` (n, C), pitch classes (n,)) of the
    frames whose pitch-head class (the decoder's note) is one voiced note on at least
    ``voiced_share`` of the frame's STFT frames."""
    fpl = bass_ae.cfg.frames_per_latent
    with torch.inference_mode():
        cls = bass_ae.decode_pitch(latent[None].float())[0]
    frames = latent.shape[-1]
    cls = cls[: frames * fpl].reshape(frames, fpl)
    z = stats.normalise_bass(latent).T
    mode = torch.mode(cls, dim=1).values
    share = (cls == mode[:, None]).float().mean(dim=1)
    keep = (mode > 0) & (share >= voiced_share)
    pitch_class = (mode[keep] - 1 + bass_ae.cfg.pitch_low) % 12
    return z[keep].numpy(), pitch_class.numpy()


def notes_moved(bass_ae, stats, latent: torch.Tensor, style_mean: torch.Tensor, g: float,
                note_basis: torch.Tensor | None = None) -> float:
    """Share of a normalised bass latent's (1, C, T) decoded pitch frames that a grounding pull
    of strength ``g`` at the noise rate 1 towards ``style_mean`` (C,) changes, off ``note_basis``
    when given: how much of the notes a reference's mean would take with it."""
    with torch.inference_mode():
        before = bass_ae.decode_pitch(stats.denormalise_bass(latent))
        after = bass_ae.decode_pitch(stats.denormalise_bass(ground(latent, style_mean, 1.0, g, note_basis)))
    return float((after != before).float().mean())


def note_basis_from_cache(bass_ae, stats, cache_dir: str | Path, *, songs: int = NOTE_BASIS_SONGS,
                          seed: int = 0) -> tuple[torch.Tensor, dict]:
    """The note basis of a bass autoencoder (with the latent statistics ``stats`` of its generator)
    fitted on up to ``songs`` random training songs of a latent cache (the cache of a
    ``groundbass train diffusion --cache`` run with the same bass autoencoder), and a record
    of the fit (songs, frames, the probe's held-out accuracy) for the model file's metadata.
    Raises ValueError for a folder that is not a latent cache or one whose latents do not
    fit the autoencoder."""
    cache = Path(cache_dir)
    index = cache / "index.jsonl"
    if not index.is_file():
        raise ValueError(f"{cache}: not a latent cache (no index.jsonl)")
    rows = [json.loads(line) for line in index.read_text().splitlines() if line.strip()]
    rows = [r for r in rows if r.get("split") == "train"]
    random.Random(seed).shuffle(rows)
    zs, ys = [], []
    for r in rows[:songs]:
        path = cache / r["file"]
        try:
            latent = load_file(str(path))["bass"]
        except (OSError, KeyError, SafetensorError) as exc:
            raise ValueError(f"{path}: not a readable cached song ({exc})") from None
        channels = stats.bass_mean.shape[0]
        if latent.shape[0] != channels:
            raise ValueError(f"{cache}: bass latents have {latent.shape[0]} channels, the model {channels}")
        z, y = note_frames(bass_ae, stats, latent)
        zs.append(z)
        ys.append(y)
    if not zs:
        raise ValueError(f"{cache}: no training songs")
    frames = sum(len(y) for y in ys)
    basis, accuracy = fit_note_basis(np.concatenate(zs), np.concatenate(ys), seed=seed)
    log.info("note basis: %d directions, probe accuracy %.3f on held-out frames of %d songs",
             basis.shape[0], accuracy, len(zs))
    return basis, {"songs": len(zs), "frames": frames, "directions": int(basis.shape[0]),
                   "probe_accuracy": round(accuracy, 4), "cache": str(cache.resolve())}
