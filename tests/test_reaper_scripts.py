"""The REAPER scripts, run with lua5.4 against a recorded stand-in `reaper` table.

REAPER itself is not available on the test machines: tests/lua/reaper_stub.lua answers
like REAPER's API, keeps a tiny project model and records every call. The spawned
command line is split the way REAPER splits it on macOS/Linux (no shell: double quotes
group, single quotes are plain characters) and run as that argv: a fake `groundbass` (a
Python script in a folder named "Tom's bin dir") records its argv, reads the args file with
the real `--args-file` parser and writes the status file the way `groundbass send
--status-file` does; the stub "finishes" the job a few defer ticks later.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "reaper_scripts"
STUB = ROOT / "tests" / "lua" / "reaper_stub.lua"
GENERATE = SCRIPTS / "groundbass - Generate bass for time selection.lua"
SETTINGS = SCRIPTS / "groundbass - Settings.lua"
REGENERATE = SCRIPTS / "groundbass - Regenerate last.lua"
CANCEL = SCRIPTS / "groundbass - Cancel.lua"
LUA = shutil.which("lua5.4")

needs_lua = pytest.mark.skipif(LUA is None, reason="lua5.4 is not installed (apt-get install lua5.4)")

RENDER_DEFAULTS = {  # a project's own render settings, which the script must restore
    "RENDER_SETTINGS": 32, "RENDER_BOUNDSFLAG": 1, "RENDER_CHANNELS": 1, "RENDER_SRATE": 48000,
    "RENDER_STARTPOS": 0.0, "RENDER_ENDPOS": 0.0, "RENDER_TAILFLAG": 1, "RENDER_TAILMS": 500,
    "RENDER_ADDTOPROJ": 1, "RENDER_DITHER": 0, "RENDER_NORMALIZE": 0,
    "RENDER_FILE": "/somewhere/renders", "RENDER_PATTERN": "$project", "RENDER_FORMAT": "bDNwbQ==",
    "RENDER_FORMAT2": "",
}

FAKE_GROUNDBASS = r'''#!{python}
"""Fake `groundbass`: records argv, writes the status file like `groundbass send` would."""
import json, os, shutil, sys
from groundbass.bridge.cli_osc import expand_args_file
from groundbass.bridge.osc.status_file import StatusFile, write_json_atomic

log_dir = {log_dir!r}
mode = os.environ.get("FAKE_MODE", "")
if sys.argv[1:2] == ["serve"]:  # started in the background by the action: just note it
    with open(os.path.join(log_dir, "serve_argv.json"), "w") as f:
        json.dump(sys.argv[1:], f)
    sys.exit(0)
with open(os.path.join(log_dir, "raw_argv.json"), "w") as f:
    json.dump(sys.argv[1:], f)
argv = expand_args_file(sys.argv[1:])
if "--cancel" in argv:  # the bridge cancels the job: its send process writes "cancelled"
    with open(os.path.join(log_dir, "cancel_argv.json"), "w") as f:
        json.dump(argv, f)
    status_path = open(os.path.join(log_dir, "status_path.txt")).read().strip()
    final = json.load(open(status_path))
    final.update(state="cancelled")
    write_json_atomic(status_path + ".final", final)
    sys.exit(0)
with open(os.path.join(log_dir, "argv.json"), "w") as f:
    json.dump(argv, f)
status_path = argv[argv.index("--status-file") + 1]
mix, out = argv[1], argv[2]
st = StatusFile(status_path, job="fakejob", mix=mix, out=out)
st.update(state="running", model="fake-model", device="cpu", version="0.1.0", progress=0.3, stage="diffusion")
final = dict(st.data)
if mode == "nobridge" and not os.path.exists(os.path.join(log_dir, "serve_argv.json")):
    final.update(state="error", error="no groundbass bridge answered on 127.0.0.1:9030 (start one with `groundbass serve`)")
elif mode == "error":
    final.update(state="error", error="mix path is outside the allowed folders: " + mix)
else:
    shutil.copyfile(mix, out)
    midi = []
    if "--midi" in argv:
        midi = [out[:-4] + ".mid"]
        open(midi[0], "wb").write(b"MThd")
    seed = int(argv[argv.index("--seed") + 1]) if "--seed" in argv else 4242
    final.update(state="done", progress=1.0, stage="done", outputs=[out], midi=midi, seeds=[seed])
write_json_atomic(status_path + ".final", final)
with open(os.path.join(log_dir, "status_path.txt"), "w") as f:
    f.write(status_path + "\n")
'''


def lua_literal(value) -> str:
    """A Python value as Lua source (strings escaped byte by byte)."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + "".join(c if c.isalnum() or c in " /._-" else "".join(f"\\{b:03d}" for b in c.encode())
                             for c in value) + '"'
    if isinstance(value, (list, tuple)):
        return "{" + ", ".join(lua_literal(v) for v in value) + "}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"[{lua_literal(k)}] = {lua_literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


PROJECT_NAMES = ["Tom's Song", "My \"Song\" it's $HOME here"]


@pytest.fixture(params=PROJECT_NAMES[:1])
def daw(tmp_path, request):
    """A project folder and a fake groundbass command, both with awkward names, and a temp
    folder (TMPDIR) with a space in it."""
    project_dir = tmp_path / request.param
    project_dir.mkdir()
    bin_dir = tmp_path / "Tom's bin dir"
    bin_dir.mkdir()
    log_dir = tmp_path / "log"
    log_dir.mkdir()
    temp = tmp_path / "temp dir"
    temp.mkdir()
    fake = bin_dir / "fake groundbass"
    fake.write_text(FAKE_GROUNDBASS.format(python=sys.executable, log_dir=str(log_dir)))
    fake.chmod(0o755)
    return {"tmp": tmp_path, "project_dir": project_dir, "project_file": project_dir / "song.RPP",
            "fake": fake, "log": log_dir, "temp": temp}


def run_script(script: Path, tmp_path: Path, setup: dict, *, env: dict | None = None, ticks: int = 50) -> dict:
    out = tmp_path / "stub_dump.json"
    runner = tmp_path / "runner.lua"
    runner.write_text(textwrap.dedent(f"""
        local stub = dofile({lua_literal(str(STUB))})
        stub.setup({lua_literal(setup)})
        local ok, err = pcall(dofile, {lua_literal(str(script))})
        if not ok then stub.script_error = tostring(err) end
        stub.run({ticks})
        stub.dump({lua_literal(str(out))})
    """))
    proc = subprocess.run([LUA, str(runner)], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "TMPDIR": str(tmp_path / "temp dir"), **(env or {})})
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    assert result.get("script_error") is None, result.get("script_error")
    return result


def run_lua(tmp_path: Path, setup: dict, body: str) -> str:
    """Run `body` (Lua, with `stub` and `gb` loaded) against the stand-in; its stdout."""
    script = tmp_path / "snippet.lua"
    script.write_text(f"local stub = dofile({lua_literal(str(STUB))})\nstub.setup({lua_literal(setup)})\n"
                      f"local gb = dofile({lua_literal(str(SCRIPTS / 'groundbass_common.lua'))})\n{body}\n")
    return subprocess.run([LUA, str(script)], capture_output=True, text=True, timeout=30, check=True).stdout


def base_setup(daw, **extra) -> dict:
    setup = {
        "project_file": str(daw["project_file"]), "project_path": str(daw["project_dir"]),
        "proj": dict(RENDER_DEFAULTS),
        "ext": {"groundbass/command": str(daw["fake"])},
        "release": {"after": 3, "list": str(daw["log"] / "status_path.txt")},
    }
    setup.update(extra)
    return setup


def test_reapack_headers():
    for script in (GENERATE, SETTINGS, REGENERATE, CANCEL):
        head = script.read_text().split("\n\n")[0]
        for tag in ("@description", "@version", "@author", "@about"):
            assert f"-- {tag}" in head, f"{script.name} lacks {tag}"
    head = GENERATE.read_text()
    for provided in ("groundbass_common.lua", SETTINGS.name, REGENERATE.name, CANCEL.name):
        assert provided in head.split("-- @link")[0]


@needs_lua
def test_no_time_selection_shows_a_message_box(daw):
    r = run_script(GENERATE, daw["tmp"], base_setup(daw, time_sel=[5.0, 5.0]))
    assert len(r["boxes"]) == 1 and "time selection" in r["boxes"][0]["msg"]
    assert r["exec"] == [] and r["renders"] == [] and r["undo"] == []


@needs_lua
@pytest.mark.parametrize("daw", PROJECT_NAMES, indirect=True)
def test_generate_renders_spawns_polls_and_inserts(daw):
    style = daw["tmp"] / "it's a \"style\" $HOME `x`.wav"
    ext = {"groundbass/command": str(daw["fake"]), "groundbass/cfg": "3", "groundbass/steps": "2",
           "groundbass/style": str(style), "groundbass/midi": "1"}
    tempo_map = [[0.0, 120.0, 4, 4], [10.0, 96.5, 3, 4], [30.0, 140.0, 4, 4]]
    r = run_script(GENERATE, daw["tmp"], base_setup(daw, time_sel=[12.5, 20.25], ext=ext, cursor=3.0,
                                                      tempo_map=tempo_map))
    assert r["boxes"] == []

    # rendered once: master mix of the time selection as WAV into <project>/groundbass
    assert len(r["renders"]) == 1
    during = r["renders"][0]
    work = daw["project_dir"] / "groundbass"
    assert during["RENDER_SETTINGS"] == 0 and during["RENDER_BOUNDSFLAG"] == 2
    assert during["RENDER_STARTPOS"] == 12.5 and during["RENDER_ENDPOS"] == 20.25
    assert during["RENDER_FILE"] == str(work) and during["RENDER_FORMAT"] == "ZXZhdxgA"
    # ... and every RENDER_* setting restored afterwards
    for key, value in RENDER_DEFAULTS.items():
        assert r["proj"][key] == value, key

    # spawned without waiting; split like REAPER splits it (no shell), the command line is
    # only the command and an args file of ours; the args file carries every path intact
    (spawn,) = r["exec"]
    assert spawn["timeout"] == -1
    raw = json.loads((daw["log"] / "raw_argv.json").read_text())
    assert spawn["argv"] == [str(daw["fake"]), *raw]
    assert raw[:2] == ["send", "--args-file"] and len(raw) == 3
    assert raw[2].startswith(str(daw["temp"] / "groundbass-reaper") + "/") and raw[2].endswith(".args.json")
    argv = json.loads((daw["log"] / "argv.json").read_text())
    mix = str(work / during["RENDER_PATTERN"]) + ".wav"
    assert argv[0:2] == ["send", mix]
    out = argv[2]
    assert out.startswith(str(work) + "/groundbass-bass-") and out.endswith(".wav")
    status = argv[argv.index("--status-file") + 1]
    assert status == raw[2][:-len(".args.json")] + ".status.json"
    assert argv[argv.index("--style") + 1] == str(style)
    assert argv[argv.index("--cfg") + 1] == "3" and argv[argv.index("--steps") + 1] == "2"
    assert "--midi" in argv and "--seed" not in argv  # seed -1: the bridge picks one
    assert argv[argv.index("--tempo") + 1] == "96.5"  # the project tempo at the selection start
    assert argv[argv.index("--time-signature") + 1] == "3/4"  # ... and its time signature

    # polled across several defer ticks while "REAPER" stayed responsive
    assert r["ticks"] >= 3

    # bass and MIDI on two new tracks, items made directly (no InsertMedia: no MIDI import
    # dialog) exactly over the selection, in one undo block
    assert [u[0] for u in r["undo"]] == ["begin", "end"]
    bass_track, midi_track = r["tracks"]
    assert bass_track["name"].startswith("groundbass bass fake-model") and "seed=4242" in bass_track["name"]
    assert "cfg=3" in bass_track["name"] and "steps=2" in bass_track["name"]
    for track, path in ((bass_track, out), (midi_track, out[:-4] + ".mid")):
        (item,) = track["items"]
        assert [t["path"] for t in item["takes"]] == [path]
        assert item["position"] == 12.5 and item["length"] == 20.25 - 12.5 and item["in_undo_block"]
    assert midi_track["name"].startswith("groundbass MIDI")
    assert "InsertMedia" not in r["calls"]
    assert r["cursor"] == 3.0  # edit cursor untouched
    assert r["projext"]["groundbass/last_start"] == "12.5"
    assert r["projext"]["groundbass/last_seed"] == "4242"


@needs_lua
def test_bridge_error_is_shown_in_a_message_box(daw):
    r = run_script(GENERATE, daw["tmp"], base_setup(daw, time_sel=[1.0, 2.0]), env={"FAKE_MODE": "error"})
    assert len(r["boxes"]) == 1
    assert "outside the allowed folders" in r["boxes"][0]["msg"]
    assert r["tracks"] == [] and r["undo"] == []
    for key, value in RENDER_DEFAULTS.items():
        assert r["proj"][key] == value, key


@needs_lua
def test_a_half_read_status_file_is_read_again_at_the_next_poll(daw):
    """Windows: REAPER can read the status file while `send` replaces it (or find it locked).
    A read that does not parse, long after the job started, is retried, not an error."""
    log = str(daw["log"] / "status_path.txt")
    setup = base_setup(daw, time_sel=[1.0, 2.0], tick_s=20.0, release={"after": 4, "list": log},
                       events=[{"tick": 2, "kind": "glitch", "list": log}])
    r = run_script(GENERATE, daw["tmp"], setup)
    assert r["boxes"] == []
    (track,) = r["tracks"]
    assert track["items"][0]["position"] == 1.0


@needs_lua
def test_missing_command_reports_after_a_timeout(daw):
    setup = base_setup(daw, time_sel=[1.0, 2.0], ext={"groundbass/command": str(daw["tmp"] / "no such cmd")})
    r = run_script(GENERATE, daw["tmp"], setup, ticks=400)
    assert len(r["boxes"]) == 1 and "did not start" in r["boxes"][0]["msg"]
    assert r["tracks"] == []


@needs_lua
def test_settings_are_stored_with_set_ext_state(daw):
    values = ["/opt/gb/bin/groundbass", "9031", "2.5", "0.7", "32", "0.8", "1.5", "/a, b/style.wav", "7", "2",
              "warm", "1"]
    setup = base_setup(daw, user_inputs={"ok": True, "csv": "\n".join(values)})
    r = run_script(SETTINGS, daw["tmp"], setup)
    assert r["boxes"] == []
    assert r["ext"]["groundbass/style"] == "/a, b/style.wav"
    assert r["ext"]["groundbass/cfg"] == "2.5" and r["ext"]["groundbass/midi"] == "1"
    assert r["ext"]["groundbass/command"] == "/opt/gb/bin/groundbass"
    assert r["user_inputs_asked"]["n"] == len(values)

    bad = list(values)
    bad[4] = "many"
    r = run_script(SETTINGS, daw["tmp"], base_setup(daw, user_inputs={"ok": True, "csv": "\n".join(bad)}))
    assert len(r["boxes"]) == 1 and "steps" in r["boxes"][0]["msg"]
    assert "groundbass/steps" not in r["ext"]


@needs_lua
def test_regenerate_last_uses_the_same_selection_and_a_new_seed(daw):
    r = run_script(REGENERATE, daw["tmp"], base_setup(daw))
    assert len(r["boxes"]) == 1 and "Nothing to regenerate" in r["boxes"][0]["msg"]

    projext = {"groundbass/last_start": "4.25", "groundbass/last_end": "9.5", "groundbass/last_seed": "4242"}
    r = run_script(REGENERATE, daw["tmp"], base_setup(daw, projext=projext, time_sel=[0.0, 0.0]))
    assert r["boxes"] == []
    assert r["time_sel"] == [4.25, 9.5]
    argv = json.loads((daw["log"] / "argv.json").read_text())
    seed = int(argv[argv.index("--seed") + 1])
    assert seed >= 0 and seed != 4242
    (track,) = r["tracks"]
    assert track["items"][0]["position"] == 4.25 and f"seed={seed}" in track["name"]
    assert "--tempo" not in argv and "--time-signature" not in argv  # no MIDI export: no tempo sent


@needs_lua
def test_windows_command_line_and_no_console_window(daw):
    """On Windows the job starts with ExecProcess(cmd, -2): no wait, no console window."""
    r = run_script(GENERATE, daw["tmp"], base_setup(daw, os_name="Win64", time_sel=[1.0, 2.0]))
    (spawn,) = r["exec"]
    assert spawn["timeout"] == -2
    assert spawn["cmd"].startswith(f'"{daw["fake"]}" "send" "--args-file" "')
    out = run_lua(daw["tmp"], {"os_name": "Win64"}, r"""
        io.write(gb.command_line({[[C:\Program Files\gb\groundbass.exe]], [[C:\a b\]]}), "\n")
        io.write(tostring(gb.command_line({[[x"y]]})), "\n")
    """)
    assert out.splitlines() == [r'"C:\Program Files\gb\groundbass.exe" "C:\a b\\"', "nil"]


@needs_lua
def test_tempo_is_sent_only_within_the_command_lines_range(tmp_path):
    tempo_map = [[0.0, 600.0, 4, 4], [8.0, 19.0, 4, 4], [9.0, 20.0, 7, 8]]
    out = run_lua(tmp_path, {"tempo_map": tempo_map},
                  "for _, t in ipairs({1, 8.5, 9}) do io.write(tostring(gb.tempo_at(0, t)), ' ') end")
    assert out.split() == ["nil", "nil", "20.0"]


@needs_lua
def test_time_signature_is_sent_as_n_over_d_when_the_bridge_takes_it(tmp_path):
    tempo_map = [[0.0, 120.0, 7, 8], [8.0, 120.0, 33, 4], [9.0, 120.0, 3, 5], [10.0, 120.0, 12, 16]]
    out = run_lua(tmp_path, {"tempo_map": tempo_map},
                  "for _, t in ipairs({1, 8.5, 9.5, 11}) do io.write(tostring(gb.timesig_at(0, t)), ' ') end")
    assert out.split() == ["7/8", "nil", "nil", "12/16"]


def test_parameter_ranges_file_matches_the_spec():
    """The Lua scripts check settings with the CLI's ranges: the generated file must be current."""
    from groundbass.core.params import lua_ranges

    assert (SCRIPTS / "groundbass_params.lua").read_text() == lua_ranges()


@needs_lua
@pytest.mark.parametrize("field, value, word", [(4, "2.0", "steps"), (2, "nan", "cfg"), (2, "25", "cfg"),
                                                (8, "-5", "seed"), (6, "11", "style_cfg"), (9, "0", "variations")])
def test_settings_refuse_what_the_command_line_would_refuse(daw, field, value, word):
    values = ["/opt/gb/bin/groundbass", "9031", "2.5", "0.7", "32", "0.8", "1.5", "", "7", "2", "warm", "1"]
    values[field] = value
    r = run_script(SETTINGS, daw["tmp"], base_setup(daw, user_inputs={"ok": True, "csv": "\n".join(values)}))
    assert len(r["boxes"]) == 1 and word in r["boxes"][0]["msg"], r["boxes"]


@needs_lua
def test_regenerate_renders_without_earlier_groundbass_tracks(daw):
    """The previous take (a track named "groundbass bass ...") must not be in the mix the model
    hears; the user's own tracks are; every mute state is restored after the render."""
    projext = {"groundbass/last_start": "1.0", "groundbass/last_end": "3.0", "groundbass/last_seed": "7"}
    tracks = [{"name": "Drums", "selected": False, "items": []},
              {"name": "groundbass bass small-synth-v3 seed=7", "selected": False, "items": []},
              {"name": "Keys", "selected": False, "items": [], "mute": True}]
    r = run_script(REGENERATE, daw["tmp"], base_setup(daw, projext=projext, tracks=tracks))
    assert r["boxes"] == []
    (render,) = r["renders"]
    assert render["tracks_heard"] == ["Drums"]  # Keys was muted by the user, the old take by us
    assert render["RENDER_FORMAT2"] == ""
    by_name = {t["name"]: t for t in r["tracks"]}
    assert not by_name["groundbass bass small-synth-v3 seed=7"].get("mute")  # unmuted again
    assert by_name["Keys"]["mute"] is True  # the user's own mute is left alone
    assert r["proj"]["RENDER_FORMAT2"] == RENDER_DEFAULTS["RENDER_FORMAT2"]


REGION = SCRIPTS / "groundbass - Regenerate bass in time selection.lua"


@needs_lua
def test_regenerate_in_time_selection_adds_a_take_to_the_selected_item(daw):
    """A groundbass item at 2.0 s playing its file from offset 0.5 s; the time selection 3.0-4.0 s
    is file time 1.5-2.5 s. The mix under the whole file is rendered (from 1.5 s), send gets
    --keep FILE --region 1.5:2.5, and the result becomes the item's new active take."""
    old = daw["project_dir"] / "groundbass" / "old take.wav"
    old.parent.mkdir()
    old.write_bytes(b"RIFF old take")
    item = {"position": 2.0, "length": 4.0, "selected": True, "takes": [{"path": str(old), "offset": 0.5}]}
    tracks = [{"name": "groundbass bass small-synth-v3", "selected": False, "items": [item]}]
    setup = base_setup(daw, tracks=tracks, time_sel=[3.0, 4.0], source_lengths={str(old): 6.0},
                       ext={"groundbass/command": str(daw["fake"]), "groundbass/midi": "1"})
    r = run_script(REGION, daw["tmp"], setup)
    assert r["boxes"] == []
    argv = json.loads((daw["log"] / "argv.json").read_text())
    assert "--midi" not in argv and "--tempo" not in argv  # with a tempo the region would be read as bars
    assert argv[argv.index("--keep") + 1] == str(old)
    assert argv[argv.index("--region") + 1] == "1.500000:2.500000"
    (render,) = r["renders"]
    assert render["RENDER_STARTPOS"] == 1.5 and render["RENDER_ENDPOS"] == 7.5
    assert render["tracks_heard"] == []  # the groundbass track itself is muted for the render
    (track,) = r["tracks"]
    (got,) = track["items"]
    assert len(got["takes"]) == 2 and got["active"] == 2
    new = got["takes"][1]
    assert new["path"] != str(old) and Path(new["path"]).is_file() and new["offset"] == 0.5
    assert new["in_undo_block"] is True
    assert [u[0] for u in r["undo"]] == ["begin", "end"]


@needs_lua
def test_regenerate_in_time_selection_refuses_without_a_groundbass_item(daw):
    r = run_script(REGION, daw["tmp"], base_setup(daw, time_sel=[3.0, 4.0]))
    assert len(r["boxes"]) == 1 and "Select a groundbass bass item" in r["boxes"][0]["msg"]
    item = {"position": 2.0, "length": 1.0, "selected": True, "takes": [{"path": str(daw["fake"]), "offset": 0}]}
    r = run_script(REGION, daw["tmp"], base_setup(daw, time_sel=[2.5, 4.0],
                                                    tracks=[{"name": "groundbass bass", "items": [item]}]))
    assert len(r["boxes"]) == 1 and "inside the selected item" in r["boxes"][0]["msg"]


def two_projects(daw, **extra) -> dict:
    """Project 1 (where the action starts: Drums selected, Keys not) and a second open tab."""
    other = daw["tmp"] / "other"
    other.mkdir(exist_ok=True)
    tracks = [{"name": "Drums", "selected": True, "items": []}, {"name": "Keys", "selected": False, "items": []}]
    return base_setup(daw, time_sel=[2.0, 6.0], tracks=tracks,
                      other_projects=[{"file": str(other / "b.RPP"), "path": str(other),
                                       "tracks": [{"name": "Other song", "selected": True, "items": []}]}],
                      **extra)


@needs_lua
@pytest.mark.parametrize("missing_api", [{}, {"InsertTrackInProject": True}], ids=["REAPER 7.18+", "older REAPER"])
def test_result_goes_into_the_project_the_job_started_in(daw, missing_api):
    """The user switches to another project tab while the job runs: the bass still goes into
    the first project (every call that takes a project gets its handle), the other tab stays
    active and untouched, and the first project's track selection is as the user left it."""
    setup = two_projects(daw, missing_api=missing_api, events=[{"tick": 2, "kind": "activate", "project": 2}])
    r = run_script(GENERATE, daw["tmp"], setup)
    assert r["boxes"] == []
    first, other = r["projects"]
    assert [t["name"] for t in other["tracks"]] == ["Other song"] and other["tracks"][0]["selected"]
    names = [t["name"] for t in first["tracks"]]
    assert names[:2] == ["Drums", "Keys"] and names[2].startswith("groundbass bass")
    assert first["tracks"][2]["items"][0]["position"] == 2.0
    assert [t["selected"] for t in first["tracks"]] == [True, False, False]
    assert r["active"] == 2  # the user's tab stays in front
    assert r["current_project_calls"] == []  # nothing in deferred code used "the active project"
    assert [u[:2] for u in r["undo"]] == [["begin", 1], ["end", 1]]
    assert r["projext"]["groundbass/last_seed"] == "4242"


@needs_lua
def test_project_closed_while_the_job_ran(daw):
    setup = two_projects(daw, events=[{"tick": 2, "kind": "close", "project": 1}])
    r = run_script(GENERATE, daw["tmp"], setup)
    (box,) = r["boxes"]
    assert "was closed" in box["msg"] and "groundbass-bass-" in box["msg"]
    (other,) = r["projects"]
    assert [t["name"] for t in other["tracks"]] == ["Other song"]


def job_files(daw, r) -> list[Path]:
    """The temporary files of the (first) job: the rendered mix, the args and status files."""
    raw = json.loads((daw["log"] / "raw_argv.json").read_text())
    args = Path(raw[2])
    mix = daw["project_dir"] / "groundbass" / (r["renders"][0]["RENDER_PATTERN"] + ".wav")
    return [mix, args, args.with_name(args.name.replace(".args.json", ".status.json"))]


@needs_lua
@pytest.mark.parametrize("mode", ["", "error"])
def test_progress_window_toggle_and_temporary_files_are_cleaned_up(daw, mode):
    r = run_script(GENERATE, daw["tmp"], base_setup(daw, time_sel=[1.0, 2.0], cmd_id=777), env={"FAKE_MODE": mode})
    assert ["groundbass: diffusion 30 %", "'groundbass - Cancel' stops the job"] in r["gfx_frames"]
    assert r["gfx_open"] is False  # closed when the job ended
    assert r["toggles"] == [[0, 777, 1], [0, 777, 0]]  # the action's button lit while it ran
    assert not any(p.exists() for p in job_files(daw, r))
    assert "groundbass/job_id" not in r["ext"]
    assert (len(r["tracks"]), len(r["boxes"])) == ((1, 0) if mode == "" else (0, 1))


@needs_lua
def test_cancel_action_stops_the_running_job(daw):
    """'groundbass - Cancel' while the job runs: the job sends `send --cancel <its job id>`,
    the bridge's answer ends it quietly, nothing is inserted, the temporary files go."""
    log = str(daw["log"] / "status_path.txt")
    setup = base_setup(daw, time_sel=[1.0, 2.0], release={"after": 6, "list": log},
                       events=[{"tick": 2, "kind": "run", "script": str(CANCEL)}])
    r = run_script(GENERATE, daw["tmp"], setup)
    assert r["boxes"] == [] and r["tracks"] == [] and r["undo"] == []
    argv = json.loads((daw["log"] / "argv.json").read_text())
    job_id = argv[argv.index("--job-id") + 1]
    send, cancel = r["exec"]
    assert cancel["argv"] == [str(daw["fake"]), "send", "--cancel", job_id, "--port", "9030"]
    assert cancel["timeout"] == -1
    assert any("cancelling" in line for frame in r["gfx_frames"] for line in frame)
    assert not any(p.exists() for p in job_files(daw, r))


@needs_lua
def test_terminating_the_script_cancels_its_job(daw):
    log = str(daw["log"] / "status_path.txt")
    setup = base_setup(daw, time_sel=[1.0, 2.0], release={"after": 6, "list": log}, cmd_id=9,
                       events=[{"tick": 2, "kind": "terminate"}])
    r = run_script(GENERATE, daw["tmp"], setup)
    send, cancel = r["exec"]
    assert cancel["argv"][1:3] == ["send", "--cancel"]
    assert r["toggles"][-1] == [0, 9, 0] and "groundbass/job_id" not in r["ext"]
    assert r["tracks"] == [] and not any(p.exists() for p in job_files(daw, r))


@needs_lua
def test_cancel_without_a_job_says_so(daw):
    r = run_script(CANCEL, daw["tmp"], base_setup(daw))
    assert [b["msg"] for b in r["boxes"]] == ["No groundbass job is running."]
    assert r["exec"] == []


@needs_lua
def test_a_second_generate_while_a_job_runs_is_refused_with_a_message(daw):
    log = str(daw["log"] / "status_path.txt")
    setup = base_setup(daw, time_sel=[1.0, 2.0], release={"after": 5, "list": log},
                       events=[{"tick": 2, "kind": "run", "script": str(GENERATE)}])
    r = run_script(GENERATE, daw["tmp"], setup)
    (box,) = r["boxes"]
    assert "already running" in box["msg"] and "diffusion 30 %" in box["msg"]
    assert len(r["renders"]) == 1 and len(r["exec"]) == 1
    assert len(r["tracks"]) == 1  # the first job still finishes


@needs_lua
def test_a_stale_job_flag_does_not_block(daw):
    """A job flag whose poll loop stopped long ago (REAPER killed the script) is ignored."""
    ext = {"groundbass/command": str(daw["fake"]), "groundbass/job_id": "reaper-old",
           "groundbass/job_beat": "100.0", "groundbass/job_text": "diffusion 10 %"}
    r = run_script(GENERATE, daw["tmp"], base_setup(daw, time_sel=[1.0, 2.0], ext=ext))
    assert r["boxes"] == [] and len(r["tracks"]) == 1


@needs_lua
def test_closing_the_progress_window_leaves_the_job_running(daw):
    r = run_script(GENERATE, daw["tmp"], base_setup(daw, time_sel=[1.0, 2.0], close_window_at=2))
    assert r["boxes"] == [] and len(r["tracks"]) == 1


def nobridge_setup(daw, **extra) -> dict:
    log = str(daw["log"] / "status_path.txt")
    return base_setup(daw, time_sel=[1.0, 2.0], events=[{"tick": 3, "kind": "release", "list": log},
                                                        {"tick": 6, "kind": "release", "list": log}],
                      release=None, **extra)


@needs_lua
def test_no_bridge_offers_to_start_one_and_retries(daw):
    r = run_script(GENERATE, daw["tmp"], nobridge_setup(daw, mb_answers=[6]), env={"FAKE_MODE": "nobridge"})
    (offer,) = r["boxes"]
    assert offer["kind"] == 4 and "Start one now" in offer["msg"]  # yes/no
    first, serve, retry = r["exec"]
    assert serve["argv"] == [str(daw["fake"]), "serve", "--port", "9030"] and serve["timeout"] == -1
    argv = json.loads((daw["log"] / "argv.json").read_text())
    assert argv[argv.index("--connect-timeout") + 1] == "60"  # the new bridge loads its model first
    assert retry["argv"] == first["argv"]
    (track,) = r["tracks"]
    assert track["items"][0]["position"] == 1.0
    assert r["ext"]["groundbass/serve_offered"] == "1"


@needs_lua
def test_no_bridge_offer_declined_or_already_made_this_session(daw):
    r = run_script(GENERATE, daw["tmp"], nobridge_setup(daw, mb_answers=[7]), env={"FAKE_MODE": "nobridge"})
    assert [b["kind"] for b in r["boxes"]] == [4] and len(r["exec"]) == 1 and r["tracks"] == []
    ext = {"groundbass/command": str(daw["fake"]), "groundbass/serve_offered": "1"}
    r = run_script(GENERATE, daw["tmp"], nobridge_setup(daw, ext=ext), env={"FAKE_MODE": "nobridge"})
    (box,) = r["boxes"]
    assert box["kind"] == 0 and "no groundbass bridge answered" in box["msg"]
    assert len(r["exec"]) == 1 and r["tracks"] == []


def test_troubleshooting_lists_every_message_the_actions_show():
    """Each message literal the scripts can put in a box (gb.error_box, the bridge offer, the
    `return nil, "..."` / failure messages that end up in one) is in the README's
    troubleshooting table (its text up to the first value spliced in)."""
    readme = (SCRIPTS / "README.md").read_text()
    table = readme[readme.index("## Troubleshooting"):]
    table = table.replace("\\|", "|")
    pattern = re.compile(r'(?:error_box\(|ShowMessageBox\(|return nil, |return |failure = )"([^"]+)"')
    found = set()
    for script in SCRIPTS.glob("*.lua"):
        for text in pattern.findall(script.read_text()):
            if text in ("declined", "started") or text.startswith(("cancelling", "connecting", "waiting", "queued")):
                continue  # results and progress lines, not messages
            found.add(text.split("\\n")[0].rstrip())
    assert len(found) > 20
    missing = [t for t in sorted(found) if t not in table]
    assert not missing, missing
