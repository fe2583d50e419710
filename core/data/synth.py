"""Synthetic multitrack songs: MMA arrangements of generated chord progressions, one
FluidSynth render per stem (recipe v4: some stems from groundbass's own synth,
:mod:`.subsynth`, and the drums from recorded Hydrogen kits, :mod:`.drumkits`).

Layout written by :func:`synthesize`::

    OUT/manifest.jsonl
    OUT/song00000/stems/bass.wav, drums.wav, piano-1.wav, ...   (mono, same length)
    OUT/song00000/bass.mid      the bass part (program rewritten to the song's bass program)
    OUT/song00000/chords.json   [{"start": s, "end": s, "chord": "Am7", "root": 9, "pitch_classes": [...]}]
    OUT/song00000/song.json     groove, key, tempo, soundfont, bass program, seed; written last
                                (v4 also: synth_stems {stem: family, bank index, preset} and drum_kit)

A song is complete when its ``song.json`` exists (it is renamed into place after all other
files); a rerun skips complete songs and redoes the rest. Each song's choices depend only
on (seed, song index), so a run is deterministic for a seed whatever the worker count.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Sequence

import mido
import numpy as np
import soundfile as sf

from ..atomic import atomic_path, write_text_atomic
from .chords import Progression, make_progression, parse_chord
from .drumkits import DEFAULT_ROOT as DRUMKIT_ROOT
from .drumkits import holdout_kits as choose_holdout_kits
from .drumkits import load_kit, render_drums, usable_kits
from .manifest import Song, write_manifest
from .midi_tracks import StemMidi, bar_starts, humanize, note_count, set_program, split_stems
from .mma import GROOVES, GROOVES_BY_NAME, Groove, mma_source, run_mma
from .render import default_soundfonts, fit_length, render_midi
from .splits import group_fraction
from .subsynth import BANK_SIZE, bank_preset, render_midi_stem

log = logging.getLogger(__name__)

SONG_FILE = "song.json"
RECIPES = ("v2", "v3", "v4")
V4_FIELDS = ("synth_share", "drumkit_share", "kits", "synth_presets")  # not in v2/v3 identities
DRUM_LEVEL_DB = (-40.0, -29.0)  # RMS of a kit-rendered drum stem (FluidSynth drums: about -42 to -30)
# GM families of the stems v4 may give to the synth: as a lead, as a pad, or either (chord parts).
LEAD_FAMILIES = ("lead", "reed", "pipe", "brass", "synthfx")
PAD_FAMILIES = ("pad", "strings", "ensemble", "organ")
CHORD_FAMILIES = ("piano", "chromatic", "guitar", "ethnic")
SILENT_PEAK = 10 ** (-60 / 20)
FORMAT_VERSION = 1

ProgressFn = Callable[[int, int, str, str], None]


@dataclass(frozen=True)
class SongPlan:
    """Everything that decides one synthetic song; a pure function of (seed, index)."""

    index: int
    song: str
    seed: int
    seconds: float
    sample_rate: int
    groove: str
    beats: int
    tempo: int
    bars: int
    key: str
    template: str
    chords: tuple[str, ...]
    soundfont: str
    bass_program: int
    mma_seed: int
    split: str
    recipe: str = "v2"  # "v3": extended harmony, a soundfont per stem, humanised timing and velocity
    stem_seed: int = 0  # v3/v4: draws each non-bass stem's soundfont and the humanisation
    stem_fonts: tuple[str, ...] = ()  # v3/v4: the soundfonts the other stems draw from
    synth_share: float = 0.0  # v4: chance that the bass, and each other melodic stem, is rendered by the synth
    drumkit_share: float = 0.0  # v4: chance that the drums are played on a Hydrogen kit
    kits: tuple[str, ...] = ()  # v4: the kit folders this song may draw (training or held-out kits)
    synth_presets: str = "train"  # v4: the synth's range table, "heldout" for test-split songs

    def identity(self) -> dict:
        """Return the fields that must match for a finished song folder to be reused
        (the v4 fields only in v4 plans, so v2/v3 identities are what they always were)."""
        fields = asdict(self)
        if self.recipe != "v4":
            for name in V4_FIELDS:
                del fields[name]
        return {"format": FORMAT_VERSION, **fields}


@dataclass
class SynthResult:
    """What a :func:`synthesize` run did: manifest path, counts, and failed songs with reasons."""

    manifest: Path
    written: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def holdout_grooves(seed: int, count: int, grooves: Sequence[Groove] = GROOVES) -> list[str]:
    """Return ``count`` groove names chosen deterministically from ``seed`` for the test split."""
    rng = np.random.default_rng([seed, 0x401D])
    idx = rng.choice(len(grooves), size=min(count, len(grooves)), replace=False)
    return sorted(grooves[int(i)].name for i in idx)


def plan_song(
    index: int,
    seed: int,
    seconds: float,
    soundfonts: Sequence[str | Path],
    sample_rate: int = 22050,
    grooves: Sequence[Groove] = GROOVES,
    test_grooves: Sequence[str] = (),
    valid_share: float = 0.1,
    recipe: str = "v2",
    synth_share: float = 0.35,
    drumkit_share: float = 0.5,
    kits: Sequence[str | Path] = (),
    holdout_kits: Sequence[str] = (),
) -> SongPlan:
    """Return the :class:`SongPlan` of song ``index``: groove, tempo (BPM) in its range, key,
    progression, soundfont, bass program (GM 32-39) and split.

    ``bars`` covers ``seconds`` at the drawn tempo. ``recipe`` "v3" draws from the extended
    progressions (modal, borrowed chords, key changes) and gives the song a ``stem_seed``
    for per-stem soundfonts and humanisation; "v2" plans are unchanged from before. "v4"
    draws exactly what v3 draws and adds ``synth_share``, ``drumkit_share`` and the kits the
    song may use: of ``kits`` (folders), those named in ``holdout_kits`` for a test-split
    song (all of them when none is held out), the others for train and valid songs.
    Test-split songs also take the synth's held-out presets.
    """
    if recipe not in RECIPES:
        raise ValueError(f"unknown synth recipe {recipe!r} (choose from {', '.join(RECIPES)})")
    extended = recipe in ("v3", "v4")
    rng = np.random.default_rng([seed, index])
    groove = grooves[int(rng.integers(len(grooves)))]
    tempo = int(rng.integers(groove.tempo_min, groove.tempo_max + 1))
    bars = max(2, math.ceil(seconds / (groove.beats * 60.0 / tempo)))
    jazzy = any(w in groove.name.lower() for w in ("jazz", "swing", "bebop", "evans"))
    prog: Progression = make_progression(rng, bars, sevenths=True if jazzy else None, extended=extended)
    soundfont = str(soundfonts[int(rng.integers(len(soundfonts)))])
    bass_program = int(rng.integers(32, 40))
    mma_seed = int(rng.integers(1, 2**31 - 1))
    stem_seed = int(rng.integers(1, 2**31 - 1)) if extended else 0
    song = f"song{index:05d}"
    if groove.name in test_grooves:
        split = "test"
    else:
        split = "valid" if group_fraction(f"{seed}:{song}") < valid_share else "train"
    plan = SongPlan(index, song, seed, float(seconds), int(sample_rate), groove.name, groove.beats, tempo, bars,
                    prog.key, prog.template, tuple(c.name for c in prog.chords), soundfont, bass_program,
                    mma_seed, split, recipe, stem_seed,
                    tuple(str(f) for f in soundfonts) if extended else ())
    if recipe != "v4":
        return plan
    test = split == "test"
    held = [str(k) for k in kits if Path(k).name in holdout_kits]
    pool = (held or [str(k) for k in kits]) if test else [str(k) for k in kits if Path(k).name not in holdout_kits]
    return replace(plan, synth_share=float(synth_share), drumkit_share=float(drumkit_share), kits=tuple(pool),
                   synth_presets="heldout" if test else "train")


def _write_json_atomic(path: Path, obj) -> None:
    write_text_atomic(path, json.dumps(obj, indent=1))


def _write_wav_atomic(path: Path, audio: np.ndarray, sample_rate: int) -> None:
    with atomic_path(path, ".tmp.wav") as tmp:
        sf.write(str(tmp), audio, sample_rate, subtype="PCM_16", format="WAV")


def song_is_complete(song_dir: Path, plan: SongPlan) -> bool:
    """Return True when ``song_dir`` holds a finished song made from the same ``plan``."""
    try:
        meta = json.loads((song_dir / SONG_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if meta.get("plan") != json.loads(json.dumps(plan.identity())):
        return False
    files = [*meta.get("stems", []), "bass.mid", "chords.json"]
    return all((song_dir / f).is_file() for f in files)


def _chord_chart(plan: SongPlan, starts: list[float]) -> list[dict]:
    chart = []
    for i, name in enumerate(plan.chords):
        start, end = starts[i], min(starts[i + 1], plan.seconds)
        if start >= plan.seconds:
            break
        chord = parse_chord(name)
        chart.append({"start": round(start, 6), "end": round(end, 6), "chord": name,
                      "root": chord.root, "pitch_classes": chord.pitch_classes})
    return chart


def _synth_family(stem_name: str, rng: np.random.Generator) -> str | None:
    """The synth family a stem would be rendered as ("bass", "lead", "pad"), None for
    stems the synth never plays (drums, percussive and sound-effect programs)."""
    family = stem_name.rsplit("-", 1)[0]
    if family == "bass":
        return "bass"
    if family in LEAD_FAMILIES:
        return "lead"
    if family in PAD_FAMILIES:
        return "pad"
    if family in CHORD_FAMILIES:
        return ("lead", "pad")[int(rng.integers(2))]
    return None


def _render_kit(plan: SongPlan, stem: StemMidi, samples: int, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    kit = load_kit(plan.kits[int(rng.integers(len(plan.kits)))])
    level = float(rng.uniform(*DRUM_LEVEL_DB))
    audio = render_drums(stem.midi, kit, plan.sample_rate, samples, rng, level)
    return audio, {"renderer": "hydrogen", "kit": kit.name, "level_db": round(level, 3)}


def _render_synth(plan: SongPlan, stem: StemMidi, family: str, samples: int,
                  rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    index = int(rng.integers(BANK_SIZE))
    preset = bank_preset(plan.seed, family, index, heldout=plan.synth_presets == "heldout")
    audio = render_midi_stem(stem.midi, preset, plan.sample_rate, samples, seed=int(rng.integers(1, 2**31 - 1)))
    return audio, {"renderer": "subsynth", "family": family, "bank": index,
                   "timbre": f"subsynth:{plan.seed}:{preset.ranges}:{family}:{index}", "preset": preset.to_dict()}


def _render_v4(plan: SongPlan, stem: StemMidi, samples: int,
               rng: np.random.Generator) -> tuple[np.ndarray | None, dict | None]:
    """v4: the stem from a Hydrogen kit (drums, ``plan.drumkit_share``) or the synth (the
    bass and melodic stems, ``plan.synth_share``) as (mono audio, what made it); (None, None)
    leaves it to FluidSynth. Every draw comes from ``rng``, the song's v4 generator."""
    if stem.name == "drums":
        if plan.kits and rng.random() < plan.drumkit_share:
            return _render_kit(plan, stem, samples, rng)
        return None, None
    family = _synth_family(stem.name, rng)
    if family is not None and rng.random() < plan.synth_share:
        return _render_synth(plan, stem, family, samples, rng)
    return None, None


def make_song(plan: SongPlan, out_dir: str | Path) -> str:
    """Write one song folder for ``plan`` under ``out_dir``.

    Returns "skipped" when the folder was already complete, else "written". Raises
    ``RuntimeError`` subclasses (MMA / FluidSynth errors) or ``ValueError`` (no bass,
    silent bass, no other stem); the folder is then left without ``song.json``.
    """
    song_dir = Path(out_dir) / plan.song
    if song_is_complete(song_dir, plan):
        return "skipped"
    if song_dir.exists():
        shutil.rmtree(song_dir)
    work = song_dir / ".work"
    (song_dir / "stems").mkdir(parents=True)
    work.mkdir()

    groove = GROOVES_BY_NAME.get(plan.groove) or Groove(plan.groove, plan.beats, plan.tempo, plan.tempo)
    chord_objs = [parse_chord(name) for name in plan.chords]
    src = work / "song.mma"
    src.write_text(mma_source(groove, plan.tempo, chord_objs, plan.mma_seed), encoding="utf-8")
    full = mido.MidiFile(str(run_mma(src, work / "song.mid")))
    fonts = list(plan.stem_fonts or (plan.soundfont,))
    stem_rng = np.random.default_rng([plan.stem_seed, 0x57E5])
    per_stem = plan.recipe in ("v3", "v4")  # v4 is v3 plus the synth and the kits
    if per_stem:
        full = humanize(full, stem_rng)
    v4_rng = np.random.default_rng([plan.stem_seed, 0x404]) if plan.recipe == "v4" else None

    stems = split_stems(full)
    bass = [s for s in stems if s.is_bass]
    others = [s for s in stems if not s.is_bass]
    if not bass or note_count(bass[0].midi) == 0:
        raise ValueError(f"{src}: groove {plan.groove} produced no bass notes")
    if not others:
        raise ValueError(f"{src}: groove {plan.groove} produced no non-bass track")
    bass[0].midi = set_program(bass[0].midi, plan.bass_program)

    samples = int(round(plan.seconds * plan.sample_rate))
    rendered: dict[str, np.ndarray] = {}
    stem_font: dict[str, str] = {}
    made_by: dict[str, dict] = {}  # v4: stems not from FluidSynth
    for stem in [*bass, *others]:
        mid = work / f"{stem.name}.mid"
        stem.midi.save(str(mid))
        # v3: every non-bass stem draws its own soundfont (the bass keeps the plan's).
        font = plan.soundfont if stem.is_bass or not per_stem else fonts[int(stem_rng.integers(len(fonts)))]
        mono, source = _render_v4(plan, stem, samples, v4_rng) if v4_rng is not None else (None, None)
        if source is not None:
            made_by[stem.name] = source
        else:
            stem_font[stem.name] = Path(font).name
            audio = render_midi(mid, Path(font), work / f"{stem.name}.wav", plan.sample_rate,
                                reverb=not stem.is_bass)
            mono = fit_length(audio.mean(axis=1), samples).astype(np.float32)
        if float(np.max(np.abs(mono))) < SILENT_PEAK:
            if stem.is_bass:
                raise ValueError(f"{mid}: bass rendered silent with {source['renderer'] if source else plan.soundfont}")
            log.info("%s: %s rendered silent, left out", plan.song, stem.name)
            continue
        rendered[stem.name] = mono
    if len(rendered) < 2:
        raise ValueError(f"{src}: only the bass rendered audibly")

    peak = max(float(np.max(np.abs(a))) for a in rendered.values())
    scale = 0.99 / peak if peak > 0.99 else 1.0  # one factor for all stems keeps the balance
    stem_files = []
    for name, audio in rendered.items():
        rel = f"stems/{name}.wav"
        _write_wav_atomic(song_dir / rel, audio * scale, plan.sample_rate)
        stem_files.append(rel)

    with atomic_path(song_dir / "bass.mid") as tmp_mid:
        bass[0].midi.save(str(tmp_mid))
    _write_json_atomic(song_dir / "chords.json", _chord_chart(plan, bar_starts(full, plan.bars)))
    shutil.rmtree(work)
    meta = {
        "song": plan.song, "groove": plan.groove, "key": plan.key, "tempo": plan.tempo,
        "soundfont": Path(plan.soundfont).name, "bass_program": plan.bass_program, "seed": plan.seed,
        "split": plan.split, "sample_rate": plan.sample_rate, "samples": samples,
        "stems": stem_files, "bass": "stems/bass.wav", "gain_scale": scale, "plan": plan.identity(),
        "stem_soundfonts": {k: v for k, v in stem_font.items() if f"stems/{k}.wav" in stem_files},
    }
    if plan.recipe == "v4":
        kept = {k: v for k, v in made_by.items() if f"stems/{k}.wav" in stem_files}
        meta["synth_stems"] = {k: {n: x for n, x in v.items() if n != "renderer"}
                               for k, v in kept.items() if v["renderer"] == "subsynth"}
        meta["drum_kit"] = kept["drums"]["kit"] if "drums" in kept else None
    _write_json_atomic(song_dir / SONG_FILE, meta)  # last: marks the folder complete
    return "written"


def _song_from_folder(song_dir: Path) -> Song:
    meta = json.loads((song_dir / SONG_FILE).read_text(encoding="utf-8"))
    return Song(
        song=meta["song"], split=meta["split"], sample_rate=meta["sample_rate"], samples=meta["samples"],
        bass=[song_dir / meta["bass"]], others=[song_dir / s for s in meta["stems"] if s != meta["bass"]],
        group=meta["groove"], mixture=None, chords=song_dir / "chords.json", bass_midi=song_dir / "bass.mid",
        # the bass's sound (soundfont and GM program, or v4's synth preset): songs sharing it share a bass timbre
        extra={"timbre": meta.get("synth_stems", {}).get("bass", {}).get("timbre")
               or f"{meta['soundfont']}:{meta['bass_program']}"},
    )


def _make_song_safe(plan: SongPlan, out_dir: str) -> tuple[str, str, str]:
    try:
        return plan.song, make_song(plan, out_dir), ""
    except Exception as e:  # reported per song; one bad song never stops the run
        return plan.song, "failed", f"{type(e).__name__}: {e}".splitlines()[0]


def _v4_kits(root: str | Path, holdout: int | Sequence[str]) -> tuple[list[str], list[str]]:
    """The usable Hydrogen kits under ``root`` and the names of the held-out ones."""
    kits = [str(p) for p in usable_kits(root)]
    if not kits:
        raise FileNotFoundError(f"{root}: no Hydrogen drum kit found (Debian: apt-get install hydrogen-drumkits), "
                                f"or make v4 songs with drumkit_share 0")
    held = choose_holdout_kits(kits, holdout)
    if len(held) == len(kits):
        raise ValueError(f"{root}: every drum kit is held out ({', '.join(held)}); training songs would have none")
    log.info("drum kits: %d for training, held out: %s", len(kits) - len(held), ", ".join(held) or "none")
    return kits, held


def synthesize(
    out_dir: str | Path,
    songs: int,
    seconds: float = 30.0,
    seed: int = 0,
    workers: int | None = None,
    progress: ProgressFn | None = None,
    soundfonts: Sequence[str | Path] | None = None,
    sample_rate: int = 22050,
    holdout: int | Sequence[str] = 3,
    valid_share: float = 0.1,
    recipe: str = "v2",
    grooves: Sequence[str] | None = None,
    synth_share: float = 0.35,
    drumkit_share: float = 0.5,
    holdout_kits: int | Sequence[str] = 1,
    drumkit_root: str | Path = DRUMKIT_ROOT,
) -> SynthResult:
    """Make ``songs`` synthetic songs of ``seconds`` seconds under ``out_dir`` and write
    ``out_dir/manifest.jsonl`` (group = groove name).

    ``holdout`` is a number of grooves chosen from ``seed`` or a list of groove names whose
    songs all go to the "test" split. ``progress(done, total, song_id, status)`` is called
    after each song (status "written", "skipped" or "failed"). ``workers`` processes render
    in parallel (default ``os.cpu_count()``). ``recipe`` is "v2", "v3" or "v4" (see
    :func:`plan_song`); ``grooves`` restricts the songs to those groove names (e.g. an
    out-of-domain set made only of held-out grooves). Returns a :class:`SynthResult`.

    v4 only: ``synth_share`` is the chance that a song's bass, and each of its other melodic
    stems, is rendered by :mod:`.subsynth`; ``drumkit_share`` the chance that its drums are
    played on one of the Hydrogen kits under ``drumkit_root`` (raises FileNotFoundError
    when there is none). ``holdout_kits`` (a count of alphabetically last kits, the same for
    every seed, or kit folder names) are the kits only test-split songs use.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fonts = [str(p) for p in (soundfonts or default_soundfonts())]
    if not fonts:
        raise FileNotFoundError("no soundfont found; install fluid-soundfont-gm or pass soundfonts=")
    for f in fonts:
        if not Path(f).is_file():
            raise FileNotFoundError(f"{f}: soundfont not found")
    test_grooves = holdout_grooves(seed, holdout) if isinstance(holdout, int) else list(holdout)
    unknown = [g for g in [*test_grooves, *(grooves or [])] if g not in GROOVES_BY_NAME]
    if unknown:
        raise ValueError(f"unknown groove(s): {', '.join(unknown)}")
    pool = [GROOVES_BY_NAME[g] for g in grooves] if grooves else GROOVES
    kits, held = _v4_kits(drumkit_root, holdout_kits) if recipe == "v4" and drumkit_share > 0 else ([], [])
    plans = [plan_song(i, seed, seconds, fonts, sample_rate, pool, test_grooves, valid_share, recipe,
                       synth_share, drumkit_share, kits, held)
             for i in range(songs)]
    result = SynthResult(manifest=out_dir / "manifest.jsonl")
    workers = max(1, min(workers or os.cpu_count() or 1, len(plans) or 1))

    def record(done: int, song: str, status: str, error: str) -> None:
        if status == "written":
            result.written.append(song)
        elif status == "skipped":
            result.skipped.append(song)
        else:
            result.failed.append((song, error))
            log.warning("%s failed: %s", song, error)
        if progress is not None:
            progress(done, len(plans), song, status)

    if workers == 1:
        for done, plan in enumerate(plans, start=1):
            record(done, *_make_song_safe(plan, str(out_dir)))
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(_make_song_safe, p, str(out_dir)) for p in plans]
            for done, fut in enumerate(as_completed(futures), start=1):
                record(done, *fut.result())

    failed = {s for s, _ in result.failed}
    songs_ok = [_song_from_folder(out_dir / p.song) for p in plans if p.song not in failed]
    write_manifest(result.manifest, songs_ok)
    return result
