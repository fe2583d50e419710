"""Checks on one stem file: readable, not silent; and on a song's stems: matching lengths."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

log = logging.getLogger(__name__)

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".aif", ".aiff", ".mp3", ".w64")
SILENCE_DB = -60.0


@dataclass(frozen=True)
class Problem:
    """A file left out of an index and why."""

    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(frozen=True)
class StemInfo:
    """A readable, non-silent stem: ``sample_rate`` in Hz, ``frames`` in samples."""

    path: Path
    sample_rate: int
    frames: int
    channels: int


def is_audio(path: Path) -> bool:
    """Return True when ``path`` has an audio file suffix we index."""
    return path.suffix.lower() in AUDIO_SUFFIXES and not path.name.startswith(".")


def probe_stem(path: Path, silence_db: float = SILENCE_DB, block: int = 1 << 17) -> StemInfo | Problem:
    """Return a :class:`StemInfo` for a usable stem or a :class:`Problem` saying why not.

    The file is read in blocks until one sample's magnitude reaches ``silence_db`` dBFS
    (so a loud file is not read to the end); a file whose peak stays below it is "silent".
    """
    path = Path(path)
    threshold = 10.0 ** (silence_db / 20.0)
    try:
        info = sf.info(str(path))
        if info.frames <= 0:
            return Problem(path, "empty audio file (0 samples)")
        peak = 0.0
        for chunk in sf.blocks(str(path), blocksize=block, dtype="float32", always_2d=True):
            if chunk.size:
                peak = max(peak, float(np.max(np.abs(chunk))))
            if peak >= threshold:
                break
    except (sf.LibsndfileError, RuntimeError, OSError, ValueError) as e:
        return Problem(path, f"unreadable audio ({str(e).splitlines()[0] if str(e) else type(e).__name__})")
    if not np.isfinite(peak):
        return Problem(path, "audio holds NaN or infinite samples")
    if peak < threshold:
        db = 20 * np.log10(peak) if peak > 0 else float("-inf")
        return Problem(path, f"silent (peak {db:.1f} dBFS < {silence_db:.0f} dBFS)")
    return StemInfo(path, int(info.samplerate), int(info.frames), int(info.channels))


def consistent_stems(
    stems: list[StemInfo], tolerance_seconds: float = 0.1, reference: StemInfo | None = None
) -> tuple[list[StemInfo], list[Problem]]:
    """Keep the stems whose rate equals the reference's and whose length is within tolerance.

    The reference is ``reference`` (e.g. the mixture) or else the most common (rate, length)
    among ``stems``. Returns (kept stems, problems for the others).
    """
    if not stems:
        return [], []
    if reference is None:
        keys = [(s.sample_rate, s.frames) for s in stems]
        ref_rate, ref_frames = max(set(keys), key=lambda k: (keys.count(k), k[1]))
    else:
        ref_rate, ref_frames = reference.sample_rate, reference.frames
    kept, problems = [], []
    tol = int(round(tolerance_seconds * ref_rate))
    for s in stems:
        if s.sample_rate != ref_rate:
            problems.append(Problem(s.path, f"sample rate {s.sample_rate} Hz differs from the song's {ref_rate} Hz"))
        elif abs(s.frames - ref_frames) > tol:
            problems.append(Problem(
                s.path, f"length {s.frames / ref_rate:.2f} s differs from the song's {ref_frames / ref_rate:.2f} s"))
        else:
            kept.append(s)
    return kept, problems
