"""``groundbass data``: index stem datasets into manifests and make synthetic songs."""

from __future__ import annotations

import os
import sys

import click

from groundbass.core.data.index import FORMATS, index_dataset
from groundbass.core.data.manifest import write_manifest


@click.group("data")
def data() -> None:
    """Datasets: index stems into a manifest, synthesize multitrack songs."""


@data.command("index")
@click.argument("root", type=click.Path(exists=True, file_okay=False))
@click.option("--format", "fmt", type=click.Choice(FORMATS), required=True, help="Dataset layout.")
@click.option("--out", "out", type=click.Path(dir_okay=False), required=True, help="Manifest to write (JSONL).")
@click.option("--bass-pattern", default="*bass*", show_default=True,
              help="Filename glob marking bass stems (--format stems).")
@click.option("--valid-share", type=click.FloatRange(0, 1), default=0.1, show_default=True,
              help="Share of groups put in the valid split when the format has no split.")
def index_cmd(root: str, fmt: str, out: str, bass_pattern: str, valid_share: float) -> None:
    """Index the dataset in ROOT and write a manifest; report every file left out."""
    result = index_dataset(root, fmt, bass_pattern=bass_pattern, valid_share=valid_share)
    for problem in result.problems:
        click.echo(f"skipped {problem}", err=True)
    if not result.songs:
        click.echo(f"error: no usable song found in {root} (format {fmt})", err=True)
        sys.exit(1)
    write_manifest(out, result.songs)
    splits = {s: sum(1 for x in result.songs if x.split == s) for s in ("train", "valid", "test")}
    click.echo(f"indexed {len(result.songs)} songs ({', '.join(f'{k} {v}' for k, v in splits.items())}), "
               f"{len(result.problems)} problems -> {out}")


def _count_or_names(text: str) -> int | list[str]:
    """A count ("3") or comma-separated names ("A,B")."""
    return int(text) if text.strip().isdigit() else [n.strip() for n in text.split(",") if n.strip()]


@data.command("synth")
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--songs", type=click.IntRange(min=1), default=100, show_default=True, help="Number of songs.")
@click.option("--seconds", type=click.FloatRange(min=1.0), default=30.0, show_default=True, help="Song length (s).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed; a run is deterministic for a seed.")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Render processes [default: CPU count].")
@click.option("--soundfonts", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Soundfont (.sf2/.sf3); repeat for several [default: the three Debian GM fonts].")
@click.option("--sample-rate", type=int, default=22050, show_default=True, help="Stem rate (Hz).")
@click.option("--holdout-grooves", default="3", show_default=True,
              help="Grooves only in the test split: a count chosen from the seed, or comma-separated names.")
@click.option("--valid-share", type=click.FloatRange(0, 1), default=0.1, show_default=True)
@click.option("--recipe", type=click.Choice(["v2", "v3", "v4"]), default="v2", show_default=True,
              help="v3: modal/borrowed/key-change progressions, a soundfont per stem, humanised timing and velocity. "
                   "v4: v3 plus stems from groundbass's own subtractive synth and drums on recorded Hydrogen kits "
                   "(Debian package hydrogen-drumkits).")
@click.option("--grooves", default="", help="Comma-separated groove names: make songs of these grooves only.")
@click.option("--synth-share", type=click.FloatRange(0, 1), default=0.35, show_default=True,
              help="v4: chance that a song's bass, and each of its other melodic stems, is played by the synth "
                   "instead of FluidSynth (preset drawn per stem; test-split songs use the held-out presets).")
@click.option("--drumkit-share", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="v4: chance that a song's drums are played on a random Hydrogen kit instead of FluidSynth.")
@click.option("--holdout-kits", default="1", show_default=True,
              help="v4: Hydrogen kits only test-split songs use: a count of alphabetically last kits (the same for "
                   "every seed), or comma-separated kit folder names.")
def synth_cmd(out: str, songs: int, seconds: float, seed: int, workers: int | None, soundfonts: tuple[str, ...],
              sample_rate: int, holdout_grooves: str, valid_share: float, recipe: str, grooves: str,
              synth_share: float, drumkit_share: float, holdout_kits: str) -> None:
    """Make synthetic multitrack songs in OUT (MMA + FluidSynth; v4 also a synth and drum kits); finished
    songs are kept on rerun."""
    from tqdm import tqdm

    from groundbass.core.data.synth import synthesize

    holdout = _count_or_names(holdout_grooves)
    with tqdm(total=songs, unit="song", desc="synth") as bar:
        def progress(done: int, total: int, song: str, status: str) -> None:
            bar.update(1)
            bar.set_postfix_str(f"{song} {status}")

        try:
            result = synthesize(out, songs=songs, seconds=seconds, seed=seed, workers=workers or os.cpu_count(),
                                progress=progress, soundfonts=list(soundfonts) or None, sample_rate=sample_rate,
                                holdout=holdout, valid_share=valid_share, recipe=recipe,
                                grooves=[g.strip() for g in grooves.split(",") if g.strip()] or None,
                                synth_share=synth_share, drumkit_share=drumkit_share,
                                holdout_kits=_count_or_names(holdout_kits))
        except (ValueError, FileNotFoundError) as e:
            raise click.ClickException(str(e)) from None
    for song, error in result.failed:
        click.echo(f"failed {song}: {error}", err=True)
    click.echo(f"{len(result.written)} written, {len(result.skipped)} already done, {len(result.failed)} failed "
               f"-> {result.manifest}")
    if not result.written and not result.skipped:
        sys.exit(1)
