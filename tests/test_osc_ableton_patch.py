"""The bundled Max patch is valid JSON whose OSC boxes match the protocol, and its
groundbass_live.js builds numbered requests and places finished basses in Live 12 (run under
node with stand-ins for Max's outlet, File and LiveAPI)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PATCH = ROOT / "ableton" / "groundbass.maxpat"
LIVE_JS = ROOT / "ableton" / "groundbass_live.js"
HARNESS = ROOT / "tests" / "js" / "live_harness.js"
NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed")


def patcher():
    patcher = json.loads(PATCH.read_text())["patcher"]
    boxes = {b["box"]["id"]: b["box"] for b in patcher["boxes"]}
    lines = [(ln["patchline"]["source"], ln["patchline"]["destination"]) for ln in patcher["lines"]]
    return boxes, lines


def by_text(boxes, text):
    (found,) = [i for i, b in boxes.items() if b.get("text", "") == text]
    return found


def test_maxpat_is_plain_json_and_wired_to_the_bridge():
    boxes, lines = patcher()
    texts = [b.get("text", "") for b in boxes.values()]
    assert "udpsend 127.0.0.1 9030" in texts and "udpreceive 9031" in texts
    for src, dst in lines:
        assert src[0] in boxes and dst[0] in boxes
        assert src[1] < boxes[src[0]]["numoutlets"] and dst[1] < boxes[dst[0]]["numinlets"]


def test_patch_uses_slash_paths_and_the_live_js():
    """Paths reach the bridge as /Users/... (conformpath slash boot, not the native
    `Macintosh HD:/...` form); requests come out of groundbass_live.js, which sits beside
    the patch; done and error replies go back into it."""
    boxes, lines = patcher()
    texts = [b.get("text", "") for b in boxes.values()]
    assert "conformpath slash boot" in texts and not any("native" in t for t in texts)
    js = by_text(boxes, "js groundbass_live.js")
    assert LIVE_JS.is_file()
    assert (["obj-8", 0], [by_text(boxes, "prepend generate"), 0]) in lines
    assert ([by_text(boxes, "prepend generate"), 0], [js, 0]) in lines
    assert ([js, 0], [by_text(boxes, "udpsend 127.0.0.1 9030"), 0]) in lines
    route = next(i for i, b in boxes.items() if b.get("text", "").startswith("route "))
    addresses = boxes[route]["text"].split()[1:]
    for address, prefix in (("/groundbass/done", "prepend done"), ("/groundbass/error", "prepend error")):
        hop = by_text(boxes, prefix)
        assert ([route, addresses.index(address)], [hop, 0]) in lines and ([hop, 0], [js, 0]) in lines
    for message in ("prepend overwrite", "prepend target"):
        assert ([by_text(boxes, message), 0], [js, 0]) in lines
        toggle = next(s[0] for s, d in lines if d[0] == by_text(boxes, message))
        assert boxes[toggle]["maxclass"] == "toggle"
    assert ([by_text(boxes, "cancel"), 0], [js, 0]) in lines


@needs_node
def test_live_js_parses():
    subprocess.run([NODE, "--check", str(LIVE_JS)], check=True, timeout=30)


def run_js(**scenario) -> dict:
    proc = subprocess.run([NODE, str(HARNESS), str(LIVE_JS), json.dumps(scenario)], capture_output=True,
                          text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def requests(result) -> list[list]:
    return [v for n, v in result["outlets"] if n == 0]


MIX = "/Users/me/Tom's Song/mix.wav"


@needs_node
def test_every_click_is_a_new_job_with_its_own_output():
    r = run_js(messages=[["generate", MIX], ["generate", MIX]], existing=["/Users/me/Tom's Song/mix-groundbass-1.wav"])
    first, second = requests(r)
    assert first[0] == "/groundbass/generate" and first[2] == MIX
    assert first[3] == "/Users/me/Tom's Song/mix-groundbass-2.wav"  # -1 exists from an earlier session
    assert second[3] == "/Users/me/Tom's Song/mix-groundbass-3.wav"
    assert first[1] != second[1] and all(re.fullmatch(r"m4l-[0-9a-z]+-\d+", j[1]) for j in (first, second))
    assert first[-2:] == ["reply_port", 9031] and "overwrite" not in first


@needs_node
def test_overwrite_toggle_reuses_one_file_and_sends_the_overwrite_key():
    r = run_js(messages=[["overwrite", 1], ["generate", MIX], ["generate", MIX], ["cancel"]])
    first, second, cancel = requests(r)
    assert first[3] == second[3] == "/Users/me/Tom's Song/mix-groundbass.wav"
    assert first[4:] == ["overwrite", 1, "reply_port", 9031]
    assert cancel == ["/groundbass/cancel", second[1], "reply_port", 9031]


def job_and_done(*first, **scenario) -> tuple[dict, str]:
    """Send one job (after the messages `first`) and its done reply; the result and the output path."""
    r = run_js(messages=[*first, ["generate", MIX], ["done", "$job", "$out"]], **scenario)
    (req,) = requests(r)
    return r, req[3]


@needs_node
def test_live_12_puts_the_bass_on_a_new_audio_track_at_the_song_position():
    r, out = job_and_done(live_major=12, song_time=16.0, tracks=3)
    assert ["call", "live_set", "create_audio_track", -1] in r["calls"]
    assert ["call", "live_set tracks 3", "create_audio_clip", out, 16.0] in r["calls"]
    assert r["outlets"][-1][1].startswith("done:")


@needs_node
def test_live_12_target_toggle_uses_the_selected_audio_track():
    r, out = job_and_done(["target", 1], live_major=12, song_time=8.0, tracks=3, selected_path="live_set tracks 1",
                          selected_audio=True)
    assert ["call", "live_set tracks 1", "create_audio_clip", out, 8.0] in r["calls"]
    assert not any(c[2] == "create_audio_track" for c in r["calls"])


@needs_node
def test_before_live_12_or_outside_live_it_says_to_drag_the_file():
    for scenario in ({"live_major": 11, "song_time": 4.0}, {}):
        r, out = job_and_done(**scenario)
        assert not any(c[2] == "create_audio_clip" for c in r["calls"])
        assert "drag " + out in r["outlets"][-1][1]


@needs_node
def test_replies_about_other_jobs_are_ignored():
    r = run_js(messages=[["done", "someone-else", "/tmp/x.wav"]], live_major=12, song_time=0.0)
    assert r["calls"] == [] and r["outlets"] == []
