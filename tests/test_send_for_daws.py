"""`groundbass send` as DAW scripts start it: arguments from an --args-file (REAPER's
ExecProcess has no shell), --cancel JOB, --connect-timeout, and status-file writes that survive
a reader holding the file open (Windows: os.replace raises PermissionError meanwhile).

Everything here talks to 127.0.0.1 over real UDP sockets; no model runs."""

from __future__ import annotations

import json
import os
import socket
import threading

import pytest
from click.testing import CliRunner
from pythonosc.osc_packet import OscPacket

from groundbass.bridge.cli import main
from groundbass.bridge.cli_osc import expand_args_file
from groundbass.bridge.osc import protocol as P
from groundbass.bridge.osc.client import send_job

AWKWARD = ["Tom's Song/mix.wav", 'My "Song" it\'s here/bass.wav', "$HOME `x` \\ back", "tab\there", "ünï €", ""]


@pytest.fixture
def silent_port():
    """A bound UDP port on which nothing ever answers (no bridge there)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        yield s.getsockname()[1]


def write_args(path, args) -> str:
    path.write_text(json.dumps(args), encoding="utf-8")
    return str(path)


def test_args_file_arguments_are_exactly_the_strings_in_the_file(tmp_path):
    f = write_args(tmp_path / "a.json", AWKWARD)
    assert expand_args_file(["--args-file", f]) == AWKWARD
    assert expand_args_file(["x", f"--args-file={f}", "--quiet"]) == ["x", *AWKWARD, "--quiet"]
    assert expand_args_file(["--", "--args-file", f]) == ["--", "--args-file", f]


def test_send_from_an_args_file_reaches_the_bridge_with_the_paths_intact(tmp_path, silent_port):
    folder = tmp_path / "Tom's \"Song\" $dir"
    folder.mkdir()
    mix, status = folder / "mix it's.wav", folder / "job.status.json"
    f = write_args(tmp_path / "job.args.json", [str(mix), str(folder / "bass.wav"), "--status-file", str(status),
                                                 "--port", str(silent_port), "--connect-timeout", "0.3"])
    result = CliRunner().invoke(main, ["send", "--args-file", f])
    assert result.exit_code == 1 and "no groundbass bridge answered" in result.stderr
    st = json.loads(status.read_text())
    assert st["state"] == "error" and st["mix"] == str(mix) and "no groundbass bridge answered" in st["error"]


def test_usage_errors_inside_an_args_file_reach_the_status_file(tmp_path):
    status = tmp_path / "s.json"
    f = write_args(tmp_path / "a.json", ["a.wav", "b.wav", "--steps", "2.0", "--status-file", str(status)])
    result = CliRunner().invoke(main, ["send", "--args-file", f])
    assert result.exit_code == 2
    st = json.loads(status.read_text())
    assert st["state"] == "error" and "--steps" in st["error"]


@pytest.mark.parametrize("content, word", [("not json", "not JSON"), ('{"a": 1}', "array of strings"),
                                           ('["a.wav", 3]', "array of strings"),
                                           ('["--args-file", "x.json"]', "give it once")])
def test_bad_args_files_are_usage_errors(tmp_path, content, word):
    (tmp_path / "a.json").write_text(content)
    result = CliRunner().invoke(main, ["send", "--args-file", str(tmp_path / "a.json")])
    assert result.exit_code == 2 and word in result.output


def test_missing_args_file_and_missing_mix_are_usage_errors(tmp_path):
    result = CliRunner().invoke(main, ["send", "--args-file", str(tmp_path / "nope.json")])
    assert result.exit_code == 2 and "nope.json" in result.output
    result = CliRunner().invoke(main, ["send", "--port", "9"])
    assert result.exit_code == 2 and "Missing argument 'MIX'" in result.output


class FakeBridge:
    """A UDP socket on 127.0.0.1 that answers /groundbass/cancel like the bridge: cancelled for
    the job ids in `running`, an error reply for any other."""

    def __init__(self, running: set[str]) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(5.0)
        self.running, self.seen = running, []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.sock.getsockname()[1]

    def _serve(self) -> None:
        try:
            data, sender = self.sock.recvfrom(65536)
        except OSError:
            return
        msg = OscPacket(data).messages[0].message
        self.seen.append((msg.address, list(msg.params)))
        job = str(msg.params[0])
        reply = P.cancelled(job) if job in self.running else P.error(job, f"no queued or running job {job!r}")
        self.sock.sendto(reply, sender)

    def close(self) -> None:
        self.thread.join(5.0)
        self.sock.close()


@pytest.mark.parametrize("job, code", [("reaper-1", 0), ("gone", 1)])
def test_cancel_sends_cancel_and_waits_for_the_answer(job, code):
    bridge = FakeBridge({"reaper-1"})
    try:
        result = CliRunner().invoke(main, ["send", "--cancel", job, "--port", str(bridge.port), "--timeout", "3"])
    finally:
        bridge.close()
    assert bridge.seen == [(P.CANCEL, [job])]
    assert result.exit_code == code, result.output
    assert ("cancelled" in result.stderr) if code == 0 else ("no queued or running job" in result.stderr)


def test_cancel_without_a_bridge_says_so(silent_port):
    result = CliRunner().invoke(main, ["send", "--cancel", "j1", "--port", str(silent_port), "--timeout", "0.3"])
    assert result.exit_code == 1 and "no groundbass bridge confirmed the cancel" in result.stderr
    result = CliRunner().invoke(main, ["send", "a.wav", "--cancel", "j1", "--port", str(silent_port)])
    assert result.exit_code == 2 and "--cancel takes no MIX or OUT" in result.output


def test_status_file_writes_retry_while_a_reader_holds_the_file(tmp_path, silent_port, monkeypatch):
    """On Windows os.replace fails with PermissionError while REAPER has the status file open:
    the write is retried (a short sleep apart) instead of failing the job."""
    real_replace, refused = os.replace, []

    def busy_twice(src, dst, *args, **kw):
        if len(refused) < 2:
            refused.append(dst)
            raise PermissionError(13, "The process cannot access the file", str(dst))
        return real_replace(src, dst, *args, **kw)

    monkeypatch.setattr(os, "replace", busy_twice)
    status = tmp_path / "job.status.json"
    outcome = send_job(tmp_path / "m.wav", tmp_path / "o.wav", {}, port=silent_port, status_path=status,
                       connect_s=0.3)
    assert len(refused) == 2
    assert outcome.state == "error" and json.loads(status.read_text())["state"] == "error"
    assert [p.name for p in tmp_path.iterdir()] == ["job.status.json"]  # no temporary files left
