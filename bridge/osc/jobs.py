"""Job queue for the OSC bridge: one worker thread runs jobs in order, a heartbeat thread
reports progress of waiting and running jobs at least every ``heartbeat_s`` seconds.

The queue knows nothing about OSC or rendering: it calls ``runner(job, progress,
should_stop)`` on the worker thread and reports every state change through
``notify(job, event, data)`` with event one of ``"progress"``, ``"done"`` (data: the
runner's result), ``"error"`` (data: one-line message) or ``"cancelled"``.
"""

from __future__ import annotations

import collections
import itertools
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

__all__ = ["Job", "JobQueue", "JobFailed", "JobCancelled", "QueueFull", "DuplicateJob"]

log = logging.getLogger(__name__)


class JobFailed(Exception):
    """Raised by a runner: the job failed with a one-line message for the user."""


class JobCancelled(Exception):
    """Raised by a runner when ``should_stop()`` became true."""


class QueueFull(RuntimeError):
    """The queue already holds its maximum number of waiting jobs."""


class DuplicateJob(ValueError):
    """A job with the same id is already waiting or running."""


@dataclass
class Job:
    """One generation request. ``payload`` is opaque to the queue (the server's job data)."""

    job_id: Any
    payload: Any
    reply_to: tuple[str, int]
    state: str = "queued"  # queued | running | done | error | cancelled
    fraction: float = 0.0
    stage: str = "queued"
    message: str = ""
    submitted: float = field(default_factory=time.monotonic)
    started: float | None = None
    finished: float | None = None
    last_report: float = 0.0
    seq: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    @property
    def active(self) -> bool:
        return self.state in ("queued", "running")


Runner = Callable[[Job, Callable[[str, float], None], Callable[[], bool]], Any]
Notify = Callable[[Job, str, Any], None]


class JobQueue:
    """First-in first-out jobs on one worker thread.

    ``heartbeat_s``: longest gap in seconds between two progress reports of an active job.
    ``min_report_s``: shortest gap between two progress reports of the same stage (throttle).
    ``max_waiting``: waiting jobs beyond this are refused with QueueFull.
    ``history``: finished jobs remembered for status queries.
    """

    def __init__(self, runner: Runner, notify: Notify, *, heartbeat_s: float = 0.5, min_report_s: float = 0.1,
                 max_waiting: int = 32, history: int = 128) -> None:
        self._runner = runner
        self._notify = notify
        self.heartbeat_s = heartbeat_s
        self.min_report_s = min_report_s
        self.max_waiting = max_waiting
        self._lock = threading.Condition()
        self._waiting: collections.deque[Job] = collections.deque()
        self._running: Job | None = None
        self._finished: collections.OrderedDict[Any, Job] = collections.OrderedDict()
        self._history = history
        self._seq = itertools.count()
        self._closed = False
        self._worker = threading.Thread(target=self._work, name="groundbass-worker", daemon=True)
        self._beat = threading.Thread(target=self._heartbeat, name="groundbass-heartbeat", daemon=True)
        self._worker.start()
        self._beat.start()

    # ------------------------------------------------------------ public API (any thread)

    def submit(self, job: Job, announce: Callable[[int], None] | None = None) -> int:
        """Queue ``job``; returns the number of jobs ahead of it (0: it runs next or now).

        ``announce(ahead)`` is called before the worker can see the job, so an "accepted"
        reply always precedes the job's first progress report. Raises DuplicateJob or QueueFull.
        """
        with self._lock:
            if self._closed:
                raise QueueFull("the bridge is shutting down")
            if self._find_active(job.job_id) is not None:
                raise DuplicateJob(f"job id {job.job_id!r} is already queued or running")
            if len(self._waiting) >= self.max_waiting:
                raise QueueFull(f"queue full ({self.max_waiting} jobs waiting)")
            job.seq = next(self._seq)
            job.last_report = time.monotonic()
            ahead = len(self._waiting) + (1 if self._running is not None else 0)
            if announce is not None:
                announce(ahead)
            self._waiting.append(job)
            self._lock.notify_all()
            return ahead

    def cancel(self, job_id: Any) -> str | None:
        """Cancel a job: ``"cancelled"`` if it was waiting (reported now), ``"cancelling"`` if
        it is running (reported when the runner stops), None if no active job has that id."""
        with self._lock:
            job = self._find_active(job_id)
            if job is None:
                return None
            if job.state == "running":
                job.stop.set()
                return "cancelling"
            self._waiting.remove(job)
            self._finish(job, "cancelled", "")
        self._notify(job, "cancelled", None)
        return "cancelled"

    def job(self, job_id: Any) -> Job | None:
        """The active or recently finished job with this id (None if unknown)."""
        with self._lock:
            return self._find_active(job_id) or self._finished.get(job_id)

    def snapshot(self) -> dict[str, Any]:
        """{"running": Job | None, "waiting": [Job, ...]} at this instant."""
        with self._lock:
            return {"running": self._running, "waiting": list(self._waiting)}

    def close(self, timeout: float = 5.0) -> None:
        """Stop accepting jobs, cancel waiting and running ones, join the threads."""
        with self._lock:
            self._closed = True
            waiting = list(self._waiting)
            self._waiting.clear()
            for job in waiting:
                self._finish(job, "cancelled", "")
            if self._running is not None:
                self._running.stop.set()
            self._lock.notify_all()
        for job in waiting:
            self._notify(job, "cancelled", None)
        self._worker.join(timeout)
        self._beat.join(timeout)

    # ------------------------------------------------------------ internals

    def _find_active(self, job_id: Any) -> Job | None:
        if self._running is not None and self._running.job_id == job_id:
            return self._running
        return next((j for j in self._waiting if j.job_id == job_id), None)

    def _finish(self, job: Job, state: str, message: str) -> None:
        job.state, job.message, job.finished = state, message, time.monotonic()
        self._finished[job.job_id] = job
        self._finished.move_to_end(job.job_id)
        while len(self._finished) > self._history:
            self._finished.popitem(last=False)

    def _safe_notify(self, job: Job, event: str, data: Any) -> None:
        try:
            self._notify(job, event, data)
        except Exception:  # a reply that cannot be sent must not stop the worker
            log.exception("could not report %s for job %r", event, job.job_id)

    def _work(self) -> None:
        while True:
            with self._lock:
                while not self._waiting and not self._closed:
                    self._lock.wait()
                if self._closed:
                    return
                job = self._waiting.popleft()
                job.state, job.started, job.stage, job.fraction = "running", time.monotonic(), "starting", 0.0
                self._running = job
            self._run_one(job)

    def _run_one(self, job: Job) -> None:
        def progress(stage: str, fraction: float) -> None:
            now = time.monotonic()
            same = stage == job.stage
            job.stage, job.fraction = stage, max(0.0, min(1.0, float(fraction)))
            if not same or now - job.last_report >= self.min_report_s:
                job.last_report = now
                self._safe_notify(job, "progress", None)

        progress("starting", 0.0)
        event, data, state, message = "done", None, "done", ""
        try:
            data = self._runner(job, progress, job.stop.is_set)  # finished: done, even if cancel came late
        except JobCancelled:
            event, state = "cancelled", "cancelled"
        except JobFailed as exc:
            event, data, state, message = "error", str(exc), "error", str(exc)
        except Exception as exc:  # never let a job kill the worker
            log.exception("job %r failed", job.job_id)
            message = f"internal error: {type(exc).__name__}: {exc}"
            event, data, state = "error", message, "error"
        with self._lock:
            if state == "done":
                job.fraction, job.stage = 1.0, "done"
            self._finish(job, state, message)
            self._running = None
        self._safe_notify(job, event, data)

    def _heartbeat(self) -> None:
        while True:
            with self._lock:
                if self._closed:
                    return
                jobs = ([self._running] if self._running else []) + list(self._waiting)
            now = time.monotonic()
            for job in jobs:
                if job.active and now - job.last_report >= self.heartbeat_s:
                    job.last_report = now
                    self._safe_notify(job, "progress", None)
            time.sleep(self.heartbeat_s / 4)
