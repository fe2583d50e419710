"""A small OSC client for the groundbass bridge (used by ``groundbass send`` and the tests).

:func:`send_job` pings the bridge, sends one generate request and follows its replies
until done, error or cancelled, reporting each event to a callback and to an optional
status file. No printing here: the click layer prints.
"""

from __future__ import annotations

import socket
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_packet import OscPacket

from . import protocol as P
from .status_file import StatusFile

__all__ = ["BridgeClient", "BridgeUnavailable", "SendOutcome", "send_job", "new_job_id"]


class BridgeUnavailable(RuntimeError):
    """No bridge answered (one-line message)."""


def new_job_id() -> str:
    """A fresh 12-character job id."""
    return uuid.uuid4().hex[:12]


def encode(address: str, *args: Any) -> bytes:
    """One OSC message: bool -> T/F, int -> i, float -> f, str -> s."""
    b = OscMessageBuilder(address=address)
    for a in args:
        if isinstance(a, bool):
            b.add_arg(a)
        elif isinstance(a, int):
            b.add_arg(a, "i")
        elif isinstance(a, float):
            b.add_arg(a, "f")
        else:
            b.add_arg(str(a), "s")
    return b.build().dgram


class BridgeClient:
    """A UDP socket that talks to one bridge; replies come back to this socket.

    ``host``/``port``: the bridge. The socket binds to 127.0.0.1 (any free port) when the
    bridge is on the loopback interface, else to all interfaces.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 9030) -> None:
        self.target = (socket.gethostbyname(host), int(port))
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1" if self.target[0].startswith("127.") else "0.0.0.0", 0))

    @property
    def port(self) -> int:
        """The local UDP port replies arrive on."""
        return self.sock.getsockname()[1]

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "BridgeClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def send(self, address: str, *args: Any) -> None:
        """Send one message to the bridge."""
        self.sock.sendto(encode(address, *args), self.target)

    def receive(self, timeout: float) -> tuple[str, list[Any]] | None:
        """The next well-formed message within ``timeout`` seconds, else None."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                data, _ = self.sock.recvfrom(65536)
            except (socket.timeout, ConnectionRefusedError):
                continue
            try:
                msg = OscPacket(data).messages[0].message
            except Exception:
                continue
            return msg.address, list(msg.params)

    def request(self, address: str, *args: Any, expect: tuple[str, ...], timeout: float = 2.0) -> list[Any]:
        """Send a request and return the arguments of the first reply whose address is in
        ``expect``. Raises BridgeUnavailable on timeout, RuntimeError on an error reply."""
        self.send(address, *args)
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            got = self.receive(left)
            if got is None:
                break
            addr, rargs = got
            if addr in expect:
                return rargs
            if addr == P.ERROR:
                raise RuntimeError(str(rargs[1]) if len(rargs) > 1 else "error")
        raise BridgeUnavailable(f"no groundbass bridge answered on {self.target[0]}:{self.target[1]} "
                                f"(start one with `groundbass serve`)")

    def ping(self, timeout: float = 2.0, tries: int = 3) -> tuple[str, str, str]:
        """(version, model, device) from the bridge; retried ``tries`` times."""
        for i in range(tries):
            try:
                rargs = self.request(P.PING, expect=(P.PONG,), timeout=timeout / tries)
                return str(rargs[0]), str(rargs[1]), str(rargs[2])
            except BridgeUnavailable:
                if i == tries - 1:
                    raise
        raise AssertionError("unreachable")


@dataclass
class SendOutcome:
    """How a sent job ended: state is "accepted" (no wait), "done", "error" or "cancelled"."""

    state: str
    job: str
    outputs: list[str] = field(default_factory=list)
    midi: list[str] = field(default_factory=list)
    seeds: list[int] = field(default_factory=list)
    error: str | None = None


Event = Callable[[str, dict[str, Any]], None]


def send_job(mix: str | Path, out: str | Path, params: dict[str, Any], *, host: str = "127.0.0.1",
             port: int = 9030, job_id: str | None = None, wait: bool = True, status_path: str | Path | None = None,
             timeout_s: float | None = None, stall_s: float = 30.0, connect_s: float = 3.0,
             on_event: Event | None = None) -> SendOutcome:
    """Send one generate request to the bridge and follow it.

    ``mix``/``out`` are made absolute against the current folder (the bridge accepts
    absolute paths only). ``params``: generate keys (None values are not sent, so the
    bridge's defaults apply). ``timeout_s``: give up (and cancel) after this many seconds;
    ``stall_s``: give up when the bridge says nothing for this long (it sends progress
    every half second while a job is active). ``on_event(kind, info)`` is called with kind
    "pong", "accepted", "progress", "output", "done", "error" or "cancelled".
    Never raises for bridge-side failures: they come back as state "error".
    """
    job = job_id or new_job_id()
    mix_abs, out_abs = str(Path(mix).absolute()), str(Path(out).absolute())
    status = StatusFile(status_path, job=job, mix=mix_abs, out=out_abs)
    status.update(state="connecting")
    emit = on_event or (lambda kind, info: None)
    outcome = SendOutcome("error", job)

    def fail(message: str) -> SendOutcome:
        outcome.state, outcome.error = "error", P.one_line(message)
        status.update(state="error", error=outcome.error)
        emit("error", {"job": job, "message": outcome.error})
        return outcome

    args: list[Any] = [job, mix_abs, out_abs]
    for key, value in params.items():
        if value is None:
            continue
        if key in P.PATH_KEYS and value:
            value = str(Path(value).absolute())
        args += [key, value]
    for value in args:  # a file name with undecodable bytes (surrogate escapes) cannot travel
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return fail(f"{value}: the path is not UTF-8 and OSC carries UTF-8 text only (rename the file)")
    try:
        client = BridgeClient(host, port)
    except OSError as exc:
        return fail(f"cannot reach {host}:{port}: {exc}")
    with client:
        try:
            version, model, device = client.ping(timeout=connect_s)
        except (BridgeUnavailable, RuntimeError, OSError) as exc:
            return fail(str(exc))
        status.update(model=model, device=device, version=version)
        emit("pong", {"version": version, "model": model, "device": device})
        try:
            client.send(P.GENERATE, *args)
        except OSError as exc:
            return fail(f"cannot send to {host}:{port}: {exc}")
        start = last_heard = time.monotonic()
        try:
            while True:
                now = time.monotonic()
                if timeout_s is not None and now - start > timeout_s:
                    client.send(P.CANCEL, job)
                    return fail(f"timed out after {timeout_s:g} s (job cancelled)")
                if now - last_heard > stall_s:
                    return fail(f"the bridge stopped answering for {stall_s:g} s")
                got = client.receive(0.25)
                if got is None:
                    continue
                addr, rargs = got
                if not rargs or str(rargs[0]) != job:
                    if addr == P.ERROR and rargs and rargs[0] in ("", P.GENERATE):
                        return fail(str(rargs[-1]))
                    continue
                last_heard = time.monotonic()
                if addr == P.ACCEPTED:
                    ahead = int(rargs[1]) if len(rargs) > 1 else 0
                    status.update(state="queued", position=ahead)
                    emit("accepted", {"job": job, "position": ahead})
                    if not wait:
                        outcome.state = "accepted"
                        return outcome
                elif addr == P.PROGRESS:
                    frac, stage = float(rargs[1]), str(rargs[2])
                    state = "queued" if stage == "queued" else "running"
                    status.update(state=state, progress=frac, stage=stage)
                    emit("progress", {"job": job, "progress": frac, "stage": stage})
                elif addr == P.OUTPUT:
                    outcome.outputs.append(str(rargs[2]))
                    if rargs[3]:
                        outcome.midi.append(str(rargs[3]))
                    outcome.seeds.append(int(rargs[4]))
                    emit("output", {"job": job, "index": int(rargs[1]), "path": str(rargs[2]),
                                    "midi": str(rargs[3]), "seed": int(rargs[4])})
                elif addr == P.DONE:
                    if not outcome.outputs:
                        outcome.outputs.append(str(rargs[1]))
                        outcome.midi += [str(m) for m in rargs[2:3]]
                    outcome.state = "done"
                    status.update(state="done", progress=1.0, stage="done", outputs=outcome.outputs,
                                  midi=outcome.midi, seeds=outcome.seeds)
                    emit("done", {"job": job, "outputs": outcome.outputs, "midi": outcome.midi,
                                  "seeds": outcome.seeds})
                    return outcome
                elif addr == P.ERROR:
                    return fail(str(rargs[1]) if len(rargs) > 1 else "error")
                elif addr == P.CANCELLED:
                    outcome.state = "cancelled"
                    status.update(state="cancelled")
                    emit("cancelled", {"job": job})
                    return outcome
        except KeyboardInterrupt:
            client.send(P.CANCEL, job)
            outcome.state = "cancelled"
            status.update(state="cancelled", error="interrupted")
            emit("cancelled", {"job": job})
            return outcome
