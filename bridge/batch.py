"""Batch processing of a folder of mixes: finding files, naming outputs, the resumable
``manifest.jsonl``, shards, and the run loop with its summary.

Output naming mirrors the input tree: ``INPUT/a/song.wav`` -> ``OUTPUT/a/song.bass.wav``
(``song.bass.v2.wav`` ... for variations, ``song.bass.mid`` for MIDI). The output format is
``params.format``, else the input's when it is wav or flac, else wav.

``manifest.jsonl`` gets one JSON line per input file and attempt: a ``started`` line before
rendering and a ``done`` or ``failed`` line after. A rerun skips a file whose latest line is
``done`` with the same input SHA-256, the same parameter key (every parameter, the style
file's hash, the model's id and hash) and outputs still present at their recorded sizes.
Outputs recorded in the manifest belong to groundbass and are regenerated in place when the
parameters change or a run was interrupted; any other existing file at an output path is
never overwritten without ``overwrite``.

On CPU files are processed one by one: that is the fastest order (torch already uses every
core inside one file). On a GPU ``run_batch(concurrency=N)`` (``--batch-size N``) renders N
files at once, each on a worker thread with its own CUDA stream, so one file's reading,
resampling, post-fx and writing overlap another's diffusion. Files are not stacked into one
tensor: padding songs of different lengths to one length would change the U-Net's
normalisation and attention statistics, so a batched file would no longer match the same
file rendered alone; with streams every output is identical to a one-by-one run.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fnmatch
import hashlib
import json
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Protocol

from groundbass.core.checkpoint import groundbass_version, resolve_model
from groundbass.core.pipeline import BassGenerator

from .audio_files import AUDIO_EXTENSIONS, AudioFileError, sha256_file
from .render import RenderCancelled, RenderError, RenderParams, midi_path_for, render_file, variation_paths

__all__ = ["BatchError", "Job", "BatchSummary", "BatchReporter", "find_audio_files", "output_path_for",
           "parse_shard", "select_shard", "Manifest", "params_key", "plan_jobs", "run_batch", "load_generator",
           "ModelInfo", "MANIFEST_NAME", "prepare_output_dir", "kept_bass_for"]

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.jsonl"


class BatchError(ValueError):
    """A batch that cannot start (no audio, bad shard, unusable output folder): one line."""


@dataclass
class ModelInfo:
    """Identity of the loaded model for manifests: id, file SHA-256, groundbass version, device."""

    model_id: str
    model_sha256: str
    version: str
    device: str


def load_generator(model: str, device: str = "auto") -> tuple[BassGenerator, ModelInfo]:
    """Load a generator once for a run: ``model`` is ``"default"`` (the bundled model) or a
    checkpoint path. Raises CheckpointError or ValueError (bad device) with a one-line message."""
    path = resolve_model(model)
    gen = BassGenerator.from_pretrained(path, device=device)
    return gen, ModelInfo(gen.model_id, sha256_file(path), groundbass_version(), str(gen.device))


def find_audio_files(input_dir: Path, *, glob: str | None = None, recursive: bool = True,
                     exclude: Path | None = None) -> list[Path]:
    """Audio files below ``input_dir``, sorted: by default every wav/flac/aiff/ogg/mp3 file;
    with ``glob`` every file whose name (or path relative to ``input_dir``) matches it.
    Hidden files and anything under ``exclude`` (the output folder) are left out."""
    input_dir = Path(input_dir)
    if not input_dir.is_dir():
        raise BatchError(f"{input_dir}: not a directory")
    if not os.access(input_dir, os.R_OK | os.X_OK):  # else rglob finds nothing: "no audio files"
        raise BatchError(f"{input_dir}: cannot read the input folder (permission denied)")
    walker = input_dir.rglob("*") if recursive else input_dir.glob("*")
    ex = exclude.resolve() if exclude is not None else None
    files = []
    for p in walker:
        rel = p.relative_to(input_dir)
        if any(part.startswith(".") for part in rel.parts) or not p.is_file():
            continue
        if ex is not None and (p.resolve() == ex or ex in p.resolve().parents):
            continue
        if glob:
            if not (fnmatch.fnmatch(p.name, glob) or fnmatch.fnmatch(rel.as_posix(), glob)):
                continue
        elif p.suffix.lower() not in AUDIO_EXTENSIONS:
            continue
        files.append(p)
    return sorted(files, key=lambda q: q.relative_to(input_dir).as_posix())


def output_path_for(input_dir: Path, output_dir: Path, file: Path, fmt: str | None) -> Path:
    """``INPUT/a/song.wav`` -> ``OUTPUT/a/song.bass.wav`` (extension ``fmt``, else the input's
    when wav or flac, else wav)."""
    rel = Path(file).relative_to(input_dir)
    ext = fmt or (rel.suffix.lower().lstrip(".") if rel.suffix.lower() in (".wav", ".flac") else "wav")
    return Path(output_dir) / rel.parent / f"{rel.stem}.bass.{ext}"


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/N"`` -> (I, N) with 0 <= I < N. Raises BatchError."""
    try:
        i, n = (int(x) for x in str(text).split("/"))
    except ValueError:
        raise BatchError(f"shard must look like I/N (e.g. 0/4), got {text!r}") from None
    if n < 1 or not 0 <= i < n:
        raise BatchError(f"shard {text!r}: need 0 <= I < N")
    return i, n


def select_shard(files: list[Path], index: int, count: int) -> list[Path]:
    """Every ``count``-th file starting at ``index`` (of the sorted list)."""
    return files[index::count]


def params_key(params: RenderParams, info: ModelInfo, style_sha256: str | None,
               files_sha256: dict[str, str | None] | None = None) -> str:
    """Hex digest identifying everything that decides an output: the resolved parameters,
    the style file's content (and any other input file's, ``files_sha256``: the kept bass,
    the transition reference) and the model (id and file hash)."""
    record = {"params": asdict(params), "style_sha256": style_sha256, "model_id": info.model_id,
              "model_sha256": info.model_sha256}
    if files_sha256:
        record["files_sha256"] = files_sha256
    blob = json.dumps(record, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


class Manifest:
    """``OUTPUT_DIR/manifest.jsonl``: append-only JSON lines, one per input and attempt."""

    def __init__(self, output_dir: Path) -> None:
        self.path = Path(output_dir) / MANIFEST_NAME

    def latest(self) -> dict[str, dict]:
        """The latest entry per input (keyed by the input path relative to INPUT_DIR).
        Lines that do not parse (a line cut by a crash) are ignored."""
        out: dict[str, dict] = {}
        if not self.path.exists():
            return out
        with open(self.path, encoding="utf-8", errors="replace") as f:
            for line in f:
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(entry, dict) and "input" in entry:
                    out[entry["input"]] = entry
        return out

    def owned_outputs(self) -> set[str]:
        """Every output path (relative to OUTPUT_DIR) any entry has claimed."""
        owned: set[str] = set()
        for entry in self.latest().values():
            owned.update(entry.get("outputs", []))
            owned.update(entry.get("midi", []))
        return owned

    def append(self, entry: dict) -> None:
        """Append one line with a single write, flushed and fsynced (whole lines even if the
        process is killed right after)."""
        data = (json.dumps(entry, sort_keys=True) + "\n").encode()
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            end = os.lseek(fd, 0, os.SEEK_END)
            if end > 0 and os.pread(fd, 1, end - 1) != b"\n":
                data = b"\n" + data  # a line cut by a crash stays on its own (and is ignored)
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)


@dataclass
class Job:
    """One input file: paths, the action planned (``generate``, ``skip`` or ``fail``), the
    reason, and whether existing outputs may be replaced."""

    input: Path
    rel: str
    out_path: Path
    params: RenderParams
    action: str = "generate"
    reason: str = ""
    overwrite: bool = False
    input_sha256: str | None = None
    key: str | None = None


@dataclass
class BatchSummary:
    """Counts and totals of a run: files done / skipped / failed, audio seconds rendered,
    wall seconds, the error lines, and whether it was interrupted."""

    done: int = 0
    skipped: int = 0
    failed: int = 0
    audio_s: float = 0.0
    wall_s: float = 0.0
    errors: list[str] = field(default_factory=list)
    interrupted: bool = False
    stage_s: dict[str, float] = field(default_factory=dict)

    @property
    def real_time_factor(self) -> float:
        """Processing seconds per second of audio (lower is faster); 0 when nothing rendered."""
        return self.wall_s / self.audio_s if self.audio_s else 0.0

    @property
    def exit_code(self) -> int:
        """130 if interrupted, 1 if any file failed, else 0."""
        return 130 if self.interrupted else (1 if self.failed else 0)


class BatchReporter(Protocol):
    """What the run loop reports to a front end (the CLI's progress bars)."""

    def file_started(self, job: Job, index: int, total: int) -> None: ...

    def file_progress(self, stage: str, fraction: float) -> None: ...

    def file_finished(self, job: Job, status: str, message: str) -> None: ...


def _job_outputs(job: Job) -> list[Path]:
    outs = variation_paths(job.out_path, job.params.variations)
    return outs + ([midi_path_for(p) for p in outs] if job.params.midi else [])


def _rel(path: Path, root: Path) -> str:
    return Path(path).relative_to(root).as_posix()


def kept_bass_for(keep_dir: Path, input_dir: Path, file: Path) -> Path | None:
    """The existing bass of ``INPUT/a/song.wav`` in ``keep_dir``: ``KEEP/a/song.bass.wav`` (or
    ``.flac``), the name a batch gives its outputs; None if there is none."""
    rel = Path(file).relative_to(input_dir)
    for ext in ("wav", "flac"):
        p = Path(keep_dir) / rel.parent / f"{rel.stem}.bass.{ext}"
        if p.is_file():
            return p
    return None


def plan_jobs(files: list[Path], input_dir: Path, output_dir: Path, params: RenderParams, info: ModelInfo, *,
              overwrite: bool = False, keep_dir: Path | None = None) -> list[Job]:
    """Decide per file: ``skip`` (manifest says up to date), ``generate`` (with ``overwrite``
    set where the outputs are ours to replace) or ``fail`` (an output exists that groundbass
    did not write, two inputs map to one output, or ``keep_dir`` has no bass for it).
    ``params`` must be resolved. With ``keep_dir`` each file's job edits its existing bass
    (:func:`kept_bass_for`) as ``params`` say (region, continue or a transition span)."""
    manifest = Manifest(output_dir)
    latest = manifest.latest()
    owned = manifest.owned_outputs()
    style_sha = None
    if params.style:
        try:
            style_sha = sha256_file(params.style)
        except OSError:
            style_sha = None  # render_file reports the style file
    claimed: dict[Path, str] = {}
    jobs = []
    for f in files:
        rel = _rel(f, input_dir)
        out = output_path_for(input_dir, output_dir, f, params.format)
        job = Job(f, rel, out, params)
        files_sha = {}
        if keep_dir is not None:
            kept = kept_bass_for(keep_dir, input_dir, f)
            if kept is None:
                job.action, job.reason = "fail", f"{f}: no existing bass to edit ({output_path_for(input_dir, keep_dir, f, 'wav')} not found)"
                jobs.append(job)
                continue
            job.params = replace(params, keep=str(kept))
            try:
                files_sha["keep"] = sha256_file(kept)
            except OSError as exc:
                job.action, job.reason = "fail", f"{kept}: cannot read ({exc.strerror or exc})"
                jobs.append(job)
                continue
        if params.transition_to:
            try:
                files_sha["transition_to"] = sha256_file(params.transition_to)
            except OSError:
                files_sha["transition_to"] = None  # render_file reports the file
        if out in claimed:
            job.action, job.reason = "fail", f"{f}: output {out} is also the output of {claimed[out]}; rename one"
            jobs.append(job)
            continue
        claimed[out] = rel
        try:
            job.input_sha256 = sha256_file(f)
        except OSError as exc:
            job.action, job.reason = "fail", f"{f}: cannot read ({exc.strerror or exc})"
            jobs.append(job)
            continue
        job.key = params_key(job.params, info, style_sha, files_sha)
        outs = _job_outputs(job)
        prev = latest.get(rel)
        if not overwrite and prev and prev.get("status") == "done" and prev.get("input_sha256") == job.input_sha256 \
                and prev.get("params_key") == job.key and _outputs_intact(prev, output_dir):
            job.action, job.reason = "skip", "up to date"
        elif overwrite:
            job.overwrite = True
        else:
            foreign = [p for p in outs if p.exists() and _rel(p, output_dir) not in owned]
            if foreign:
                job.action = "fail"
                job.reason = f"{foreign[0]}: already exists and is not in the manifest (not overwritten; use --overwrite)"
            else:
                job.overwrite = True  # only our own earlier outputs can be in the way
        jobs.append(job)
    return jobs


def _outputs_intact(entry: dict, output_dir: Path) -> bool:
    sizes = entry.get("sizes", {})
    for rel in entry.get("outputs", []) + entry.get("midi", []):
        p = Path(output_dir) / rel
        if not p.is_file() or (rel in sizes and p.stat().st_size != sizes[rel]):
            return False
    return True


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def run_batch(gen: BassGenerator, jobs: list[Job], input_dir: Path, output_dir: Path, info: ModelInfo, *,
              reporter: BatchReporter | None = None, should_stop: Callable[[], bool] | None = None,
              concurrency: int = 1) -> BatchSummary:
    """Render every ``generate`` job, appending manifest lines; count skips and failures.

    A failing file is reported and the run goes on. Ctrl-C (KeyboardInterrupt) or
    ``should_stop()`` ends the run cleanly: finished files and their manifest lines stay,
    a file in progress leaves no output. ``concurrency > 1`` renders that many files at once
    on worker threads (each on its own CUDA stream on a GPU). Returns the summary."""
    output_dir = Path(output_dir)
    manifest = Manifest(output_dir)
    summary = BatchSummary()
    t0 = time.perf_counter()
    todo = [j for j in jobs if j.action == "generate"]
    for job in jobs:
        if job.action == "skip":
            summary.skipped += 1
            if reporter:
                reporter.file_finished(job, "skipped", job.reason)
        elif job.action == "fail":
            summary.failed += 1
            summary.errors.append(job.reason)
            if reporter:
                reporter.file_finished(job, "failed", job.reason)
    try:
        if concurrency <= 1:
            for index, job in enumerate(todo, 1):
                if reporter:
                    reporter.file_started(job, index, len(todo))
                _run_one(gen, job, input_dir, output_dir, info, manifest, summary, reporter, should_stop)
        else:
            _run_concurrent(gen, todo, input_dir, output_dir, info, manifest, summary, reporter, should_stop,
                            concurrency)
    except (KeyboardInterrupt, RenderCancelled):
        summary.interrupted = True
    summary.wall_s = time.perf_counter() - t0
    return summary


class _LockedReporter:
    """Serialises a reporter's calls from several worker threads."""

    def __init__(self, reporter: BatchReporter, lock: threading.Lock) -> None:
        self._reporter, self._lock = reporter, lock

    def file_started(self, job: Job, index: int, total: int) -> None:
        with self._lock:
            self._reporter.file_started(job, index, total)

    def file_progress(self, stage: str, fraction: float) -> None:
        with self._lock:
            self._reporter.file_progress(stage, fraction)

    def file_finished(self, job: Job, status: str, message: str) -> None:
        with self._lock:
            self._reporter.file_finished(job, status, message)


def _run_concurrent(gen, todo: list[Job], input_dir, output_dir, info, manifest, summary, reporter, should_stop,
                    workers: int) -> None:
    stop = threading.Event()
    lock = threading.RLock()  # the summary and the reporter; _fail reports while holding it
    locked = _LockedReporter(reporter, lock) if reporter else None

    def stopped() -> bool:
        return stop.is_set() or bool(should_stop and should_stop())

    def work(index: int, job: Job) -> None:
        if stopped():
            return
        if locked:
            locked.file_started(job, index, len(todo))
        stream = None
        if gen.device.type == "cuda":
            import torch

            stream = torch.cuda.stream(torch.cuda.Stream(device=gen.device))
        with stream or contextlib.nullcontext():
            _run_one(gen, job, input_dir, output_dir, info, manifest, summary, locked, stopped, lock)

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="groundbass-batch")
    futures = [pool.submit(work, i, job) for i, job in enumerate(todo, 1)]
    try:
        for future in futures:
            future.result()
    except BaseException:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _run_one(gen, job: Job, input_dir, output_dir, info: ModelInfo, manifest: Manifest, summary: BatchSummary,
             reporter, should_stop, lock: threading.RLock | None = None) -> None:
    """Render one job and record it (``lock`` guards the summary when several run at once)."""
    outs = variation_paths(job.out_path, job.params.variations)
    base = {
        "input": job.rel, "input_path": str(Path(job.input).resolve()), "input_sha256": job.input_sha256,
        "outputs": [_rel(p, output_dir) for p in outs],
        "midi": [_rel(midi_path_for(p), output_dir) for p in outs] if job.params.midi else [],
        "params": asdict(job.params), "params_key": job.key, "model_id": info.model_id,
        "model_sha256": info.model_sha256, "groundbass_version": info.version, "device": info.device,
    }
    _remove_stale_parts(outs + ([midi_path_for(p) for p in outs] if job.params.midi else []))
    manifest.append({**base, "status": "started", "time": _now()})
    t = time.perf_counter()
    progress = reporter.file_progress if reporter else None
    try:
        result = render_file(gen, job.input, job.out_path, job.params, overwrite=job.overwrite,
                             progress=progress, should_stop=should_stop)
    except (RenderError, AudioFileError) as exc:
        with lock or contextlib.nullcontext():
            _fail(job, str(exc), base, t, manifest, summary, reporter)
        return
    except (KeyboardInterrupt, RenderCancelled):
        manifest.append({**base, "status": "interrupted", "error": "interrupted", "time": _now()})
        raise
    except Exception as exc:  # noqa: BLE001 - one bad file must not stop the batch
        log.debug("render failed", exc_info=True)
        with lock or contextlib.nullcontext():
            _fail(job, f"{job.input}: {type(exc).__name__}: {exc}".splitlines()[0], base, t, manifest, summary,
                  reporter)
        return
    written = [_rel(p, output_dir) for p in result.outputs + result.midi]
    manifest.append({**base, "status": "done", "error": None, "seeds": result.seeds,
                     "duration_s": round(result.duration_s, 4), "timings": result.timings,
                     "wall_s": round(time.perf_counter() - t, 4),
                     "sizes": {r: (Path(output_dir) / r).stat().st_size for r in written}, "time": _now()})
    with lock or contextlib.nullcontext():
        summary.done += 1
        summary.audio_s += result.duration_s
        for k, v in result.timings.items():
            summary.stage_s[k] = summary.stage_s.get(k, 0.0) + v
    if reporter:
        reporter.file_finished(job, "done", ", ".join(str(p) for p in result.outputs))


def _remove_stale_parts(paths: list[Path]) -> None:
    """Delete temporary ``.<name>.*.part`` files a killed earlier run left beside ``paths``."""
    for p in paths:
        if p.parent.is_dir():
            for tmp in p.parent.glob(f".{p.name}.*.part"):
                tmp.unlink(missing_ok=True)


def _fail(job, message, base, t, manifest, summary, reporter) -> None:
    manifest.append({**base, "status": "failed", "error": message, "wall_s": round(time.perf_counter() - t, 4),
                     "time": _now()})
    summary.failed += 1
    summary.errors.append(message)
    if reporter:
        reporter.file_finished(job, "failed", message)


def prepare_output_dir(output_dir: Path) -> None:
    """Create ``output_dir`` and check it is writable. Raises BatchError."""
    output_dir = Path(output_dir)
    if output_dir.exists() and not output_dir.is_dir():
        raise BatchError(f"{output_dir}: output path exists and is not a directory")
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BatchError(f"{output_dir}: cannot create the output folder ({exc.strerror or exc})") from None
    if not os.access(output_dir, os.W_OK):
        raise BatchError(f"{output_dir}: output folder is not writable")

