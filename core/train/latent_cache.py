"""Latent cache: encode a manifest's songs once with the trained autoencoders.

For every song the cache holds the bass latent and ``mixes_per_song`` mix latents, each the
encoding of a random non-empty subset of the song's non-bass stems (the first is the
full arrangement) with a random gain — the paper's training pairs, encoded once. The
diffusion model then trains on random crops of these latents.

With ``processing="train"`` every mix is first run through random per-stem and mix-bus
effects (:mod:`..data.augment`; the bass stays clean), and with ``features=True`` the
mix's signal-processing features (:mod:`..features`) are stored beside its latent.

Layout of a cache folder: ``songs/<song>.safetensors`` (tensors ``bass`` (bass_dim, T),
``mix`` (K, mix_dim, T), unnormalised, and ``feat`` (K, feature_dim, T) with features),
``index.jsonl`` (one line per song: song, split, group, timbre, frames, file, chords),
``stats.safetensors`` (per-channel mean and std over the train split) and ``cache.json``
(the autoencoder configs and settings).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import soundfile as sf
import soxr
import torch
from safetensors.torch import load_file, save_file

from ..atomic import atomic_path, write_text_atomic
from ..audio import level_gain, rms
from ..autoencoder import SpectrogramAutoencoder
from ..config import config_to_dict
from ..data.augment import process_mix
from ..data.manifest import Song, read_manifest
from ..data.pairs import choose_subset, db_to_gain
from ..features import FEATURE_DIM, check_feature_dim, mix_features
from ..unet import style_vector

log = logging.getLogger(__name__)

__all__ = ["build_latent_cache", "cache_file_name", "LatentCache", "CachedSong"]


def _read_mono(path: Path, rate: int) -> np.ndarray:
    audio, sr = sf.read(str(path), dtype="float32", always_2d=True)
    mono = audio.mean(axis=1)
    return mono if sr == rate else soxr.resample(mono, sr, rate, quality="HQ").astype(np.float32)


def _sum_to(parts: list[np.ndarray]) -> np.ndarray:
    n = min(len(p) for p in parts)
    return np.sum([p[:n] for p in parts], axis=0).astype(np.float32)


def _atomic_save(tensors: dict[str, torch.Tensor], path: Path) -> None:
    with atomic_path(path) as tmp:
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp))


@torch.inference_mode()
def _encode_song(song: Song, mix_ae: SpectrogramAutoencoder, bass_ae: SpectrogramAutoencoder, mixes: int,
                 rng: np.random.Generator, device: torch.device, mix_rms_db: float | None,
                 processing: str = "none", features: int = 0) -> dict[str, torch.Tensor]:
    rate = mix_ae.sample_rate
    bass = _sum_to([_read_mono(p, rate) for p in song.bass])
    others = [_read_mono(p, rate) for p in song.others]
    drums = ["drum" in Path(p).name.lower() for p in song.others]
    n = min(len(bass), *(len(o) for o in others))
    # Same level rule as BassGenerator: the full arrangement at mix_rms_db, bass scaled alike,
    # plus a little random gain so the model does not rely on one exact level.
    gain = level_gain(np.sum([o[:n] for o in others], axis=0), mix_rms_db) * db_to_gain(float(rng.uniform(-3.0, 3.0)))
    zb = bass_ae.encode_chunked(torch.from_numpy(bass[:n] * gain)[None].to(device))[0]
    zm, feats = [], []
    for k in range(mixes):
        idx = list(range(len(others))) if k == 0 else choose_subset(len(others), rng)
        mix = np.sum([others[i][:n] for i in idx], axis=0)
        if processing != "none":
            # Effects change the level; keep the plain sum's RMS so the bass/mix balance holds.
            wet = process_mix([others[i][:n] for i in idx], rate, rng, processing, [drums[i] for i in idx])
            mix = wet * (rms(mix) / max(rms(wet), 1e-9))
        mix = (mix * gain).astype(np.float32)
        zm.append(mix_ae.encode_chunked(torch.from_numpy(mix)[None].to(device))[0])
        if features:
            feats.append(torch.from_numpy(mix_features(mix, rate, zb.shape[-1], mix_ae.ratio, feature_dim=features)))
    out = {"bass": zb.float().cpu(), "mix": torch.stack(zm).float().cpu()}
    if features:
        out["feat"] = torch.stack(feats)
    return out


def cache_file_name(song: str) -> str:
    """The file a song's latents get in a cache's ``songs/`` folder (the name made file-safe)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in song) + ".safetensors"


def build_latent_cache(manifest: str | Path, mix_ae: SpectrogramAutoencoder, bass_ae: SpectrogramAutoencoder,
                       out_dir: str | Path, *, mixes_per_song: int = 4, seed: int = 0, device: str = "cpu",
                       mix_rms_db: float | None = -20.0, processing: str = "none", features: bool | int = False,
                       shard: tuple[int, int] | None = None,
                       progress: Callable[[int, int], None] | None = None) -> Path:
    """Encode every song of ``manifest`` into ``out_dir`` (resumable: done songs are kept).

    Each song is scaled so its full arrangement has an RMS of ``mix_rms_db`` dBFS (bass
    and every subset mix by the same factor), the level rule of :class:`BassGenerator`.
    ``processing`` ("none", "train", "heldout") draws per-stem and bus effects for every
    mix; ``features`` stores the mixes' signal-processing features: True for feature set 1, or
    a feature count of :data:`~groundbass.core.features.FEATURE_SETS` (51: with chord features).

    Unreadable songs are skipped, counted and logged. Returns the cache folder.
    Raises ValueError if the autoencoders disagree on rate or ratio, or nothing could be encoded.
    """
    if mix_ae.sample_rate != bass_ae.sample_rate or mix_ae.ratio != bass_ae.ratio:
        raise ValueError("mix and bass autoencoders must share sample rate and ratio")
    out = Path(out_dir)
    (out / "songs").mkdir(parents=True, exist_ok=True)
    dev = torch.device(device)
    mix_ae, bass_ae = mix_ae.to(dev).eval(), bass_ae.to(dev).eval()
    songs = read_manifest(manifest)
    # checked here, before any song: in the song loop a ValueError only skips that song
    features = check_feature_dim(FEATURE_DIM if features is True else int(features)) if features else 0
    info = {"mix_ae": config_to_dict(mix_ae.cfg), "bass_ae": config_to_dict(bass_ae.cfg),
            "mixes_per_song": mixes_per_song, "seed": seed, "mix_rms_db": mix_rms_db, "manifest": str(Path(manifest).resolve()),
            "processing": processing, "feature_dim": features}
    info_path = out / "cache.json"
    if info_path.is_file():
        old = json.loads(info_path.read_text())
        if old["mix_ae"] != info["mix_ae"] or old["bass_ae"] != info["bass_ae"]:
            raise ValueError(f"{out}: holds a cache made with other autoencoders; use a new folder")
        if (old.get("processing", "none"), old.get("feature_dim", 0)) != (processing, info["feature_dim"]):
            raise ValueError(f"{out}: holds a cache made with other processing or features; use a new folder")
    write_text_atomic(info_path, json.dumps(info, indent=1))
    index, skipped = [], 0
    for i, song in enumerate(songs):
        if shard is not None and i % shard[1] != shard[0]:
            continue
        path = out / "songs" / cache_file_name(song.song)
        if not path.is_file():
            rng = np.random.default_rng([seed, i])
            try:
                tensors = _encode_song(song, mix_ae, bass_ae, mixes_per_song, rng, dev, mix_rms_db,
                                       processing, features)
            except (sf.LibsndfileError, RuntimeError, OSError, ValueError) as exc:
                skipped += 1
                log.warning("%s: skipped (%s)", song.song, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
                continue
            _atomic_save(tensors, path)
        if shard is not None:
            if progress:
                progress(i + 1, len(songs))
            continue
        frames = int(load_file(str(path))["bass"].shape[-1])
        index.append({"song": song.song, "split": song.split, "group": song.group,
                      "timbre": str(song.extra.get("timbre", song.song)), "frames": frames,
                      "file": f"songs/{path.name}", "chords": str(song.chords) if song.chords else None})
        if progress:
            progress(i + 1, len(songs))
    if shard is not None:
        return out
    if not index:
        raise ValueError(f"{manifest}: no song could be encoded ({skipped} skipped)")
    write_text_atomic(out / "index.jsonl", "".join(json.dumps(r) + "\n" for r in index))
    train = [r for r in index if r["split"] == "train"] or index
    bass = torch.cat([load_file(str(out / r["file"]))["bass"] for r in train], dim=-1)
    mix = torch.cat([load_file(str(out / r["file"]))["mix"].permute(1, 0, 2).reshape(mix_ae.latent_dim, -1)
                     for r in train], dim=-1)
    _atomic_save({"mix_mean": mix.mean(1), "mix_std": mix.std(1).clamp_min(1e-4),
                  "bass_mean": bass.mean(1), "bass_std": bass.std(1).clamp_min(1e-4)}, out / "stats.safetensors")
    if skipped:
        log.warning("latent cache: %d song(s) skipped", skipped)
    return out


@dataclass
class CachedSong:
    """One cached song: unnormalised latents, ``bass`` (bass_dim, T) and ``mix`` (K, mix_dim, T),
    and the mixes' features ``feat`` (K, feature_dim, T) when the cache has them."""

    song: str
    split: str
    group: str
    bass: torch.Tensor
    mix: torch.Tensor
    chords: str | None = None
    feat: torch.Tensor | None = None
    timbre: str = ""


@dataclass
class LatentBatch:
    """A training batch: ``cond`` (B, mix_dim + feature_dim, frames), ``bass`` (B, bass_dim, frames),
    both normalised, and ``style`` (B, 2 * bass_dim): the time-mean and time-std of the
    normalised bass latent of a crop of *another* song with the same bass timbre (the same
    song when no other shares it), so the reference agrees in timbre and not in notes."""

    cond: torch.Tensor
    bass: torch.Tensor
    style: torch.Tensor


class LatentCache:
    """The songs of a latent cache folder, held in memory, with normalised random crops."""

    def __init__(self, cache_dir: str | Path, split: str | None = "train"):
        self.dir = Path(cache_dir)
        index_path = self.dir / "index.jsonl"
        if not index_path.is_file():
            raise ValueError(f"{self.dir}: not a latent cache (no index.jsonl)")
        rows = [json.loads(line) for line in index_path.read_text().splitlines() if line.strip()]
        rows = [r for r in rows if split is None or r["split"] == split]
        self.songs = []
        for r in rows:
            t = load_file(str(self.dir / r["file"]))
            self.songs.append(CachedSong(r["song"], r["split"], r["group"], t["bass"], t["mix"], r.get("chords"),
                                         t.get("feat"), str(r.get("timbre", r["song"]))))
        stats = load_file(str(self.dir / "stats.safetensors"))
        self.stats = {k: v for k, v in stats.items()}
        self.info = json.loads((self.dir / "cache.json").read_text())
        self.feature_dim = int(self.info.get("feature_dim", 0))
        self._by_timbre: dict[str, list[int]] = {}
        for i, song in enumerate(self.songs):
            self._by_timbre.setdefault(song.timbre, []).append(i)

    def __len__(self) -> int:
        return len(self.songs)

    def normalise(self, mix: torch.Tensor, bass: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-channel standardisation with the cache's train-split statistics."""
        s = self.stats
        return (mix - s["mix_mean"][:, None]) / s["mix_std"][:, None], self.normalise_bass(bass)

    def normalise_bass(self, bass: torch.Tensor) -> torch.Tensor:
        """The bass half of :meth:`normalise`."""
        return (bass - self.stats["bass_mean"][:, None]) / self.stats["bass_std"][:, None]

    def _crop(self, x: torch.Tensor, start: int, frames: int) -> torch.Tensor:
        x = x[..., start:start + frames]
        pad = frames - x.shape[-1]
        return torch.nn.functional.pad(x, (0, pad)) if pad > 0 else x

    def draw(self, seed: int, step: int, rank: int, batch_size: int, frames: int) -> LatentBatch:
        """Random aligned crops for ``(seed, step, rank)`` as a :class:`LatentBatch`.

        Songs shorter than ``frames`` are zero-padded at the end.
        """
        if not self.songs:
            raise ValueError(f"{self.dir}: no songs in this split")
        rng = np.random.default_rng([seed, step, rank])
        conds, basses, styles = [], [], []
        for _ in range(batch_size):
            song = self.songs[int(rng.integers(len(self.songs)))]
            k = int(rng.integers(song.mix.shape[0]))
            total = song.bass.shape[-1]
            start = int(rng.integers(0, max(total - frames, 0) + 1))
            mix, bass = self.normalise(self._crop(song.mix[k], start, frames), self._crop(song.bass, start, frames))
            if song.feat is not None:
                mix = torch.cat([mix, self._crop(song.feat[k], start, frames)], dim=0)
            mates = [i for i in self._by_timbre.get(song.timbre, []) if self.songs[i] is not song]
            ref = self.songs[mates[int(rng.integers(len(mates)))]] if mates else song
            rstart = int(rng.integers(0, max(ref.bass.shape[-1] - frames, 0) + 1))
            ref_bass = self.normalise_bass(ref.bass[:, rstart:rstart + frames])
            conds.append(mix)
            basses.append(bass)
            styles.append(style_vector(ref_bass))
        return LatentBatch(torch.stack(conds), torch.stack(basses), torch.stack(styles))

    def batch(self, seed: int, step: int, rank: int, batch_size: int, frames: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Random aligned crops for ``(seed, step, rank)``: (cond (B, mix_dim [+ feature_dim], frames),
        bass (B, bass_dim, frames)), normalised; see :meth:`draw`."""
        b = self.draw(seed, step, rank, batch_size, frames)
        return b.cond, b.bass
