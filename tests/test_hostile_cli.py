"""Hostile command lines: bad folders and files give one line, a non-zero exit, no traceback."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner
from osc_support import write_mix

from groundbass.bridge.cli import main


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "groundbass.bridge", *args], capture_output=True, text=True,
                          timeout=120)


def test_send_status_file_in_a_missing_folder_is_one_line(tmp_path):
    mix = write_mix(tmp_path / "mix.wav", seconds=0.6)
    res = _run("send", str(mix), str(tmp_path / "o.wav"), "--status-file", str(tmp_path / "nope" / "s.json"),
               "--port", "9")
    assert res.returncode == 1
    assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert "status file" in res.stderr and "nope" in res.stderr


def test_send_status_file_that_is_a_folder(tmp_path):
    res = _run("send", "a.wav", "b.wav", "--status-file", str(tmp_path), "--port", "9")
    assert res.returncode != 0 and "Traceback" not in res.stderr and "is a directory" in res.stderr


def test_batch_into_its_own_input_folder_says_so(tmp_path):
    write_mix(tmp_path / "a.wav", seconds=0.6)
    res = CliRunner().invoke(main, ["batch", str(tmp_path), str(tmp_path)])
    assert res.exit_code != 0
    assert "output folder is the input folder" in res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav"]


def test_serve_with_a_missing_allowed_root_refuses_to_start(tmp_path):
    res = CliRunner().invoke(main, ["serve", "--allow-root", str(tmp_path / "missing"), "--port", "0"])
    assert res.exit_code == 2 and "does not exist" in res.output


def test_help_and_send_do_not_import_torch():
    """The DAW scripts start `groundbass send` for every job: no torch on that path."""
    code = ("import sys; from groundbass.bridge.cli import main\n"
            "try:\n    main(['send', '--help'])\nexcept SystemExit:\n    pass\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "try:\n    main(['serve', '--help'])\nexcept SystemExit:\n    pass\n"
            "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH')")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.stdout.strip().splitlines()[-1] == "NO-TORCH", res.stdout + res.stderr


def test_send_usage_errors_are_written_to_the_status_file(tmp_path):
    """A DAW script polls the status file: a bad option must show up there at once."""
    import json

    status = tmp_path / "status.json"
    res = _run("send", "a.wav", "b.wav", "--steps", "2.0", "--status-file", str(status), "--port", "9")
    assert res.returncode == 2
    st = json.loads(status.read_text())
    assert st["state"] == "error" and "--steps" in st["error"]
