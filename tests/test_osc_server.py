"""The OSC bridge over real UDP sockets on 127.0.0.1 (ephemeral ports), with a random-init
`small` model, ~2.5 s mixes and 2 diffusion steps per job."""

from __future__ import annotations

import os
import time

import soundfile as sf
from osc_support import collect, write_mix

from groundbass.bridge.osc import protocol as P
from groundbass.bridge.osc.client import BridgeClient
from groundbass.core.checkpoint import groundbass_version

LONG_STEPS = 400  # a job that runs a few seconds on 2 CPU cores (cancelled long before the end)


def test_ping_answers_version_model_and_device(client, generator):
    assert client.ping() == (groundbass_version(), generator.model_id, "cpu")


def test_generate_end_to_end(client, tmp_path):
    mix = write_mix(tmp_path / "my mix.wav")
    out = tmp_path / "bass out.wav"
    client.send(P.GENERATE, "job-1", str(mix), str(out), "steps", 2, "seed", 7)
    replies = collect(client, "job-1")
    addrs = [a for _, a, _ in replies]
    assert addrs[0] == P.ACCEPTED and replies[0][2] == ["job-1", 0]
    assert P.PROGRESS in addrs and addrs[-2:] == [P.OUTPUT, P.DONE]
    for _, a, args in replies:
        if a == P.PROGRESS:
            assert 0.0 <= args[1] <= 1.0 and isinstance(args[2], str)
    assert replies[-2][2] == ["job-1", 0, str(out), "", 7]
    assert replies[-1][2] == ["job-1", str(out)]
    info_in, info_out = sf.info(str(mix)), sf.info(str(out))
    assert (info_out.frames, info_out.channels, info_out.samplerate) == (info_in.frames, 2, info_in.samplerate)
    assert not [p for p in os.listdir(tmp_path) if p not in ("my mix.wav", "bass out.wav")]  # no temp left


def test_int_job_ids_are_echoed_as_ints(client, tmp_path):
    mix = write_mix(tmp_path / "mix.wav")
    client.send(P.GENERATE, 17, str(mix), str(tmp_path / "b.wav"), "steps", 2)
    replies = collect(client, 17)
    assert replies[-1][1] == P.DONE and all(args[0] == 17 for _, _, args in replies)


def test_two_clients_with_interleaved_jobs(server, tmp_path):
    mix_a = write_mix(tmp_path / "a.wav", seed=1)
    mix_b = write_mix(tmp_path / "b.wav", seconds=1.5, channels=1, seed=2)
    with BridgeClient(*server.address) as a, BridgeClient(*server.address) as b:
        a.send(P.GENERATE, "a1", str(mix_a), str(tmp_path / "a1.wav"), "steps", 2)
        b.send(P.GENERATE, "b1", str(mix_b), str(tmp_path / "b1.wav"), "steps", 2)
        a.send(P.GENERATE, "a2", str(mix_a), str(tmp_path / "a2.wav"), "steps", 2, "seed", 3)
        b.send(P.GENERATE, "b2", str(mix_b), str(tmp_path / "b2.wav"), "steps", 2)
        for c, ids in ((a, ("a1", "a2")), (b, ("b1", "b2"))):
            seen = {}
            deadline = time.monotonic() + 60
            while len(seen) < 2 and time.monotonic() < deadline:
                msg = c.receive(deadline - time.monotonic())
                assert msg is not None
                addr, args = msg
                assert args[0] in ids, f"{args[0]} leaked to the wrong client"
                if addr in (P.DONE, P.ERROR):
                    seen[args[0]] = (addr, args)
            assert {k: v[0] for k, v in seen.items()} == {ids[0]: P.DONE, ids[1]: P.DONE}
    assert sf.info(str(tmp_path / "b2.wav")).frames == sf.info(str(mix_b)).frames
    assert sf.info(str(tmp_path / "a2.wav")).channels == 2 and sf.info(str(tmp_path / "b1.wav")).channels == 1


def test_cancel_running_and_queued_jobs_control_answered_meanwhile(server, client, tmp_path):
    mix = write_mix(tmp_path / "mix.wav")
    client.send(P.GENERATE, "long", str(mix), str(tmp_path / "long.wav"), "steps", LONG_STEPS)
    client.send(P.GENERATE, "next", str(mix), str(tmp_path / "next.wav"), "steps", 2)
    # wait until the long job is in its diffusion loop
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        addr, args = client.receive(5)
        if addr == P.PROGRESS and args[0] == "long" and args[2] == "diffusion":
            break
    # control messages are answered at once while it runs
    t0 = time.monotonic()
    status = client.request(P.STATUS, expect=(P.STATUS_REPLY,))
    assert time.monotonic() - t0 < 0.5
    assert status[:2] == ["busy", "long"] and status[4] == 1
    assert client.request(P.STATUS, "next", expect=(P.JOB_STATUS_REPLY,))[:2] == ["next", "queued"]
    client.send(P.CANCEL, "next")
    assert [a for _, a, _ in collect(client, "next")][-1] == P.CANCELLED
    client.send(P.CANCEL, "long")
    replies = collect(client, "long", timeout=20)
    assert replies[-1][1] == P.CANCELLED
    assert not (tmp_path / "long.wav").exists() and not (tmp_path / "next.wav").exists()
    assert client.request(P.STATUS, "long", expect=(P.JOB_STATUS_REPLY,))[1] == "cancelled"
    assert client.ping()[0] == groundbass_version()


def test_progress_at_least_once_per_second(client, tmp_path):
    mix = write_mix(tmp_path / "mix.wav")
    client.send(P.GENERATE, "hb", str(mix), str(tmp_path / "hb.wav"), "steps", LONG_STEPS)
    times = []
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:
        msg = client.receive(1.5)
        assert msg is not None, "no reply for 1.5 s while a job runs"
        if msg[0] == P.PROGRESS:
            times.append(time.monotonic())
    client.send(P.CANCEL, "hb")
    collect(client, "hb", timeout=20)
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert len(times) >= 3 and max(gaps) < 1.0


def test_bad_paths_get_error_replies_and_the_server_keeps_serving(client, tmp_path):
    client.send(P.GENERATE, "missing", str(tmp_path / "nope.wav"), str(tmp_path / "o.wav"))
    (addr, args), = [(a, r) for _, a, r in collect(client, "missing", timeout=5)]
    assert addr == P.ERROR and "does not exist" in args[1]
    not_audio = tmp_path / "notes.wav"
    not_audio.write_text("this is not audio")
    client.send(P.GENERATE, "junk", str(not_audio), str(tmp_path / "o.wav"), "steps", 2)
    replies = collect(client, "junk", timeout=30)
    assert replies[0][1] == P.ACCEPTED and replies[-1][1] == P.ERROR
    assert "\n" not in replies[-1][2][1] and "Traceback" not in replies[-1][2][1]
    client.send(P.GENERATE, "nodir", str(write_mix(tmp_path / "m.wav")), str(tmp_path / "no dir" / "o.wav"))
    assert collect(client, "nodir", timeout=5)[-1][1] == P.ERROR
    assert client.ping()[0] == groundbass_version()


def test_paths_outside_the_allowed_roots_are_refused(client, tmp_path, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    mix_out = write_mix(outside / "mix.wav")
    mix_in = write_mix(tmp_path / "mix.wav")
    link = tmp_path / "link.wav"
    link.symlink_to(mix_out)
    (tmp_path / "dirlink").symlink_to(outside, target_is_directory=True)
    cases = {
        "read-outside": (str(mix_out), str(tmp_path / "o.wav")),
        "write-outside": (str(mix_in), str(outside / "o.wav")),
        "dotdot": (str(tmp_path / ".." / outside.name / "mix.wav"), str(tmp_path / "o.wav")),
        "symlink-in": (str(link), str(tmp_path / "o.wav")),
        "symlink-dir-out": (str(mix_in), str(tmp_path / "dirlink" / "o.wav")),
        "relative": ("mix.wav", str(tmp_path / "o.wav")),
        "etc": ("/etc/passwd", str(tmp_path / "o.wav")),
    }
    for job, (mix, out) in cases.items():
        client.send(P.GENERATE, job, mix, out, "steps", 2)
        (addr, args), = [(a, r) for _, a, r in collect(client, job, timeout=5)]
        assert addr == P.ERROR, job
    client.send(P.GENERATE, "style", str(mix_in), str(tmp_path / "o.wav"), "style", str(mix_out))
    assert collect(client, "style", timeout=5)[-1][2][1].startswith("style path is outside")
    assert not (outside / "o.wav").exists() and not (tmp_path / "o.wav").exists()


def test_reply_port_and_parameters(server, client, tmp_path):
    with BridgeClient(*server.address) as listener:
        client.send(P.PING, "reply_port", listener.port)
        assert listener.receive(2)[0] == P.PONG
        client.send(P.SET_PARAM, "steps", 2, "reply_port", listener.port)
        assert listener.receive(2) == (P.PARAM, ["steps", 2])
        params = client.request(P.GET_PARAMS, expect=(P.PARAMS,))
        assert dict(zip(params[::2], params[1::2]))["steps"] == 2
        mix = write_mix(tmp_path / "mix.wav")
        client.send(P.GENERATE, "rp", str(mix), str(tmp_path / "rp.wav"), "reply_port", listener.port)
        replies = collect(listener, "rp")  # default steps 2 from set/param keeps it fast
        assert replies[0][1] == P.ACCEPTED and replies[-1][1] == P.DONE
        assert client.receive(0.3) is None  # nothing went to the sender's own port
        client.send(P.SET_PARAM, "steps", "")
        assert client.receive(2) == (P.PARAM, ["steps", 64])  # back to the model's default


def test_wrong_types_unknown_addresses_and_oversized_packets(server, client):
    bad = [
        ((P.GENERATE, "j", 1, 2), "mix_path must be a string"),
        ((P.GENERATE, "j", "/tmp/a.wav", "/tmp/b.wav", "steps", "many"), "steps must be an integer"),
        ((P.GENERATE, "j", "/tmp/a.wav", "/tmp/b.wav", "colour", "red"), "unknown parameter"),
        ((P.GENERATE, "j", "/tmp/a.wav", "/tmp/b.wav", "cfg"), "key value pairs"),
        ((P.GENERATE, 1.5, "/tmp/a.wav", "/tmp/b.wav"), "job id"),
        ((P.SET_PARAM, "phi", 3.0), "phi must be within"),
        ((P.CANCEL,), "cancel needs"),
        (("/groundbass/explode",), "unknown address"),
        (("/other/thing", 1),  "unknown address"),
    ]
    for msg, expected in bad:
        client.send(*msg)
        got = client.receive(2)
        assert got is not None and got[0] == P.ERROR and expected in got[1][1], (msg, got)
    client.sock.sendto(b"/groundbass/ping\x00\x00\x00\x00,s\x00\x00" + b"x" * 9000 + b"\x00" * 4, server.address)
    assert "too large" in client.receive(2)[1][1]
    client.sock.sendto(b"\x00\x01garbage", server.address)
    assert client.receive(2) == (P.ERROR, ["", "malformed OSC packet"])
    assert client.ping()[0] == groundbass_version()


def test_harmony_cfg_key_reaches_the_render(server, client, tmp_path):
    """harmony_cfg is a generate key with the model's default in get/params; a model trained
    without latent dropout (the test model) answers a value above 0 with one error line."""
    params = client.request(P.GET_PARAMS, expect=(P.PARAMS,))
    assert dict(zip(params[::2], params[1::2]))["harmony_cfg"] == 0.0
    mix = write_mix(tmp_path / "mix.wav")
    client.send(P.GENERATE, "hc", str(mix), str(tmp_path / "hc.wav"), "harmony_cfg", 1.0, "steps", 1)
    replies = collect(client, "hc")
    assert replies[-1][1] == P.ERROR and "cannot take harmony guidance" in replies[-1][2][1]
    assert not (tmp_path / "hc.wav").exists()
    client.send(P.GENERATE, "hz", str(mix), str(tmp_path / "hz.wav"), "harmony_cfg", 0.0, "steps", 1)
    assert collect(client, "hz")[-1][1] == P.DONE and (tmp_path / "hz.wav").is_file()
