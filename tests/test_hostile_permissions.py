"""Hostile file permissions (issue 12: "an unwritable folder or unreadable file is one line,
a non-zero exit and nothing written"): a read-only output folder for `groundbass generate`
(given, default beside the mix, or a new folder inside a read-only one) and for
`groundbass batch`, a read-only status-file folder for `groundbass send --status-file`, and
input files the user may not read (generate and batch). A bad output folder is reported before
the model loads (the model named there does not exist), and an unreadable or missing
`batch --keep-dir` is one line. `groundbass send` leaves unreadable files (MIX, OUT, --style,
--keep, --transition-to, --status-file) to the bridge, which reads them as its own user: the
click layer must not refuse them with a multi-line usage error (exit 2); with no bridge
listening the one line is the bridge's absence.

root ignores permissions, so these run as `nobody` (see tests/unprivileged.py; the driver
checks the commands really ran with euid != 0 and no capabilities). All commands run in one
process, so the model is the only slow part (loaded once per command that needs it).
"""

from __future__ import annotations

import pytest
from cli_fixtures import write_mix
from unprivileged import Sandbox, run_unprivileged


@pytest.fixture(scope="module")
def box():
    sandbox = Sandbox()
    yield sandbox
    sandbox.cleanup()


@pytest.fixture(scope="module")
def results(box, model_path):  # noqa: F811
    """Lay out the folders, run every command once as nobody: {case: (result, paths named)}."""
    model = str(box.link(model_path, "model.safetensors"))
    ins = box.writable("in")
    mix = write_mix(ins / "mix.wav", seconds=0.6)
    batch_in = box.writable("batch-in")
    write_mix(batch_in / "a.wav", seconds=0.6)
    locked_dir = box.writable("locked-in")
    locked = box.private(write_mix(locked_dir / "locked.wav", seconds=0.6))
    ro = box.read_only("ro")  # empty, and stays so
    ro_in = box.root / "ro-in"
    ro_in.mkdir()
    ro_mix = write_mix(ro_in / "song.wav", seconds=0.6)
    box.read_only("ro-in")
    out = box.writable("out")
    style = box.private(write_mix(ins / "style.wav", seconds=0.6))
    locked_folder = box.writable("locked-folder")
    write_mix(locked_folder / "c.wav", seconds=0.6)
    box.private(locked_folder)
    foreign = out / "foreign.wav"
    foreign.write_bytes(b"a file groundbass did not write")
    box.private(foreign)
    locked_keep = box.writable("locked-keep")
    box.private(locked_keep)
    send_dir = box.writable("send")
    status = send_dir / "s.json"
    status.write_text("{}")
    box.private(status)
    run = ["--model", model, "--steps", "2", "--quiet"]
    no_model = ["--model", str(box.root / "no-model.safetensors"), "--steps", "2", "--quiet"]
    send = ["--port", "9", "--connect-timeout", "0.1"]
    cases = {
        "generate into a read-only folder": (["generate", str(mix), "-o", str(ro / "b.wav"), *run], str(ro)),
        "generate into a new folder inside a read-only one":
            (["generate", str(mix), "-o", str(ro / "sub" / "b.wav"), *run], str(ro / "sub")),
        "generate beside a mix in a read-only folder": (["generate", str(ro_mix), *run], str(ro_in)),
        "batch into a read-only folder": (["batch", str(batch_in), str(ro), *run], str(ro)),
        "batch into a new folder inside a read-only one":
            (["batch", str(batch_in), str(ro / "new"), *run], str(ro / "new")),
        "send with its status file in a read-only folder":
            (["send", str(mix), str(out / "s.wav"), "--status-file", str(ro / "s.json"), "--port", "9"],
             str(ro / "s.json")),
        "send with its status file in a new folder inside a read-only one":
            (["send", str(mix), str(out / "s.wav"), "--status-file", str(ro / "x" / "s.json"), "--port", "9"],
             str(ro / "x" / "s.json")),
        "generate from an unreadable mix": (["generate", str(locked), "-o", str(out / "g.wav"), *run], str(locked)),
        "generate with an unreadable style file":
            (["generate", str(mix), "-o", str(out / "g.wav"), "--style", str(style), *run], str(style)),
        "generate over an unreadable foreign file":
            (["generate", str(mix), "-o", str(foreign), *run], str(foreign)),
        "batch from an unreadable folder": (["batch", str(locked_folder), str(out / "b2"), *run], str(locked_folder)),
        "generate into a read-only folder, before the model loads":
            (["generate", str(mix), "-o", str(ro / "c.wav"), *no_model], str(ro)),
        "generate into a new folder inside a read-only one, before the model loads":
            (["generate", str(mix), "-o", str(ro / "sub2" / "c.wav"), *no_model], str(ro / "sub2")),
        "batch with an unreadable --keep-dir":
            (["batch", str(batch_in), str(out / "b3"), "--keep-dir", str(locked_keep), "--region", "0.5:1", *run],
             str(locked_keep)),
        "batch with a missing --keep-dir":
            (["batch", str(batch_in), str(out / "b4"), "--keep-dir", str(box.root / "no-keep"), "--region", "0.5:1",
              *run], str(box.root / "no-keep")),
        "send an unreadable mix": (["send", str(locked), str(send_dir / "o.wav"), *send], "127.0.0.1:9"),
        "send to an unreadable existing output": (["send", str(mix), str(foreign), *send], "127.0.0.1:9"),
        "send with an unreadable style file":
            (["send", str(mix), str(send_dir / "o.wav"), "--style", str(style), *send], "127.0.0.1:9"),
        "send with an unreadable kept bass":
            (["send", str(mix), str(send_dir / "o.wav"), "--keep", str(style), "--region", "0.5:1", *send],
             "127.0.0.1:9"),
        "send with an unreadable transition reference":
            (["send", str(mix), str(send_dir / "o.wav"), "--transition-to", str(style), "--span", "0.2:0.4", *send],
             "127.0.0.1:9"),
        "send with an unreadable status file":
            (["send", str(mix), str(send_dir / "o.wav"), "--status-file", str(status), *send], "127.0.0.1:9"),
    }
    cases["batch over an unreadable mix"] = (["batch", str(locked_dir), str(out / "batch"), *run], str(locked))
    before = box.tree()
    got = run_unprivileged(box, [args for args, _ in cases.values()])
    return {"cases": {name: (res, named) for (name, (_, named)), res in zip(cases.items(), got)},
            "before": before, "after": box.tree(), "out": out, "box": box, "status": status}


EXPECT = {  # case: what the one line says
    "generate into a read-only folder": "output folder is not writable",
    "generate into a new folder inside a read-only one": "cannot create the output folder",
    "generate beside a mix in a read-only folder": "output folder is not writable",
    "batch into a read-only folder": "output folder is not writable",
    "batch into a new folder inside a read-only one": "cannot create the output folder",
    "send with its status file in a read-only folder": "folder is not writable",
    "send with its status file in a new folder inside a read-only one": "folder does not exist",
    "generate from an unreadable mix": "permission denied",
    "generate with an unreadable style file": "permission denied",
    "generate over an unreadable foreign file": "already exists",
    "batch from an unreadable folder": "permission denied",
    "generate into a read-only folder, before the model loads": "output folder is not writable",
    "generate into a new folder inside a read-only one, before the model loads": "cannot create the output folder",
    "batch with an unreadable --keep-dir": "permission denied",
    "batch with a missing --keep-dir": "does not exist",
    **{case: "no groundbass bridge answered" for case in (
        "send an unreadable mix", "send to an unreadable existing output", "send with an unreadable style file",
        "send with an unreadable kept bass", "send with an unreadable transition reference",
        "send with an unreadable status file")},
}


@pytest.mark.parametrize("case", list(EXPECT))
def test_permission_denied_is_one_line_naming_the_path(results, case):
    res, named = results["cases"][case]
    assert res["code"] != 0, res
    assert res["traceback"] == "" and "Traceback" not in res["stderr"], res
    lines = res["stderr"].strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and named in lines[0], res
    assert EXPECT[case] in lines[0].lower(), res
    assert res["code"] == 1, res  # not click's usage error (2)


def test_send_with_an_unreadable_status_file_replaces_it_with_the_error(results):
    import json

    st = json.loads(results["status"].read_text())
    assert st["state"] == "error" and "no groundbass bridge answered" in st["error"], st


def test_nothing_was_written(results):
    box = results["box"]
    assert (box.root / "out" / "foreign.wav").read_bytes() == b"a file groundbass did not write"  # untouched
    created = sorted(set(results["after"]) - set(results["before"]))
    # the only new thing: the (empty) output folder of the batch over an unreadable input
    assert created == ["out/batch"], created
    assert list((box.root / "ro").iterdir()) == [] and sorted(p.name for p in (box.root / "ro-in").iterdir()) == [
        "song.wav"]


def test_batch_over_an_unreadable_mix_fails_that_file_cleanly(results):
    res, _ = results["cases"]["batch over an unreadable mix"]
    assert res["code"] == 1 and res["traceback"] == "" and "Traceback" not in res["stderr"], res
    assert "locked.wav: cannot read (Permission denied)" in res["stderr"].splitlines()[0], res
    assert not list((results["out"] / "batch").glob("*.wav"))
