"""Indexers: turn a stem dataset on disk into manifest songs.

One function per layout (:func:`index_musdb`, :func:`index_slakh`, :func:`index_moisesdb`,
:func:`index_stems`); each returns an :class:`IndexResult` with the usable songs and the
problems (a skipped file or song and the reason). Corrupt, silent and mismatched-length
stems are reported and left out; a song without a usable bass stem or without any other
stem is left out and reported. Nothing here raises for a bad file.
"""

from __future__ import annotations

import fnmatch
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from .manifest import Song
from .probe import Problem, StemInfo, consistent_stems, is_audio, probe_stem
from .splits import assign_split

log = logging.getLogger(__name__)

FORMATS = ("musdb", "slakh", "moisesdb", "stems")


@dataclass
class IndexResult:
    """Songs found (absolute paths) and the problems met on the way."""

    songs: list[Song] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _audio_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and is_audio(p)) if folder.is_dir() else []


def build_song(
    song_id: str,
    group: str,
    split: str,
    bass: list[Path],
    others: list[Path],
    mixture: Path | None,
    result: IndexResult,
    song_dir: Path,
) -> Song | None:
    """Probe the stems of one song and add it to ``result`` when usable.

    Returns the :class:`Song` (``samples`` = the shortest kept stem, in samples) or None
    when the song was left out; every file left out is added to ``result.problems``.
    """
    infos: dict[Path, StemInfo] = {}
    for p in [*bass, *others]:
        r = probe_stem(p)
        if isinstance(r, Problem):
            result.problems.append(r)
        else:
            infos[p] = r
    mix_info = None
    if mixture is not None:
        r = probe_stem(mixture)
        if isinstance(r, Problem):
            result.problems.append(r)
        else:
            mix_info = r
    kept, problems = consistent_stems(list(infos.values()), reference=mix_info)
    result.problems.extend(problems)
    kept_paths = {s.path for s in kept}
    bass_ok = [p for p in bass if p in kept_paths]
    others_ok = [p for p in others if p in kept_paths]
    if not bass_ok:
        result.problems.append(Problem(song_dir, "song left out: no usable bass stem"))
        return None
    if not others_ok:
        result.problems.append(Problem(song_dir, "song left out: no usable non-bass stem"))
        return None
    samples = min(s.frames for s in kept)
    song = Song(song=song_id, split=split, sample_rate=kept[0].sample_rate, samples=samples,
                bass=bass_ok, others=others_ok, group=group, mixture=mix_info.path if mix_info else None)
    result.songs.append(song)
    return song


def _song_dirs(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def _check_root(root: Path) -> Path:
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: not a folder")
    return root


def index_musdb(root: str | Path, valid_share: float = 0.1) -> IndexResult:
    """Index a MUSDB18-HQ tree: ``<root>/{train,test}/<Artist - Title>/{mixture,bass,drums,other,vocals}.wav``.

    The split comes from the folder (train songs go to "valid" by artist hash with
    ``valid_share``); the group is the artist (the text before " - ").
    """
    root = _check_root(root)
    result = IndexResult()
    split_dirs = [d for d in (root / "train", root / "test") if d.is_dir()]
    if not split_dirs:
        result.problems.append(Problem(root, "no train/ or test/ folder (MUSDB18-HQ layout)"))
        return result
    for split_dir in split_dirs:
        for song_dir in _song_dirs(split_dir):
            files = {p.stem.lower(): p for p in _audio_files(song_dir)}
            artist = song_dir.name.split(" - ")[0].strip()
            split = "test" if split_dir.name == "test" else assign_split(artist, valid_share)
            others = [files[k] for k in ("drums", "other", "vocals") if k in files]
            bass = [files["bass"]] if "bass" in files else []
            build_song(song_dir.name, artist, split, bass, others, files.get("mixture"), result, song_dir)
    return result


def _load_yaml(path: Path):
    import yaml

    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def index_slakh(root: str | Path, valid_share: float = 0.1) -> IndexResult:
    """Index Slakh2100: ``Track*/metadata.yaml`` + ``Track*/stems/S*.flac`` (+ ``mix.flac``).

    A stem whose metadata says ``inst_class: Bass`` is bass. Tracks may sit directly under
    ``root`` or under ``train/``, ``validation/``, ``test/`` (that folder sets the split;
    ``omitted/`` tracks are skipped). The group is the track id.
    """
    root = _check_root(root)
    result = IndexResult()
    split_names = {"train": "train", "validation": "valid", "valid": "valid", "test": "test"}
    tracks: list[tuple[Path, str | None]] = []
    for d in _song_dirs(root):
        if d.name in split_names:
            tracks += [(t, split_names[d.name]) for t in _song_dirs(d)]
        elif d.name == "omitted":
            result.problems.append(Problem(d, "skipped: omitted/ holds Slakh2100 duplicates"))
        else:
            tracks.append((d, None))
    for track, split in tracks:
        meta_path = track / "metadata.yaml"
        if not meta_path.is_file():
            result.problems.append(Problem(track, "song left out: no metadata.yaml"))
            continue
        try:
            meta = _load_yaml(meta_path)
            stems_meta = meta["stems"]
            if not isinstance(stems_meta, dict):
                raise TypeError("'stems' is not a mapping")
        except Exception as e:  # yaml errors, missing keys, wrong types
            result.problems.append(Problem(meta_path, f"song left out: bad metadata ({type(e).__name__}: {e})".splitlines()[0]))
            continue
        bass, others = [], []
        for path in _audio_files(track / "stems"):
            info = stems_meta.get(path.stem) or {}
            if not isinstance(info, dict):
                info = {}
            (bass if str(info.get("inst_class", "")).lower() == "bass" else others).append(path)
        mixture = next((p for p in _audio_files(track) if p.stem == "mix"), None)
        group = track.name
        build_song(track.name, group, split or assign_split(group, valid_share), bass, others, mixture, result, track)
    return result


def index_moisesdb(root: str | Path, valid_share: float = 0.1) -> IndexResult:
    """Index MoisesDB: a folder per song with one subfolder per stem type (``bass/``, ``drums/``, ...).

    Bass = the audio files in ``bass/``; every other subfolder's files are "others". The
    group is the artist from the song's ``data.json`` when present, else the song folder.
    """
    root = _check_root(root)
    result = IndexResult()
    song_dirs = _song_dirs(root)
    # MoisesDB ships as moisesdb/moisesdb_v0.1/<song>/...: step into a single wrapper folder.
    while len(song_dirs) == 1 and not (song_dirs[0] / "bass").is_dir() and not (song_dirs[0] / "data.json").exists():
        song_dirs = _song_dirs(song_dirs[0])
    for song_dir in song_dirs:
        group, name = song_dir.name, song_dir.name
        data_json = song_dir / "data.json"
        if data_json.is_file():
            try:
                meta = json.loads(data_json.read_text(encoding="utf-8"))
                group = str(meta.get("artist") or group)
                name = str(meta.get("song") and f"{group} - {meta['song']}" or name)
            except (OSError, ValueError, AttributeError) as e:
                result.problems.append(Problem(data_json, f"unreadable data.json ({e}); using the folder name"))
        bass = _audio_files(song_dir / "bass")
        others = [p for d in _song_dirs(song_dir) if d.name.lower() != "bass" for p in _audio_files(d)]
        build_song(song_dir.name, group, assign_split(group, valid_share), bass, others, None, result, song_dir)
    return result


def index_stems(
    root: str | Path,
    bass_pattern: str = "*bass*",
    mix_patterns: tuple[str, ...] = ("mix.*", "mixture.*"),
    valid_share: float = 0.1,
) -> IndexResult:
    """Index a plain folder per song of stem files (directly inside, or inside ``stems/``).

    Files whose name matches ``bass_pattern`` (fnmatch, case-insensitive) are bass; files
    matching ``mix_patterns`` are the mixture; the rest are "others". The group is the song
    folder's name; it is also the split key.
    """
    root = _check_root(root)
    result = IndexResult()
    for song_dir in _song_dirs(root):
        files = _audio_files(song_dir) or _audio_files(song_dir / "stems")
        if not files:
            result.problems.append(Problem(song_dir, "song left out: no audio files"))
            continue
        def match(p: Path, pat: str) -> bool:
            return fnmatch.fnmatch(p.name.lower(), pat.lower())
        mix = [p for p in files if any(match(p, m) for m in mix_patterns)]
        bass = [p for p in files if p not in mix and match(p, bass_pattern)]
        others = [p for p in files if p not in mix and p not in bass]
        group = song_dir.name
        build_song(song_dir.name, group, assign_split(group, valid_share), bass, others,
                   mix[0] if mix else None, result, song_dir)
    return result


def index_dataset(root: str | Path, fmt: str, bass_pattern: str = "*bass*", valid_share: float = 0.1) -> IndexResult:
    """Dispatch to the indexer for ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "musdb":
        return index_musdb(root, valid_share)
    if fmt == "slakh":
        return index_slakh(root, valid_share)
    if fmt == "moisesdb":
        return index_moisesdb(root, valid_share)
    if fmt == "stems":
        return index_stems(root, bass_pattern=bass_pattern, valid_share=valid_share)
    raise ValueError(f"unknown dataset format {fmt!r}; expected one of {', '.join(FORMATS)}")
