"""Hostile OSC traffic over a real UDP socket: unknown type tags, and a folder swapped for a
symlink while its job waits in the queue (the write-time check)."""

from __future__ import annotations

import os
import time

from osc_support import client, collect, generator, model_path, server, write_mix  # noqa: F401  (fixtures)

from groundbass.bridge.osc import protocol as P


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
