"""1,000 random and malformed datagrams (fixed seed) to a bridge on 127.0.0.1, then a ping
that must still be answered. Bounded: every datagram is under 9 KB and goes to 127.0.0.1."""

from __future__ import annotations

import random
import struct
import time

from pythonosc.osc_message_builder import OscMessageBuilder

from groundbass.bridge.osc import protocol as P
from groundbass.core.checkpoint import groundbass_version

N_DATAGRAMS = 1000


def _random_arg(rng: random.Random):
    kind = rng.randrange(7)
    if kind == 0:
        return rng.randint(-2**31, 2**31 - 1), "i"
    if kind == 1:
        return rng.uniform(-1e9, 1e9), "f"
    if kind == 2:
        return "".join(chr(rng.randrange(1, 0x2FF)) for _ in range(rng.randrange(0, 40))), "s"
    if kind == 3:
        return rng.randbytes(rng.randrange(1, 64)), "b"
    if kind == 4:
        return rng.choice([True, False]), None
    if kind == 5:
        return rng.choice(list(P.RENDER_KEYS) + ["reply_port", "overwrite", "..", "/etc/passwd"]), "s"
    return None, "N"


def _datagram(rng: random.Random, tmp_path) -> bytes:
    kind = rng.randrange(6)
    if kind == 0:  # pure noise
        return rng.randbytes(rng.randrange(0, 600))
    if kind == 1:  # oversized
        return rng.randbytes(rng.randrange(P.MAX_DATAGRAM + 1, P.MAX_DATAGRAM + 800))
    address = rng.choice(list(P.REQUESTS) + ["/groundbass", "/groundbass/", "/x", "/groundbass/get/nothing"])
    b = OscMessageBuilder(address=address)
    if address == P.GENERATE and rng.random() < 0.5:  # plausible but never valid: no such files
        b.add_arg(f"fz{rng.randrange(10**6)}")
        b.add_arg(str(tmp_path / f"missing-{rng.randrange(10**6)}.wav"))
        b.add_arg(rng.choice([str(tmp_path / "o.wav"), "/etc/x.wav", "../../o.wav"]))
    for _ in range(rng.randrange(0, 8)):
        value, tag = _random_arg(rng)
        if address == P.PING and value == "reply_port":
            value = "x"  # replies to random ports are pointless; keep them to this client
        b.add_arg(value, tag) if tag else b.add_arg(value)
    dgram = b.build().dgram
    if kind == 3:  # truncated
        return dgram[: rng.randrange(0, len(dgram) + 1)]
    if kind == 4:  # corrupted bytes
        data = bytearray(dgram)
        for _ in range(rng.randrange(1, 6)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        return bytes(data)
    if kind == 5:  # inside a bundle, sometimes with a lying size field
        size = len(dgram) if rng.random() < 0.5 else rng.randrange(0, 2**31)
        return b"#bundle\x00" + struct.pack(">Q", 1) + struct.pack(">i", size) + dgram
    return dgram


def test_fuzzed_datagrams_do_not_stop_the_server(server, client, tmp_path):
    rng = random.Random(20240611)
    replies = 0
    for i in range(N_DATAGRAMS):
        client.sock.sendto(_datagram(rng, tmp_path), server.address)
        if i % 25 == 24:  # pace the burst and drain replies so no socket buffer overflows
            time.sleep(0.005)
            while client.receive(0.001) is not None:
                replies += 1
    while client.receive(0.2) is not None:
        replies += 1
    assert replies > 0  # errors came back
    assert server._thread.is_alive()
    assert client.ping(timeout=3.0)[0] == groundbass_version()
    assert server.queue.snapshot()["running"] is None and not server.queue.snapshot()["waiting"]
