"""Training crops from manifest songs: bass crops, mix crops, and aligned (mix, bass) pairs.

Item ``i`` of a :class:`StemCrops` dataset is a pure function of ``(seed, i)``: it draws a
song, a crop start, a random non-empty subset of the song's non-bass stems (the mix, paper
section 4) and gains from ``numpy.random.default_rng([seed, i])``. Training resumes at step
``s`` by asking for items ``s * batch .. (s + 1) * batch - 1`` again (:meth:`StemCrops.batch`).

Crops are read from disk with ``soundfile.read(start=, stop=)``, downmixed to mono and
resampled with soxr to ``sample_rate``. No pitch or speed augmentation touches the pair.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import mido
import numpy as np
import soundfile as sf
import soxr
import torch

from ..audio import rms
from .manifest import Song, read_manifest
from .midi_tracks import frame_notes, note_spans

log = logging.getLogger(__name__)

ROLES = ("bass", "mix", "pair")


def choose_subset(n_stems: int, rng: np.random.Generator) -> list[int]:
    """Return a random non-empty subset of ``range(n_stems)`` as sorted stem indices.

    The subset size is uniform over 1..n_stems, then the members are uniform, so sparse
    mixes (one or two stems) are as common as full ones. Raises ``ValueError`` if n_stems < 1.
    """
    if n_stems < 1:
        raise ValueError(f"choose_subset needs at least one stem, got {n_stems}")
    k = int(rng.integers(1, n_stems + 1))
    return sorted(int(i) for i in rng.choice(n_stems, size=k, replace=False))


def db_to_gain(db: float) -> float:
    """Return the linear amplitude factor of ``db`` decibels."""
    return float(10.0 ** (db / 20.0))


@dataclass
class Crop:
    """One drawn crop. Audio arrays are mono float32 of ``crop_samples`` samples (None when
    the role does not need them); ``start`` is in samples at the song's own rate;
    ``stems`` are indices into ``song.others`` summed into the mix; gains are in dB."""

    index: int
    song: Song
    start: int
    stems: list[int]
    bass_in_mix: bool
    mix_gain_db: float
    bass_gain_db: float
    mix: np.ndarray | None = None
    bass: np.ndarray | None = None
    extras: dict = field(default_factory=dict)


class CropReadError(RuntimeError):
    """A stem of the drawn song could not be read."""


class StemCrops(torch.utils.data.Dataset):
    """Random crops of manifest songs, reproducible by (seed, item index).

    Args:
        songs: the songs to draw from (e.g. ``read_manifest(p)`` filtered by split).
        sample_rate: output rate in Hz (the ``small`` preset runs at 22050 Hz).
        crop_samples: output length in samples at ``sample_rate``.
        role: "bass" (item has "bass"), "mix" (item has "mix") or "pair" (both, aligned).
        seed: base seed; item i uses ``numpy.random.default_rng([seed, i])``.
        length: the dataset's nominal ``len()`` (default: number of songs); items are
            drawn, so any index >= 0 works.
        gain_db: range of the gain shared by mix and bass, in dB.
        jitter_db: each of mix and bass gets an extra independent gain in +-jitter_db.
        bass_in_mix_prob: probability that the bass is added to the mix (default 0: the mix
            is non-bass stems only, as in the paper).
        min_bass_db: a crop whose bass RMS is below this (dBFS) is redrawn (None: keep all).
        max_draws: draws per item before giving up (silent bass: keep the last crop;
            unreadable files: raise ``RuntimeError``).
        pitch_hop: if set, bass items also carry "pitch": the sounding note of each frame of
            ``pitch_hop`` samples (frame t centred at ``(t + 0.5) * pitch_hop``) from the song's
            bass MIDI, as classes: 0 = no note, c = MIDI note ``pitch_low + c - 1`` for
            ``pitch_bins`` semitones, -1 = unknown (no MIDI, or a note out of range).
        chroma_hop: if set, mix items also carry "chroma": float32 (frames, 12), the pitch
            classes of the chord sounding at each frame's centre from the song's chord chart
            (1 = in the chord), a row of -1 where no chord is known.

    ``skipped`` counts draws lost to unreadable files (in this process; DataLoader
    workers keep their own count).
    """

    def __init__(
        self,
        songs: Sequence[Song],
        sample_rate: int = 22050,
        crop_samples: int = 33075,
        role: str = "pair",
        seed: int = 0,
        length: int | None = None,
        gain_db: tuple[float, float] = (-6.0, 3.0),
        jitter_db: float = 1.0,
        bass_in_mix_prob: float = 0.0,
        min_bass_db: float | None = -50.0,
        max_draws: int = 32,
        pitch_hop: int | None = None,
        pitch_low: int = 24,
        pitch_bins: int = 48,
        chroma_hop: int | None = None,
    ) -> None:
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
        songs = [s for s in songs if s.bass and (s.others or role == "bass")]
        if not songs:
            raise ValueError("no songs with a bass stem and at least one other stem")
        if crop_samples <= 0 or sample_rate <= 0:
            raise ValueError(f"crop_samples ({crop_samples}) and sample_rate ({sample_rate}) must be > 0")
        self.songs = list(songs)
        self.sample_rate = int(sample_rate)
        self.crop_samples = int(crop_samples)
        self.role = role
        self.seed = int(seed)
        self.length = int(length) if length is not None else len(self.songs)
        self.gain_db = (float(gain_db[0]), float(gain_db[1]))
        self.jitter_db = float(jitter_db)
        self.bass_in_mix_prob = float(bass_in_mix_prob)
        self.min_bass_db = min_bass_db
        self.max_draws = int(max_draws)
        self.skipped = 0
        self.bad_songs: dict[str, str] = {}
        self.pitch_hop, self.pitch_low, self.pitch_bins = pitch_hop, int(pitch_low), int(pitch_bins)
        self.chroma_hop = chroma_hop
        self._annotations: dict[tuple[str, str], list | None] = {}

    @classmethod
    def from_manifest(cls, path: str | Path, split: str | None = "train", **kwargs) -> "StemCrops":
        """Build the dataset from the songs of ``split`` (None: all) in a manifest file."""
        songs = [s for s in read_manifest(path) if split is None or s.split == split]
        if not songs:
            raise ValueError(f"{path}: no songs in split {split!r}")
        return cls(songs, **kwargs)

    def __len__(self) -> int:
        return self.length

    # -- reading ------------------------------------------------------------------------------
    def _read(self, path: Path, start: int, frames: int) -> np.ndarray:
        """Return ``frames`` mono samples of ``path`` from ``start`` (zero-padded at the end)."""
        try:
            audio, _ = sf.read(str(path), start=start, stop=start + frames, dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError, OSError, ValueError) as e:
            raise CropReadError(f"{path}: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
        mono = audio.mean(axis=1)
        if mono.shape[0] < frames:
            mono = np.concatenate([mono, np.zeros(frames - mono.shape[0], np.float32)])
        return mono

    def _to_rate(self, x: np.ndarray, rate: int) -> np.ndarray:
        if rate != self.sample_rate:
            x = soxr.resample(x, rate, self.sample_rate, quality="HQ").astype(np.float32)
        if x.shape[0] >= self.crop_samples:
            return x[: self.crop_samples]
        return np.concatenate([x, np.zeros(self.crop_samples - x.shape[0], np.float32)])

    # -- drawing ------------------------------------------------------------------------------
    def _draw_once(self, index: int, rng: np.random.Generator) -> Crop:
        song = self.songs[int(rng.integers(len(self.songs)))]
        src_frames = math.ceil(self.crop_samples * song.sample_rate / self.sample_rate)
        start = int(rng.integers(0, max(song.samples - src_frames, 0) + 1))
        stems = choose_subset(len(song.others), rng) if song.others else []
        bass_in_mix = bool(self.bass_in_mix_prob > 0 and rng.random() < self.bass_in_mix_prob)
        shared = rng.uniform(*self.gain_db)
        mix_db = shared + rng.uniform(-self.jitter_db, self.jitter_db)
        bass_db = shared + rng.uniform(-self.jitter_db, self.jitter_db)
        crop = Crop(index, song, start, stems, bass_in_mix, float(mix_db), float(bass_db))
        if song.song in self.bad_songs:
            raise CropReadError(self.bad_songs[song.song])
        try:
            self._fill(crop, src_frames)
        except CropReadError as e:
            self.bad_songs[song.song] = str(e)  # never read this song again
            log.warning("skipping unreadable song %s: %s", song.song, e)
            raise
        return crop

    def _fill(self, crop: Crop, src_frames: int) -> None:
        song, start = crop.song, crop.start
        bass = None
        if self.role in ("bass", "pair") or crop.bass_in_mix:
            bass = sum(self._read(p, start, src_frames) for p in song.bass)
        if self.role in ("bass", "pair"):
            crop.bass = self._to_rate(bass, song.sample_rate) * db_to_gain(crop.bass_gain_db)
        if self.role in ("mix", "pair"):
            mix = sum(self._read(song.others[i], start, src_frames) for i in crop.stems)
            if crop.bass_in_mix:
                mix = mix + bass
            crop.mix = self._to_rate(mix, song.sample_rate) * db_to_gain(crop.mix_gain_db)

    def _annotation(self, song: Song, what: str) -> list | None:
        """The song's note spans (``what="bass MIDI"``) or chord chart (``"chord chart"``), read
        once per song; None when the song has none or it cannot be read (logged once)."""
        key = (song.song, what)
        if key not in self._annotations:
            path = song.bass_midi if what == "bass MIDI" else song.chords
            value = None
            if path is not None:
                try:
                    value = note_spans(mido.MidiFile(str(path))) if what == "bass MIDI" \
                        else json.loads(Path(path).read_text())
                except (OSError, ValueError, EOFError) as e:
                    log.warning("%s: unreadable %s (%s); no training target from it", path, what, e)
            self._annotations[key] = value
        return self._annotations[key]

    def pitch_classes(self, crop: Crop) -> np.ndarray:
        """The "pitch" target of a crop (see ``pitch_hop``): int64 (crop_samples // pitch_hop,)."""
        frames = self.crop_samples // self.pitch_hop
        spans = self._annotation(crop.song, "bass MIDI")
        if spans is None:
            return np.full(frames, -1, dtype=np.int64)
        notes = frame_notes(spans, crop.start / crop.song.sample_rate, frames, self.pitch_hop / self.sample_rate)
        cls = notes - self.pitch_low + 1
        cls[(notes >= 0) & ((cls < 1) | (cls > self.pitch_bins))] = -1
        cls[notes < 0] = 0
        return cls

    def chord_chroma(self, crop: Crop) -> np.ndarray:
        """The "chroma" target of a crop (see ``chroma_hop``): float32 (crop_samples // chroma_hop, 12)."""
        frames = self.crop_samples // self.chroma_hop
        out = np.full((frames, 12), -1.0, dtype=np.float32)
        chart = self._annotation(crop.song, "chord chart")
        if not chart:
            return out
        centres = crop.start / crop.song.sample_rate + (np.arange(frames) + 0.5) * self.chroma_hop / self.sample_rate
        for chord in chart:
            inside = (centres >= chord["start"]) & (centres < chord["end"])
            if inside.any():
                row = np.zeros(12, dtype=np.float32)
                row[[int(p) % 12 for p in chord["pitch_classes"]]] = 1.0
                out[inside] = row
        return out

    def draw(self, index: int) -> Crop:
        """Return the :class:`Crop` of item ``index`` (numpy audio plus what was drawn).

        Unreadable songs are skipped (``self.skipped`` += 1) and another song is drawn.
        """
        rng = np.random.default_rng([self.seed, int(index)])
        last_error, quiet = "", None
        for _ in range(self.max_draws):
            try:
                crop = self._draw_once(index, rng)
            except CropReadError as e:
                self.skipped += 1
                last_error = str(e)
                continue
            if self.min_bass_db is None or crop.bass is None:
                return crop
            level = rms(crop.bass)
            if level > 0 and 20 * math.log10(level) - crop.bass_gain_db >= self.min_bass_db:
                return crop
            quiet = crop
        if quiet is None:
            raise RuntimeError(f"{self.max_draws} draws for item {index} found no readable song; last: {last_error}")
        return quiet  # every readable draw had a quiet bass: keep the last one

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        """Return {"bass": (1, crop_samples)} / {"mix": ...} / both for "pair", float32 tensors
        (and "pitch", int64 (crop_samples // pitch_hop,), with ``pitch_hop``; "chroma", float32
        (crop_samples // chroma_hop, 12), with ``chroma_hop``)."""
        crop = self.draw(index)
        out = {}
        if crop.mix is not None:
            out["mix"] = torch.from_numpy(np.ascontiguousarray(crop.mix, dtype=np.float32))[None]
            if self.chroma_hop:
                out["chroma"] = torch.from_numpy(self.chord_chroma(crop))
        if crop.bass is not None:
            out["bass"] = torch.from_numpy(np.ascontiguousarray(crop.bass, dtype=np.float32))[None]
            if self.pitch_hop:
                out["pitch"] = torch.from_numpy(self.pitch_classes(crop))
        return out

    def batch(self, step: int, batch_size: int) -> dict[str, torch.Tensor]:
        """Return the batch of training step ``step``: items ``step*batch_size ..`` stacked to
        (batch_size, 1, crop_samples) tensors (pitch: (batch_size, frames)). The same step
        always gives the same batch."""
        items = [self[step * batch_size + j] for j in range(batch_size)]
        return {k: torch.stack([it[k] for it in items]) for k in items[0]}
