"""SIGKILL a running `groundbass batch` in a subprocess, rerun it: every output present is
complete, valid audio (never half-written) and the rerun finishes every file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import soundfile as sf
from cli_fixtures import write_mix

N_FILES = 6
FRAMES = 2 * 22050


def _cmd(src, out, model):
    code = "from groundbass.bridge.cli import main; main()"
    return [sys.executable, "-c", code, "batch", str(src), str(out), "--model", str(model), "--steps", "12",
            "--seed", "0", "--quiet"]


def _done(out):
    path = out / "manifest.jsonl"
    if not path.exists():
        return 0
    return sum(1 for line in path.read_text().splitlines() if '"status": "done"' in line)


def _check_outputs(out):
    for p in out.glob("*.wav"):
        data, rate = sf.read(p)  # raises on a half-written file
        assert (len(data), rate) == (FRAMES, 22050), p


def test_sigkill_mid_run_then_resume(model_path, tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    for i in range(N_FILES):
        write_mix(src / f"m{i}.wav", frames=FRAMES, rate=22050, channels=1, subtype="PCM_16")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(_cmd(src, out, model_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        deadline = time.time() + 240
        while _done(out) < 2 and proc.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, "the batch finished before it could be killed; make it slower"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    killed_done = _done(out)
    assert 2 <= killed_done < N_FILES
    _check_outputs(out)

    rerun = subprocess.run(_cmd(src, out, model_path), capture_output=True, text=True, env=env, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    _check_outputs(out)
    assert sorted(p.name for p in out.glob("*.bass.wav")) == [f"m{i}.bass.wav" for i in range(N_FILES)]
    assert not list(out.glob(".*")), "temporary files left behind"
    latest = {}
    for line in (out / "manifest.jsonl").read_text().splitlines():
        entry = json.loads(line)
        latest[entry["input"]] = entry["status"]
    assert set(latest.values()) == {"done"} and len(latest) == N_FILES
