"""The edit keys over a real UDP socket: keep + region, keep + continue, loop, transition_to +
span; the kept samples survive; a transition reference outside the allowed folders is refused."""

from __future__ import annotations

import numpy as np
import soundfile as sf
from osc_support import MIX_RATE, collect, write_mix

from groundbass.bridge.osc import protocol as P


def _bass(path, seconds, rate=MIX_RATE):
    t = np.arange(int(seconds * rate)) / rate
    sf.write(path, (0.3 * np.sin(2 * np.pi * 55 * t)).astype(np.float32), rate, subtype="FLOAT")
    return path


def test_edit_keys_over_osc(client, tmp_path):  # noqa: F811
    mix = write_mix(tmp_path / "mix.wav")
    old = _bass(tmp_path / "old.wav", 2.5)
    a, rate = sf.read(old, dtype="float32")
    client.send(P.GENERATE, "r", str(mix), str(tmp_path / "r.wav"), "steps", 2, "keep", str(old), "region", "1:1.5")
    assert collect(client, "r")[-1][1] == P.DONE
    r, _ = sf.read(tmp_path / "r.wav", dtype="float32")
    assert np.array_equal(r[:rate], a[:rate]) and np.array_equal(r[int(1.5 * rate):], a[int(1.5 * rate):])

    short = _bass(tmp_path / "short.wav", 1.0)
    client.send(P.GENERATE, "c", str(mix), str(tmp_path / "c.wav"), "steps", 2, "keep", str(short), "continue", 1)
    assert collect(client, "c")[-1][1] == P.DONE
    assert sf.info(tmp_path / "c.wav").frames == sf.info(mix).frames

    client.send(P.GENERATE, "t", str(mix), str(tmp_path / "t.wav"), "steps", 2, "keep", str(old),
                "transition_to", str(short), "span", "1:2", "grounding", 1.0)
    assert collect(client, "t")[-1][1] == P.DONE
    t, _ = sf.read(tmp_path / "t.wav", dtype="float32")
    fade = int(round(0.03 * rate))
    assert np.array_equal(t[:rate - fade], a[:rate - fade])

    client.send(P.GENERATE, "l", str(mix), str(tmp_path / "l.wav"), "steps", 2, "loop", 1)
    assert collect(client, "l")[-1][1] == P.DONE

    client.send(P.GENERATE, "g", str(mix), str(tmp_path / "g.wav"), "steps", 2, "keep", str(old), "region", "1:1.5",
                "edit_method", "guidance", "crossfade", 0.01)
    assert collect(client, "g")[-1][1] == P.DONE
    g, _ = sf.read(tmp_path / "g.wav", dtype="float32")
    assert np.array_equal(g[:rate], a[:rate]) and np.array_equal(g[int(1.5 * rate):], a[int(1.5 * rate):])
    for key, value, message in [("edit_method", "blend", "edit_method must be one of"),
                                ("crossfade", 2.0, "crossfade must be within 0..1")]:
        client.send(P.GENERATE, "bad", str(mix), str(tmp_path / "bad.wav"), "keep", str(old), "region", "1:1.5",
                    key, value)
        reply = collect(client, "bad")[-1]
        assert reply[1] == P.ERROR and message in reply[2][-1], reply
    assert not (tmp_path / "bad.wav").exists()


def test_transition_reference_outside_the_roots_is_refused(client, tmp_path, tmp_path_factory):  # noqa: F811
    outside = _bass(tmp_path_factory.mktemp("elsewhere") / "ref.wav", 1.0)
    mix = write_mix(tmp_path / "mix.wav")
    client.send(P.GENERATE, "x", str(mix), str(tmp_path / "x.wav"), "steps", 2, "transition_to", str(outside),
                "span", "0.5:1")
    replies = collect(client, "x")
    assert replies[-1][1] == P.ERROR and "transition_to path" in replies[-1][2][1]
    assert not (tmp_path / "x.wav").exists()
