"""Hostile OSC traffic over a real UDP socket (issue 12, "Nothing unsafe leaves groundbass").

Causes covered here: unknown type tags; a folder swapped for a symlink while its job waits in
the queue (the write-time check); a 10,000-datagram burst of junk and pings (memory flat,
error replies and log lines within the reply budget, nothing queued, ping still answered);
'..' in the mix, output and every path parameter (and server-side defaults); output == mix
(also via a link, also with overwrite); a foreign file at the output path kept without
overwrite. Random fuzzing is in test_osc_fuzz.py, paths outside the allowed roots in
test_osc_server.py.
"""

from __future__ import annotations

import os
import time

from osc_support import collect, write_mix

from groundbass.bridge.osc import protocol as P
from groundbass.core.checkpoint import groundbass_version


def test_unknown_type_tags_get_an_error_not_a_pong(client):  # noqa: F811
    # ",x": a type tag python-osc does not decode (it would silently drop the argument)
    dgram = b"/groundbass/ping\x00\x00\x00\x00" + b",x\x00\x00"
    client.sock.sendto(dgram, client.target)
    msg = client.receive(3.0)
    assert msg is not None and msg[0] == P.ERROR and "type tag" in msg[1][1]
    assert client.ping()  # still serving


def test_folder_swapped_for_a_symlink_while_queued_is_refused_at_write_time(server, client, tmp_path,  # noqa: F811
                                                                             tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    sub = tmp_path / "sub"
    sub.mkdir()
    mix = write_mix(tmp_path / "mix.wav")
    # a long job keeps the worker busy while the second one waits in the queue
    client.send(P.GENERATE, "long", str(mix), str(tmp_path / "long.wav"), "steps", 30)
    client.send(P.GENERATE, "victim", str(mix), str(sub / "bass.wav"), "steps", 2)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        msg = client.receive(5)
        if msg and msg[0] == P.ACCEPTED and msg[1][0] == "victim":
            break
    os.rename(sub, tmp_path / "sub-moved")
    os.symlink(outside, sub)  # the checked path now leads outside the allowed root
    replies = collect(client, "victim", timeout=120)
    assert replies[-1][1] == P.ERROR and "outside the allowed folders" in replies[-1][2][1]
    assert list(outside.iterdir()) == []
    assert not (tmp_path / "sub-moved" / "bass.wav").exists()


# ---------------------------------------------------------------- a 10,000-datagram burst

N_BURST = 10_000
PING_EVERY = 50  # every 50th datagram is a valid ping (200 in all)
PING_AFTER_S = 2.0  # right after the burst a ping is answered within this many seconds (resent every 0.2 s:
#                     UDP drops a datagram that finds the server's receive buffer full)
BLOCKS_GROWTH = 5_000  # Python heap blocks (sys.getallocatedblocks) allowed to grow over the burst: a leak of
#                       one object per datagram would add over 10,000 (tracemalloc would slow the burst tenfold)
RSS_GROWTH_MB = 20.0  # resident memory growth allowed over the burst (this process: server and client)


def _junk(rng, i: int, tmp_path) -> bytes:
    """One hostile datagram: garbage bytes, truncated OSC, an unknown address, a type tag
    python-osc cannot decode, wrong argument types, oversized strings or datagrams, and
    generate requests that must be refused before anything is queued."""
    from pythonosc.osc_message_builder import OscMessageBuilder

    kind = i % 9
    if kind == 0:  # garbage bytes
        return rng.randbytes(rng.randrange(1, 400))
    if kind == 1:  # truncated OSC (cut inside the address, the type tags or an argument)
        d = P.build(P.GENERATE, f"t{i}", str(tmp_path / "a.wav"), str(tmp_path / "b.wav"), "steps", 2)
        return d[: rng.randrange(1, len(d) - 1)]
    if kind == 2:  # unknown addresses
        return P.build(rng.choice(["/groundbass/explode", "/groundbass", "/x", "/" + "a" * 300]), i)
    if kind == 3:  # a type tag python-osc does not decode
        return b"/groundbass/ping\x00\x00\x00\x00" + rng.choice([b",x\x00\x00", b",iq\x00", b",\x7f\x00\x00"]) + \
            b"\x00" * 8
    if kind == 4:  # wrong argument types
        return P.build(P.GENERATE, f"w{i}", 1, 2.5, "steps", "many")
    if kind == 5:  # an oversized string (under the datagram limit, over every string limit)
        b = OscMessageBuilder(address=P.GENERATE)
        for arg in (f"o{i}", "/" + "x" * 4000, str(tmp_path / "o.wav")):
            b.add_arg(arg, "s")
        return b.build().dgram
    if kind == 6:  # an oversized datagram
        return b"/groundbass/ping\x00\x00\x00\x00,s\x00\x00" + b"y" * (P.MAX_DATAGRAM + 16) + b"\x00" * 4
    if kind == 7:  # a plausible generate that must be refused: the mix does not exist, or '..'
        return P.build(P.GENERATE, f"g{i}", str(tmp_path / f"missing{i}.wav"),
                       rng.choice([str(tmp_path / "o.wav"), str(tmp_path / ".." / "o.wav")]), "steps", 2)
    return P.build(P.SET_PARAM, "steps", rng.choice([0, -5, 10**6, "nan", 2.5]))  # refused values


def _rss_mb() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def _drain(c, quiet_s: float = 0.0) -> dict[str, int]:
    got: dict[str, int] = {}
    while (msg := c.receive(quiet_s or 0.0005)) is not None:
        got[msg[0]] = got.get(msg[0], 0) + 1
    return got


def test_burst_of_10000_hostile_datagrams_memory_flat_ping_answered_nothing_queued(server, client, tmp_path,  # noqa: F811
                                                                                    monkeypatch):
    """10,000 datagrams back to back (at most ~60 in flight, so the kernel drops few): every 50th a valid ping, the rest
    junk. The server answers pings throughout, sends at most its reply budget of errors per
    second (no flood reflected; replies are sent at once, there is no reply queue to grow),
    keeps its memory flat, logs a bounded number of lines (python-osc's per-datagram root
    warnings are dropped), queues no job and touches no file; a ping right after is answered."""
    import collections
    import gc
    import logging
    import random
    import sys

    from groundbass.bridge.osc.client import BridgeClient

    submitted = []
    real_submit = server.queue.submit
    monkeypatch.setattr(server.queue, "submit", lambda job, **kw: (submitted.append(job), real_submit(job, **kw)))
    handled = collections.Counter()
    real_handle = server.handle_datagram
    monkeypatch.setattr(server, "handle_datagram", lambda data, sender: (handled.update(["all"]),
                                                                         real_handle(data, sender)))
    lines = collections.Counter()  # log lines by logger (counted, not kept: keeping them would grow the heap)
    handler = logging.Handler(logging.DEBUG)
    handler.emit = lambda record: lines.update([record.name])
    srv_log, root = logging.getLogger("groundbass.bridge.osc.server"), logging.getLogger()
    monkeypatch.setattr(srv_log, "level", logging.INFO)
    monkeypatch.setattr(srv_log, "propagate", False)  # keep pytest's log capture out of the measurement
    srv_log.addHandler(handler)
    root.addHandler(handler)
    before_files = sorted(tmp_path.iterdir())
    rng = random.Random(12)
    warm = [_junk(rng, i, tmp_path) for i in range(900)]
    burst = [P.build(P.PING) if i % PING_EVERY == 0 else _junk(rng, i, tmp_path) for i in range(N_BURST)]
    try:
        for i, dgram in enumerate(warm):  # every code path once, before the baseline
            client.sock.sendto(dgram, server.address)
            if i % 50 == 49:
                _drain(client)
        _drain(client, 0.3)
        lines.clear()
        handled.clear()
        gc.collect()
        blocks0, rss0 = sys.getallocatedblocks(), _rss_mb()
        pongs = errors = 0
        t0 = time.monotonic()
        for i, dgram in enumerate(burst):
            client.sock.sendto(dgram, server.address)
            if i % 50 == 49:  # take replies off our own socket; keep at most ~60 datagrams in flight so
                # the kernel (which drops what overflows the server's receive buffer) delivers most of them
                got = _drain(client)
                pongs, errors = pongs + got.get(P.PONG, 0), errors + got.get(P.ERROR, 0)
                wait_until = time.monotonic() + 1.0
                while handled["all"] < i - 60 and time.monotonic() < wait_until:
                    time.sleep(0.0005)
        burst_s = time.monotonic() - t0
        with BridgeClient(*server.address) as fresh:  # the server may still be working through its backlog
            t_ping = time.monotonic()
            assert fresh.ping(timeout=PING_AFTER_S, tries=10)[0] == groundbass_version()
            ping_s = time.monotonic() - t_ping
        got = _drain(client, 0.3)
        pongs, errors = pongs + got.get(P.PONG, 0), errors + got.get(P.ERROR, 0)
        elapsed = time.monotonic() - t0
        gc.collect()
        blocks_growth = sys.getallocatedblocks() - blocks0
        rss_growth = _rss_mb() - rss0
    finally:
        srv_log.removeHandler(handler)
        root.removeHandler(handler)
    assert ping_s < PING_AFTER_S
    assert handled["all"] >= 0.9 * N_BURST, handled  # the server did receive (nearly) all of them
    assert pongs >= 0.5 * N_BURST / PING_EVERY, pongs  # pings answered during the burst
    budget, seconds = server._budget.per_second, int(elapsed) + 2  # whole-second windows the burst touched
    assert 0 < errors <= budget * seconds, (errors, elapsed)  # error replies stay within the budget
    assert server._budget.suppressed > 0  # ... and the burst did exceed it
    assert lines["root"] == 0, f"python-osc logged {lines['root']} lines on the root logger"
    assert lines[srv_log.name] <= (budget + 1) * seconds, (lines, elapsed)  # one line per reply + one summary/s
    assert blocks_growth < BLOCKS_GROWTH, f"the Python heap grew by {blocks_growth} blocks over the burst"
    assert rss_growth < RSS_GROWTH_MB, f"resident memory grew {rss_growth:.1f} MB over the burst"
    assert submitted == [] and server.queue.snapshot() == {"running": None, "waiting": []}
    assert sorted(tmp_path.iterdir()) == before_files
    assert server._thread.is_alive()
    print(f"burst {burst_s:.2f} s, handled {dict(handled)}, {pongs} pongs, {errors} errors, {dict(lines)} log lines, "
          f"heap {blocks_growth:+d} blocks, rss +{rss_growth:.1f} MB, ping after {ping_s * 1000:.0f} ms")


# ---------------------------------------------------------------- paths: '..', output == input, foreign files

def _dotdot_cases(tmp_path, mix, outside):
    """(name, generate args) with a '..' path in each place a path goes; every one leads outside
    the allowed root or stays inside it (still refused: no '..' at all)."""
    escape = str(tmp_path / ".." / outside.name / "mix.wav")
    inside = str(tmp_path / "sub" / ".." / "mix.wav")
    cases = [("mix-escape", [escape, str(tmp_path / "o.wav")]),
             ("mix-inside", [inside, str(tmp_path / "o.wav")]),
             ("out-escape", [str(mix), str(tmp_path / ".." / outside.name / "o.wav")]),
             ("out-inside", [str(mix), str(tmp_path / "sub" / ".." / "o.wav")])]
    for key in P.PATH_KEYS:
        cases.append((f"{key}-escape", [str(mix), str(tmp_path / "o.wav"), key, escape]))
    return cases


def test_dotdot_paths_are_refused_before_anything_is_queued(server, client, tmp_path,  # noqa: F811
                                                             tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    write_mix(outside / "mix.wav", seconds=0.6)
    (tmp_path / "sub").mkdir()
    mix = write_mix(tmp_path / "mix.wav", seconds=0.6)
    for job, args in _dotdot_cases(tmp_path, mix, outside):
        client.send(P.GENERATE, job, *args, "steps", 2)
        (addr, rargs), = [(a, r) for _, a, r in collect(client, job, timeout=5)]  # one reply: no ACCEPTED
        assert addr == P.ERROR and "must not contain '..'" in rargs[1], (job, rargs)
    for key in P.PATH_KEYS:  # a server-side default path is checked the same way
        client.send(P.SET_PARAM, key, str(tmp_path / ".." / outside.name / "mix.wav"))
        got = client.receive(3)
        assert got is not None and got[0] == P.ERROR and "'..'" in got[1][1], (key, got)
    assert server.queue.snapshot() == {"running": None, "waiting": []} and server.queue.job("mix-escape") is None
    assert sorted(p.name for p in outside.iterdir()) == ["mix.wav"] and not (tmp_path / "o.wav").exists()


def test_output_equal_to_the_mix_or_a_link_to_it_is_refused_even_with_overwrite(client, tmp_path):  # noqa: F811
    mix = write_mix(tmp_path / "mix.wav", seconds=0.6)
    before = mix.read_bytes()
    (tmp_path / "link.wav").symlink_to(mix)
    # the same path is refused on arrival; a link to the mix when the render resolves its outputs
    for job, out, why in (("same", mix, "output path must differ from the mix path"),
                          ("link", tmp_path / "link.wav", "output would overwrite the input")):
        client.send(P.GENERATE, job, str(mix), str(out), "steps", 2, "overwrite", True)
        replies = collect(client, job, timeout=60)
        assert replies[-1][1] == P.ERROR and why in replies[-1][2][1], replies
    assert mix.read_bytes() == before and (tmp_path / "link.wav").resolve() == mix


def test_a_foreign_file_at_the_output_path_is_kept_without_overwrite(client, tmp_path):  # noqa: F811
    mix = write_mix(tmp_path / "mix.wav", seconds=0.6)
    foreign = tmp_path / "bass.wav"
    foreign.write_bytes(b"someone else's file")
    client.send(P.GENERATE, "keep", str(mix), str(foreign), "steps", 2)
    replies = collect(client, "keep", timeout=60)
    assert replies[-1][1] == P.ERROR and "already exists" in replies[-1][2][1], replies
    assert foreign.read_bytes() == b"someone else's file" and not list(tmp_path.glob(".*"))
