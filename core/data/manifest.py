"""The song manifest: one JSON object per line, one line per song.

Every line holds::

    {"song": "id", "split": "train"|"valid"|"test", "sample_rate": 44100, "samples": 123456,
     "bass": ["bass.wav"], "others": ["drums.wav", ...], "mixture": "mix.wav" | null,
     "group": "artist or groove", "chords": "chords.json" | null, "bass_midi": "bass.mid" | null}

Paths are written relative to the manifest's folder; absolute paths are accepted when
reading. :func:`read_manifest` returns :class:`Song` objects whose paths are absolute.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from ..atomic import write_text_atomic

SPLITS = ("train", "valid", "test")

_REQUIRED = ("song", "split", "sample_rate", "samples", "bass", "others", "group")


class ManifestError(ValueError):
    """A manifest file or line that cannot be read; the message names the file and line."""


@dataclass
class Song:
    """One multitrack song.

    ``sample_rate`` is the stems' rate in Hz and ``samples`` the usable length in samples at
    that rate (the shortest stem). ``bass`` and ``others`` are lists of audio paths whose
    sum is the bass part and the rest of the arrangement; ``others`` never holds a bass stem.
    ``group`` names what to hold out together (a groove, an artist, a dataset).
    """

    song: str
    split: str
    sample_rate: int
    samples: int
    bass: list[Path]
    others: list[Path]
    group: str
    mixture: Path | None = None
    chords: Path | None = None
    bass_midi: Path | None = None
    extra: dict = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        """Length of the song in seconds."""
        return self.samples / self.sample_rate


def _resolve(base: Path, value: str | None) -> Path | None:
    if value is None:
        return None
    p = Path(value)
    return p if p.is_absolute() else (base / p)


def _relative(base: Path, p: Path | None) -> str | None:
    if p is None:
        return None
    p = Path(p)
    try:
        return os.path.relpath(p.resolve(), base.resolve()).replace(os.sep, "/")
    except ValueError:  # a different drive on Windows
        return str(p.resolve())


def song_from_dict(obj: dict, base: Path) -> Song:
    """Build a :class:`Song` from one parsed manifest line; paths resolve against ``base``.

    Raises ``ValueError`` with a short reason on a missing or ill-typed field.
    """
    if not isinstance(obj, dict):
        raise ValueError("a line must be a JSON object")
    missing = [k for k in _REQUIRED if k not in obj]
    if missing:
        raise ValueError(f"missing field(s) {', '.join(missing)}")
    if obj["split"] not in SPLITS:
        raise ValueError(f"split must be one of {'/'.join(SPLITS)}, got {obj['split']!r}")
    for key in ("bass", "others"):
        if not isinstance(obj[key], list) or not all(isinstance(x, str) for x in obj[key]):
            raise ValueError(f"{key!r} must be a list of paths")
    if not obj["bass"]:
        raise ValueError("'bass' is empty")
    try:
        sample_rate, samples = int(obj["sample_rate"]), int(obj["samples"])
    except (TypeError, ValueError):
        raise ValueError("'sample_rate' and 'samples' must be integers") from None
    if sample_rate <= 0 or samples < 0:
        raise ValueError("'sample_rate' must be > 0 and 'samples' >= 0")
    known = set(_REQUIRED) | {"mixture", "chords", "bass_midi"}
    return Song(
        song=str(obj["song"]),
        split=obj["split"],
        sample_rate=sample_rate,
        samples=samples,
        bass=[_resolve(base, x) for x in obj["bass"]],
        others=[_resolve(base, x) for x in obj["others"]],
        group=str(obj["group"]),
        mixture=_resolve(base, obj.get("mixture")),
        chords=_resolve(base, obj.get("chords")),
        bass_midi=_resolve(base, obj.get("bass_midi")),
        extra={k: v for k, v in obj.items() if k not in known},
    )


def song_to_dict(song: Song, base: Path) -> dict:
    """Return the JSON-safe dict of one manifest line, paths relative to ``base``."""
    out = {
        "song": song.song,
        "split": song.split,
        "sample_rate": int(song.sample_rate),
        "samples": int(song.samples),
        "bass": [_relative(base, p) for p in song.bass],
        "others": [_relative(base, p) for p in song.others],
        "mixture": _relative(base, song.mixture),
        "group": song.group,
        "chords": _relative(base, song.chords),
        "bass_midi": _relative(base, song.bass_midi),
    }
    out.update(song.extra)
    return out


def read_manifest(path: str | os.PathLike) -> list[Song]:
    """Read a JSONL manifest and return its songs with absolute paths.

    Blank lines are ignored. Raises :class:`ManifestError` naming the file and line number
    on bad JSON or a missing/ill-typed field, and on a missing file.
    """
    path = Path(path)
    base = path.parent.resolve()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ManifestError(f"{path}: cannot read manifest ({e.strerror or e})") from None
    songs = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise ManifestError(f"{path}:{lineno}: bad JSON ({e.msg})") from None
        try:
            songs.append(song_from_dict(obj, base))
        except ValueError as e:
            raise ManifestError(f"{path}:{lineno}: {e}") from None
    return songs


def write_manifest(path: str | os.PathLike, songs: Iterable[Song]) -> Path:
    """Write ``songs`` as a JSONL manifest, atomically (temp file + ``os.replace``).

    Paths are stored relative to the manifest's folder. Returns the manifest path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    base = path.parent.resolve()
    lines = [json.dumps(song_to_dict(s, base), ensure_ascii=False) for s in songs]
    return write_text_atomic(path, "".join(line + "\n" for line in lines))
