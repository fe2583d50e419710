"""``groundbass generate`` and ``groundbass batch``: parse options, load the model once, call
:func:`groundbass.bridge.render.render_file` / :mod:`groundbass.bridge.batch`, print progress
and a summary. Errors are one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import stat
import sys
from pathlib import Path

import click

from groundbass.core.checkpoint import CheckpointError
from groundbass.core.params import CROSSFADE_DEFAULT

from .batch import (
    BatchError,
    BatchSummary,
    Job,
    find_audio_files,
    load_generator,
    parse_shard,
    plan_jobs,
    prepare_output_dir,
    run_batch,
    select_shard,
)
from .cli_output import echo, shown
from .cli_params import number_option as _number_option
from .cli_params import edit_method_option, sampler_option
from .paths import path_problem
from .render import (
    RenderCancelled,
    RenderError,
    RenderParams,
    check_output_location,
    check_params,
    output_paths,
    render_file,
    resolve_params,
)

__all__ = ["generate", "batch"]


def _fail(message: str, code: int = 1) -> None:
    echo(f"error: {message}", err=True)
    sys.exit(code)


def _render_options(f):
    """The options shared by ``generate`` and ``batch``; numeric ranges come from core.params.

    Paths are ``click.Path(readable=False)``: click's own readability check would turn an
    unreadable file into a multi-line usage error; the render reports it in one line instead."""
    opts = [
        click.option("--model", default="default", show_default=True,
                     help="Bundled model name or checkpoint path."),
        click.option("--style", type=click.Path(dir_okay=False, readable=False),
                     help="Reference bass audio: the bass takes on its timbre."),
        _number_option("--grounding", "grounding"),
        _number_option("--style-cfg", "style_cfg"),
        _number_option("--harmony-cfg", "harmony_cfg"),
        _number_option("--steps", "steps"),
        sampler_option(),
        _number_option("--cfg", "cfg"),
        _number_option("--phi", "phi"),
        _number_option("--seed", "seed", "; -1 = random"),
        _number_option("--variations", "variations", "; outputs name.wav, name.v2.wav, ...", default=1,
                       show_default=True),
        click.option("--device", type=click.Choice(["auto", "cpu", "cuda", "mps"]), default="auto",
                     show_default=True),
        click.option("--fx", default="none", show_default=True,
                     help="Post-fx preset (none, clean, warm, punchy, sub) or a chain.json file."),
        _number_option("--loudness", "loudness", ", e.g. -14"),
        click.option("--match-mix", is_flag=True, help="Set the bass level relative to the mix's loudness."),
        click.option("--format", "fmt", type=click.Choice(["wav", "flac"]), help="Output format (default: input's)."),
        click.option("--bit-depth", type=click.Choice(["16", "24", "32f"]), help="Default: the input's."),
        _number_option("--sample-rate", "sample_rate"),
        click.option("--midi", is_flag=True, help="Also write the bass as a .mid file."),
        click.option("--keep", type=click.Path(dir_okay=False, readable=False),
                     help="An existing bass to edit: with --region, regenerate that part; with --continue, extend it."),
        click.option("--region", help="START:END to regenerate: seconds, or bars BAR[.BEAT] with --tempo (e.g. 5:9)."),
        click.option("--continue", "continue_", is_flag=True,
                     help="Continue the --keep bass (shorter than the mix) to the end of the mix."),
        click.option("--loop", is_flag=True, help="Make the bass a seamless loop of the whole input."),
        _number_option("--crossfade", "crossfade", default=CROSSFADE_DEFAULT),
        edit_method_option(default="replace", show_default=True),
        click.option("--transition-to", type=click.Path(dir_okay=False, readable=False),
                     help="A reference bass whose sound the bass moves to over --span (from --keep or --style)."),
        click.option("--span", help="START:END of a transition: seconds, or bars BAR[.BEAT] with --tempo. "
                                    "With --keep alone: keep the bass before START, a new one after."),
        _number_option("--tempo", "tempo"),
        click.option("--quantize", help="Quantise MIDI notes to a grid, e.g. 1/16."),
        click.option("--time-signature", help="N/D for the MIDI file and bar positions with --tempo (default 4/4)."),
        click.option("--overwrite", is_flag=True, help="Replace existing outputs."),
        click.option("--dry-run", is_flag=True, help="Show what would be done; write nothing."),
        click.option("--quiet/--verbose", default=None, help="Errors only / detailed log."),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def _params(kw: dict) -> RenderParams:
    return RenderParams(style=kw["style"], grounding=kw["grounding"], style_cfg=kw["style_cfg"],
                        harmony_cfg=kw["harmony_cfg"],
                        steps=kw["steps"], sampler=kw["sampler"], cfg=kw["cfg"],
                        phi=kw["phi"], seed=kw["seed"], variations=kw["variations"], fx=kw["fx"],
                        loudness=kw["loudness"], match_mix=kw["match_mix"], format=kw["fmt"],
                        bit_depth=kw["bit_depth"], sample_rate=kw["sample_rate"], midi=kw["midi"],
                        tempo=kw["tempo"], quantize=kw["quantize"], time_signature=kw["time_signature"], keep=kw["keep"], region=kw["region"],
                        continue_=kw["continue_"], loop=kw["loop"], crossfade=kw["crossfade"],
                        edit_method=kw["edit_method"],
                        transition_to=kw["transition_to"], span=kw["span"])


def _setup_logging(quiet: bool | None) -> None:
    level = logging.ERROR if quiet else (logging.INFO if quiet is False else logging.WARNING)
    logging.getLogger("groundbass").setLevel(level)


def _load(model: str, device: str):
    try:
        return load_generator(model, device)
    except (CheckpointError, ValueError, OSError) as exc:
        _fail(str(exc).splitlines()[0])


def _check(params: RenderParams) -> None:
    try:
        check_params(params)
    except RenderError as exc:
        _fail(str(exc))


def _check_keep_dir(keep_dir: Path) -> None:
    """A missing, non-folder or unreadable ``--keep-dir`` is one line (click's own checks
    would make it a multi-line usage error)."""
    try:
        st = os.stat(keep_dir)
    except (FileNotFoundError, NotADirectoryError):
        _fail(f"{keep_dir}: the --keep-dir folder does not exist")
    except OSError as exc:  # a symlink loop, a name too long, a parent it may not search
        _fail(f"{keep_dir}: cannot read the --keep-dir folder ({path_problem(exc)})")
    if not stat.S_ISDIR(st.st_mode):
        _fail(f"{keep_dir}: the --keep-dir path is not a folder")
    if not os.access(keep_dir, os.R_OK | os.X_OK):
        _fail(f"{keep_dir}: cannot read the --keep-dir folder (permission denied)")


class _Bars:
    """tqdm bars on stderr: one over files, one over the current file's stages with ETA."""

    def __init__(self, total_files: int, quiet: bool) -> None:
        from tqdm import tqdm

        self.quiet = quiet
        self.files = None if quiet or total_files <= 1 else tqdm(total=total_files, unit="file", desc="files",
                                                                  position=0, file=sys.stderr, leave=True)
        self.tqdm = tqdm
        self.bar = None

    def file_started(self, job: Job, index: int, total: int) -> None:
        if self.quiet:
            return
        self._close_bar()
        self.name = Path(job.rel).name[:30]
        self.bar = self.tqdm(total=100, desc=self.name, unit="%", position=1 if self.files else 0,
                             file=sys.stderr, leave=False,
                             bar_format="{desc} {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}]")

    def file_progress(self, stage: str, fraction: float) -> None:
        if self.bar is not None:
            self.bar.set_description_str(f"{self.name} {stage:<9}", refresh=False)
            self.bar.update(max(0, int(fraction * 100) - self.bar.n))

    def file_finished(self, job: Job, status: str, message: str) -> None:
        self._close_bar()
        if status == "failed":
            self.write(f"error: {message}", err=True)
        elif not self.quiet:
            self.write(f"{status}: {job.rel}" + (f" -> {message}" if status == "done" else ""))
        if self.files is not None:
            self.files.update(1)

    def write(self, line: str, err: bool = False) -> None:
        if self.files is not None or self.bar is not None:
            try:
                self.tqdm.write(line, file=sys.stderr if err else sys.stdout)
            except UnicodeEncodeError:  # a non-UTF-8 file name on a strict stream
                self.tqdm.write(shown(line), file=sys.stderr if err else sys.stdout)
        else:
            echo(line, err=err)

    def _close_bar(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def close(self) -> None:
        self._close_bar()
        if self.files is not None:
            self.files.close()


def _summary_table(s: BatchSummary) -> str:
    rows = [("done", str(s.done)), ("skipped", str(s.skipped)), ("failed", str(s.failed)),
            ("audio", f"{s.audio_s / 60:.2f} min"), ("wall time", f"{s.wall_s:.1f} s"),
            ("real-time factor", f"{s.real_time_factor:.3f} (processing s per audio s)")]
    if s.interrupted:
        rows.append(("interrupted", "yes (rerun the same command to resume)"))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


@click.command()
@click.argument("mix", type=click.Path(path_type=Path, readable=False))
@click.option("-o", "--output", "out", type=click.Path(path_type=Path, readable=False),
              help="Output file (default: MIX's folder, NAME.bass.wav).")
@_render_options
def generate(mix: Path, out: Path | None, model: str, device: str, overwrite: bool, dry_run: bool,
             quiet: bool | None, **kw) -> None:
    """Generate a bass stem for one MIX file."""
    _setup_logging(quiet)
    params = _params(kw)
    _check(params)
    if out is None:
        ext = params.format or (mix.suffix.lower().lstrip(".") if mix.suffix.lower() in (".wav", ".flac") else "wav")
        out = mix.with_name(f"{mix.stem}.bass.{ext}")
    elif os.path.isdir(out):  # False where out cannot be looked at (a loop, too long): reported below
        ext = params.format or (mix.suffix.lower().lstrip(".") if mix.suffix.lower() in (".wav", ".flac") else "wav")
        out = out / f"{mix.stem}.bass.{ext}"
    if dry_run:
        echo(f"would generate: {mix} -> {out}")
        return
    try:  # before the (slow) model load: the checks render_file makes first, creating nothing
        check_output_location(mix, output_paths(out, params), overwrite=overwrite)
    except RenderError as exc:
        _fail(str(exc))
    gen, _ = _load(model, device)
    bars = _Bars(1, bool(quiet))
    job = Job(mix, mix.name, out, params)
    bars.file_started(job, 1, 1)
    try:
        result = render_file(gen, mix, out, params, overwrite=overwrite, progress=bars.file_progress)
    except RenderError as exc:
        bars.close()
        _fail(str(exc))
    except (KeyboardInterrupt, RenderCancelled):
        bars.close()
        _fail("interrupted; nothing written", 130)
    except Exception as exc:  # noqa: BLE001 - never a traceback
        bars.close()
        _fail(f"{mix}: {type(exc).__name__}: {exc}".splitlines()[0])
    bars.close()
    if not quiet:
        for p, seed in zip(result.outputs, result.seeds):
            echo(f"{p}  (seed {seed})")
        for p in result.midi:
            echo(str(p))


@click.command()
@click.argument("input_dir", type=click.Path(path_type=Path, readable=False))
@click.argument("output_dir", type=click.Path(path_type=Path, readable=False))
@click.option("--glob", "pattern", help="Only files matching this pattern (e.g. '*.wav').")
@click.option("--recursive/--no-recursive", default=True, show_default=True)
@click.option("--shard", help="I/N: process every N-th file starting at I (0-based).")
@click.option("--batch-size", type=click.IntRange(min=1), default=1, show_default=True,
              help="Files rendered at once on a GPU, each on its own CUDA stream (CPU runs go file by file).")
@click.option("--keep-dir", type=click.Path(readable=False, path_type=Path),  # checked in _check_keep_dir
              help="Edit existing basses: the bass of INPUT/a/song.wav is KEEP_DIR/a/song.bass.wav "
                   "(an earlier batch's output), with --region, --continue or --span.")
@_render_options
def batch(input_dir: Path, output_dir: Path, pattern: str | None, recursive: bool, shard: str | None,
          batch_size: int, keep_dir: Path | None, model: str, device: str, overwrite: bool, dry_run: bool,
          quiet: bool | None, **kw) -> None:
    """Generate a bass stem for every audio file below INPUT_DIR into OUTPUT_DIR
    (song.wav -> song.bass.wav, same subfolders), with a resumable manifest.jsonl."""
    _setup_logging(quiet)
    if kw["keep"]:
        _fail("batch takes the existing basses from a folder: use --keep-dir DIR, not --keep")
    params = _params(kw)
    _check(dataclasses.replace(params, keep=str(keep_dir)) if keep_dir else params)
    if keep_dir is not None:
        _check_keep_dir(keep_dir)
        if Path(keep_dir).resolve() == Path(output_dir).resolve():
            _fail(f"{output_dir}: the output folder is the --keep-dir folder; write the edits to another folder")
    try:
        index, count = parse_shard(shard) if shard else (0, 1)
        if Path(output_dir).resolve() == Path(input_dir).resolve():
            raise BatchError(f"{output_dir}: the output folder is the input folder; choose another "
                             "(outputs and manifest would mix with the mixes)")
        files = find_audio_files(input_dir, glob=pattern, recursive=recursive, exclude=output_dir)
        if not files:
            raise BatchError(f"{input_dir}: no audio files found (wav, flac, aiff, ogg, mp3)"
                             + (f" matching {pattern!r}" if pattern else ""))
        files = select_shard(files, index, count)
        if not dry_run:
            prepare_output_dir(output_dir)
    except BatchError as exc:
        _fail(str(exc))
    gen, info = _load(model, device)
    # On a GPU, N files render at once on their own CUDA streams; on CPU one by one is fastest.
    concurrency = batch_size if gen.device.type == "cuda" else 1
    jobs = plan_jobs(files, input_dir, output_dir, resolve_params(gen, params), info, overwrite=overwrite,
                     keep_dir=keep_dir)
    if dry_run:
        for job in jobs:
            what = {"generate": "would generate", "skip": "would skip", "fail": "would fail"}[job.action]
            echo(f"{what}: {job.rel} -> {job.out_path}" + (f" ({job.reason})" if job.reason else ""))
        return
    bars = _Bars(len(jobs), bool(quiet))
    try:
        summary = run_batch(gen, jobs, input_dir, output_dir, info, reporter=bars, concurrency=concurrency)
    except OSError as exc:  # the manifest itself could not be written (disk full, removed folder)
        bars.close()
        _fail(f"{output_dir / 'manifest.jsonl'}: cannot write ({exc.strerror or exc})")
    finally:
        bars.close()
    if not quiet or summary.failed or summary.interrupted:
        click.echo(_summary_table(summary), err=bool(quiet))
    sys.exit(summary.exit_code)
