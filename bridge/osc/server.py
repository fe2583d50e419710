"""The groundbass OSC bridge server: a UDP receive loop, request handlers, and the glue
between the job queue and ``groundbass.bridge.render.render_file``.

One thread receives and answers control requests (ping, status, cancel, parameters) at
once; generation runs on the job queue's worker thread. Every datagram is handled inside
a catch-all: a malformed, oversized or unexpected packet gets an error reply or a log
line and never stops the loop. Replies go to the sender's host only — to the sender's
port, or to the ``reply_port`` the request names. Nothing in a message is executed;
paths are checked against the allowed roots before any file is touched.
"""

from __future__ import annotations

import dataclasses
import logging
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from pythonosc.osc_packet import OscPacket

from groundbass.core.checkpoint import groundbass_version

from . import protocol as P
from .jobs import DuplicateJob, Job, JobCancelled, JobFailed, JobQueue, QueueFull
from .paths import PathPolicy, PathRejected

__all__ = ["BridgeServer", "JobSpec"]

log = logging.getLogger(__name__)

Address = tuple[str, int]


@dataclass
class JobSpec:
    """What the worker needs for one job (checked paths, merged parameters)."""

    mix: Path
    out: Path
    params: Any  # groundbass.bridge.render.RenderParams
    overwrite: bool = False
    watchers: list[Address] = field(default_factory=list)  # other clients that asked to cancel it


class _ReplyBudget:
    """At most ``per_second`` protocol-error replies and log lines per second: a flood of junk
    is neither reflected nor logged line by line. The refusals over the budget are counted and
    logged as one line when the next refusal comes in a later second."""

    def __init__(self, per_second: int = 200) -> None:
        self.per_second, self._window, self._count = per_second, 0, 0
        self.suppressed = 0  # refusals not answered (total, for tests and diagnostics)

    def take(self) -> bool:
        now = int(time.monotonic())
        if now != self._window:
            over = self._count - self.per_second
            if over > 0:
                log.warning("%d more requests refused in the second before (not answered, not logged one by one)",
                            over)
            self._window, self._count = now, 0
        self._count += 1
        if self._count <= self.per_second:
            return True
        self.suppressed += 1
        return False


class _QuietPythonOsc(logging.Filter):
    """python-osc logs a WARNING on the root logger for every type tag it cannot decode and every
    bundle element it cannot identify (with the element's raw bytes): one log line, up to 8 KB,
    per junk datagram. The bridge refuses such datagrams itself, with replies and log lines
    within its reply budget, so these lines are dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name == "root" and "pythonosc" in Path(record.pathname).parts)


def _quiet_python_osc() -> None:
    root = logging.getLogger()
    if not any(isinstance(f, _QuietPythonOsc) for f in root.filters):
        root.addFilter(_QuietPythonOsc())


class BridgeServer:
    """OSC bridge around one loaded generator.

    ``generator``: a loaded BassGenerator (stays warm; used by the worker thread only).
    ``host``/``port``: where to listen (port 0 picks a free port; see :attr:`address`).
    ``roots``: allowed folders for every read and write (default: temp dir and home).
    ``defaults``: initial server-side parameter defaults (same keys as generate).
    ``heartbeat_s``: longest gap in seconds between progress replies of an active job.
    ``render_file``: the render function (default: ``groundbass.bridge.render.render_file``).
    """

    def __init__(self, generator: Any, *, host: str = "127.0.0.1", port: int = 9030,
                 roots: list[str | Path] | None = None, defaults: dict[str, Any] | None = None,
                 heartbeat_s: float = 0.5, max_waiting: int = 32,
                 render_file: Callable[..., Any] | None = None) -> None:
        self.gen = generator
        _quiet_python_osc()
        self.policy = PathPolicy(roots)
        self.defaults: dict[str, Any] = {}
        for k, v in (defaults or {}).items():
            self._set_default(k, v)
        self._render_file = render_file
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind((host, port))
        self._sock.settimeout(0.1)
        self._send_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._budget = _ReplyBudget()
        self.queue = JobQueue(self._run_job, self._on_job_event, heartbeat_s=heartbeat_s, max_waiting=max_waiting)
        self._handlers: dict[str, Callable[[list[Any], Address], None]] = {
            P.PING: self._ping, P.GENERATE: self._generate, P.CANCEL: self._cancel,
            P.STATUS: self._status, P.GET_PARAMS: self._get_params, P.SET_PARAM: self._set_param,
        }

    # ------------------------------------------------------------ lifecycle

    @property
    def address(self) -> Address:
        """The (host, port) the server listens on."""
        return self._sock.getsockname()[:2]

    def serve_forever(self) -> None:
        """Receive and handle datagrams until :meth:`shutdown` (blocking)."""
        while not self._stop.is_set():
            try:
                data, sender = self._sock.recvfrom(65536)
            except socket.timeout:
                continue
            except OSError as exc:
                if self._stop.is_set():
                    break
                log.warning("receive failed: %s", exc)
                continue
            self.handle_datagram(data, sender[:2])

    def start(self) -> "BridgeServer":
        """Run :meth:`serve_forever` on a background thread; returns self."""
        self._thread = threading.Thread(target=self.serve_forever, name="groundbass-osc", daemon=True)
        self._thread.start()
        return self

    def shutdown(self) -> None:
        """Stop receiving, cancel jobs, close the socket."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
        self.queue.close()
        self._sock.close()

    def __enter__(self) -> "BridgeServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()

    # ------------------------------------------------------------ receive side

    def handle_datagram(self, data: bytes, sender: Address) -> None:
        """Parse one datagram and handle every message in it; never raises."""
        try:
            if len(data) > P.MAX_DATAGRAM:
                self._protocol_error(sender, "", f"datagram too large ({len(data)} bytes > {P.MAX_DATAGRAM})")
                return
            try:
                messages = [m.message for m in OscPacket(data).messages]
            except Exception:  # ParseError, or anything odd in python-osc on garbage
                self._protocol_error(sender, "", "malformed OSC packet")
                return
            for msg in messages[:64]:
                bad = P.unsupported_type_tags(msg.dgram)
                if bad:  # python-osc drops such arguments silently; refuse the message instead
                    self._protocol_error(sender, "", f"{msg.address[:80]}: unsupported OSC type tag(s) {bad!r}")
                    continue
                self._dispatch(msg.address, list(msg.params), sender)
        except Exception:
            log.exception("unexpected error handling a datagram from %s", sender)

    def _dispatch(self, address: str, args: list[Any], sender: Address) -> None:
        handler = self._handlers.get(address)
        if handler is None:
            self._protocol_error(sender, P.job_id_for_errors(address, args), f"unknown address {address[:80]}")
            return
        try:
            handler(args, sender)
        except (P.ProtocolError, PathRejected) as exc:
            _, port = self._safe_reply_port(args)
            self._protocol_error((sender[0], port or sender[1]), P.job_id_for_errors(address, args), str(exc))
        except Exception as exc:
            log.exception("error handling %s", address)
            self._protocol_error(sender, P.job_id_for_errors(address, args), f"internal error: {type(exc).__name__}")

    @staticmethod
    def _safe_reply_port(args: list[Any]) -> tuple[list[Any], int | None]:
        """reply_port named anywhere as a key (best effort, for error replies)."""
        for i in range(len(args) - 1):
            if args[i] == "reply_port":
                try:
                    return args, P.CONTROL_KEYS["reply_port"].coerce("reply_port", args[i + 1])
                except P.ProtocolError:
                    break
        return args, None

    # ------------------------------------------------------------ sending

    def _send(self, dgram: bytes, to: Address) -> None:
        try:
            with self._send_lock:
                self._sock.sendto(dgram, to)
        except OSError as exc:
            log.debug("could not reply to %s: %s", to, exc)

    def _protocol_error(self, to: Address, job_id: Any, message: str) -> None:
        if self._budget.take():
            log.warning("request from %s:%s refused: %s", to[0], to[1], message)
            self._send(P.error(job_id, message), to)
        else:
            log.debug("request from %s:%s refused (over the reply budget): %s", to[0], to[1], message)

    # ------------------------------------------------------------ control handlers

    def _ping(self, args: list[Any], sender: Address) -> None:
        rest, port = P.split_reply_port(args)
        self._send(P.pong(groundbass_version(), str(self.gen.model_id), str(self.gen.device)),
                   (sender[0], port or sender[1]))

    def _status(self, args: list[Any], sender: Address) -> None:
        rest, port = P.split_reply_port(args)
        to = (sender[0], port or sender[1])
        if rest:
            job_id = P.check_job_id(rest[0])
            job = self.queue.job(job_id)
            if job is None:
                raise P.ProtocolError(f"unknown job {job_id!r}")
            self._send(P.build(P.JOB_STATUS_REPLY, job.job_id, job.state, float(job.fraction), job.stage), to)
            return
        snap = self.queue.snapshot()
        run = snap["running"]
        if run is None:
            reply = P.build(P.STATUS_REPLY, "idle", "", 0.0, "", len(snap["waiting"]))
        else:
            reply = P.build(P.STATUS_REPLY, "busy", run.job_id, float(run.fraction), run.stage, len(snap["waiting"]))
        self._send(reply, to)

    def _cancel(self, args: list[Any], sender: Address) -> None:
        rest, port = P.split_reply_port(args)
        if len(rest) != 1:
            raise P.ProtocolError("cancel needs <job_id>")
        job_id = P.check_job_id(rest[0])
        to = (sender[0], port or sender[1])
        job = self.queue.job(job_id)
        if job is not None and job.active and to != job.reply_to and to not in job.payload.watchers:
            job.payload.watchers.append(to)
        if self.queue.cancel(job_id) is None:
            raise P.ProtocolError(f"no queued or running job {job_id!r}")

    def _effective_defaults(self) -> dict[str, Any]:
        s = getattr(getattr(self.gen, "config", None), "sampling", None)
        base: dict[str, Any] = {"variations": 1, "fx": "none", "midi": False, "match_mix": False}
        if s is not None:
            base.update(steps=s.steps, sampler=s.sampler, cfg=float(s.cfg), phi=float(s.phi), grounding=float(s.grounding),
                        style_cfg=float(s.style_cfg), harmony_cfg=float(s.harmony_cfg))
        return {**base, **self.defaults}

    def _get_params(self, args: list[Any], sender: Address) -> None:
        rest, port = P.split_reply_port(args)
        self._send(P.params_reply(self._effective_defaults()), (sender[0], port or sender[1]))

    def _set_default(self, key: Any, value: Any) -> None:
        if key not in P.RENDER_KEYS:
            raise P.ProtocolError(f"unknown parameter {key!r} (settable: {', '.join(P.RENDER_KEYS)})")
        if value == "" and key != "fx":
            self.defaults.pop(key, None)
            return
        key, value = P.coerce_param(key, value)
        if key in P.PATH_KEYS and value is not None:
            value = str(self.policy.check_read(value, f"{key} path"))
        if value is None:
            self.defaults.pop(key, None)
        else:
            self.defaults[key] = value

    def _set_param(self, args: list[Any], sender: Address) -> None:
        rest, port = P.split_reply_port(args)
        if len(rest) != 2:
            raise P.ProtocolError("set/param needs <key> <value>")
        self._set_default(rest[0], rest[1])
        value = self._effective_defaults().get(rest[0])
        self._send(P.build(P.PARAM, rest[0], "" if value is None else value), (sender[0], port or sender[1]))

    # ------------------------------------------------------------ generate

    def _generate(self, args: list[Any], sender: Address) -> None:
        req = P.parse_generate(args)
        to = (sender[0], req.reply_port or sender[1])
        mix = self.policy.check_read(req.mix_path, "mix path")
        out = self.policy.check_write(req.out_path, "output path")
        if out == mix:
            raise P.ProtocolError("output path must differ from the mix path")
        merged = {**self.defaults, **req.params}
        for key in P.PATH_KEYS:
            if merged.get(key):
                merged[key] = str(self.policy.check_read(merged[key], f"{key} path"))
        spec = JobSpec(mix, out, self._make_params(merged), req.overwrite)
        job = Job(req.job_id, spec, to)
        try:
            self.queue.submit(job, announce=lambda ahead: self._send(P.accepted(job.job_id, ahead), to))
        except (DuplicateJob, QueueFull) as exc:
            self._send(P.error(req.job_id, str(exc)), to)
            return
        log.debug("job %r queued from %s:%s: %s -> %s", job.job_id, to[0], to[1], mix, out)

    @staticmethod
    def _make_params(merged: dict[str, Any]) -> Any:
        """RenderParams from checked key/values, range-checked by render's own check_params
        (so a bad fx preset or format is refused before the job is queued)."""
        from groundbass.bridge.render import RenderError, RenderParams, check_params

        names = {f.name for f in dataclasses.fields(RenderParams)}
        merged = {P.FIELD_NAMES.get(k, k): v for k, v in merged.items()}
        dropped = sorted(set(merged) - names)
        if dropped:
            raise P.ProtocolError(f"parameter not supported by this version: {', '.join(dropped)}")
        params = RenderParams(**merged)
        try:
            check_params(params)
        except RenderError as exc:
            raise P.ProtocolError(str(exc)) from None
        return params

    # ------------------------------------------------------------ worker side

    def _render(self) -> Callable[..., Any]:
        if self._render_file is None:
            from groundbass.bridge.render import render_file

            self._render_file = render_file
        return self._render_file

    def _run_job(self, job: Job, progress: Callable[[str, float], None], should_stop: Callable[[], bool]) -> Any:
        """Runs on the worker thread: one render_file call, errors mapped to one-line messages."""
        from groundbass.bridge import render as R

        spec: JobSpec = job.payload
        try:
            # Paths were checked when the request came in; check again now, when the job runs:
            # a folder may have been swapped for a symlink while the job waited in the queue.
            self.policy.check_read(str(spec.mix), "mix path")
            for key in P.PATH_KEYS:
                extra = getattr(spec.params, P.FIELD_NAMES.get(key, key))
                if extra:
                    self.policy.check_read(str(extra), f"{key} path")
            return self._render()(self.gen, spec.mix, spec.out, spec.params, overwrite=spec.overwrite,
                                  progress=progress, should_stop=should_stop,
                                  folder_check=lambda real: self.policy.check_folder(real, "output folder"))
        except R.RenderCancelled as exc:
            raise JobCancelled() from exc
        except (R.RenderError, ValueError, OSError) as exc:
            raise JobFailed(P.one_line(str(exc))) from exc

    def _on_job_event(self, job: Job, event: str, data: Any) -> None:
        """Turn a queue event into replies (and one log line per finished job)."""
        to = job.reply_to
        jid = job.job_id
        if event == "progress":
            self._send(P.progress(jid, job.fraction, job.stage), to)
            return
        took = (job.finished or time.monotonic()) - (job.started or job.submitted)
        if event == "done":
            outs = [str(p) for p in data.outputs]
            midis = [str(p) for p in data.midi]
            for i, path in enumerate(outs):
                seed = int(data.seeds[i]) if i < len(data.seeds) else -1
                self._send(P.output(jid, i, path, midis[i] if i < len(midis) else "", seed), to)
            self._send(P.done(jid, outs[0] if outs else "", midis[0] if midis else None), to)
            log.info("job %r done in %.2f s: %s", jid, took, ", ".join(outs))
        elif event == "error":
            self._send(P.error(jid, str(data)), to)
            log.info("job %r failed after %.2f s: %s", jid, took, data)
        elif event == "cancelled":
            for addr in [to, *job.payload.watchers]:
                self._send(P.cancelled(jid), addr)
            log.info("job %r cancelled after %.2f s", jid, took)
