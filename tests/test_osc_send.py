"""`groundbass send` against a bridge on 127.0.0.1: exit codes, printed paths and the JSON
status file's documented states (every write recorded, each one complete JSON)."""

from __future__ import annotations

import json
import socket

import pytest
import soundfile as sf
from click.testing import CliRunner
from osc_support import write_mix

from groundbass.bridge.cli import main
from groundbass.bridge.osc import status_file
from groundbass.bridge.osc.client import send_job
from groundbass.bridge.osc.status_file import STATES

DOCUMENTED_KEYS = {"state", "job", "progress", "stage", "position", "outputs", "midi", "seeds", "error",
                   "model", "device", "version", "mix", "out", "updated", "pid"}


@pytest.fixture
def writes(monkeypatch):
    """Every status-file write, as the parsed JSON that landed on disk."""
    seen: list[dict] = []
    real = status_file.write_json_atomic

    def record(path, data):
        real(path, data)
        with open(path) as f:
            seen.append(json.load(f))

    monkeypatch.setattr(status_file, "write_json_atomic", record)
    return seen


def test_send_waits_prints_the_output_and_writes_status_states(server, tmp_path, writes):
    mix = write_mix(tmp_path / "mix one.wav")
    out = tmp_path / "bass one.wav"
    status = tmp_path / "job status.json"
    result = CliRunner().invoke(main, ["send", str(mix), str(out), "--steps", "2", "--seed", "11",
                                       "--port", str(server.address[1]), "--status-file", str(status)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1] == str(out)
    states = [w["state"] for w in writes]
    assert states[0] == "connecting" and states[-1] == "done"
    assert "queued" in states and "running" in states and set(states) <= set(STATES)
    assert all(set(w) == DOCUMENTED_KEYS for w in writes)
    final = json.loads(status.read_text())
    assert final == writes[-1]
    assert final["outputs"] == [str(out)] and final["seeds"] == [11] and final["progress"] == 1.0
    assert final["model"] == server.gen.model_id and final["error"] is None
    assert sf.info(str(out)).frames == sf.info(str(mix)).frames
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bass one.wav", "job status.json", "mix one.wav"]


def test_send_reports_bridge_errors_in_one_line(server, tmp_path, tmp_path_factory, writes):
    outside = write_mix(tmp_path_factory.mktemp("elsewhere") / "mix.wav")
    status = tmp_path / "status.json"
    result = CliRunner().invoke(main, ["send", str(outside), str(tmp_path / "o.wav"), "--port",
                                       str(server.address[1]), "--status-file", str(status)])
    assert result.exit_code == 1
    assert result.stderr.strip().startswith("error: mix path is outside the allowed folders")
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output
    final = json.loads(status.read_text())
    assert final["state"] == "error" and "outside the allowed folders" in final["error"]


def test_send_without_a_bridge_fails_cleanly(tmp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:  # bound, never answers
        silent.bind(("127.0.0.1", 0))
        status = tmp_path / "s.json"
        outcome = send_job(tmp_path / "m.wav", tmp_path / "o.wav", {}, port=silent.getsockname()[1],
                           status_path=status, connect_s=0.3)
    assert outcome.state == "error" and "no groundbass bridge answered" in outcome.error
    assert json.loads(status.read_text())["state"] == "error"


def test_send_no_wait_returns_after_accepted(server, tmp_path):
    mix = write_mix(tmp_path / "mix.wav")
    outcome = send_job(mix, tmp_path / "o.wav", {"steps": 2}, port=server.address[1], wait=False, job_id="nw")
    assert outcome.state == "accepted" and outcome.job == "nw"


def test_send_of_a_non_utf8_path_is_one_line(tmp_path):
    """OSC carries UTF-8 text only: a file name with undecodable bytes cannot be sent. It is
    refused in one line (and in the status file) before any datagram, not a traceback."""
    import os

    mix = tmp_path / os.fsdecode(b"mix-\xff.wav")
    with open(os.fsencode(mix), "wb") as f:
        f.write(b"x")
    status = tmp_path / "s.json"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:  # would never answer
        silent.bind(("127.0.0.1", 0))
        for args in ([str(mix), str(tmp_path / "o.wav")],
                     [str(tmp_path / "m.wav"), str(tmp_path / "o.wav"), "--style", str(mix)]):
            res = CliRunner().invoke(main, ["send", *args, "--port", str(silent.getsockname()[1]),
                                            "--connect-timeout", "5", "--status-file", str(status)])
            assert res.exit_code == 1 and res.exc_info[0] is SystemExit, res.exc_info
            lines = res.stderr.strip().splitlines()
            assert len(lines) == 1 and "not UTF-8" in lines[0] and "mix-\\udcff.wav" in lines[0], lines
            assert json.loads(status.read_text())["state"] == "error"
