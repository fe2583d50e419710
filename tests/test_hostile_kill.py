"""Hostile case: `groundbass batch` killed with SIGKILL in the middle of writing a file, then
resumed (issue 12: "a crash never leaves a half-written file and a rerun finishes the job").

tests/test_cli_kill.py kills a batch at a random moment (usually mid-diffusion) and checks that
every output present is valid audio and that a rerun completes. This file kills it at the
worst moment instead: the third output's audio is half written to its temporary file. Then:
no half-written or temporary file is visible under a final name, the resumed run skips the
finished files (not rendered again), the outputs equal an uninterrupted run with the same seed
byte for byte, no temporary file is left, and the inputs are unchanged byte for byte.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import soundfile as sf
from cli_fixtures import write_mix

N_FILES = 4
HANG_AT = 3  # the third audio write hangs half-way (and is killed there)
FRAMES = 22050

# The batch CLI with its audio writer (groundbass.bridge.audio_files._write_pieces, which
# writes the pieces of a bass through soundfile into the open temporary ".part" file) wrapped:
# the HANG_AT-th audio write puts the first half of the encoded audio in the temporary file,
# fsyncs it, signals the test and sleeps.
_HANGING_BATCH = r"""
import io, os, sys, time
import numpy as np
import soundfile
from groundbass.bridge import audio_files
real_write, calls = audio_files._write_pieces, [0]
def write(file, pieces, samplerate, fmt, subtype, channels, *args, **kwargs):
    calls[0] += 1
    if calls[0] == int(os.environ["GB_HANG_AT"]):
        data = np.concatenate([np.asarray(p).reshape(len(p), -1) for p in pieces])
        data = np.repeat(data, channels // data.shape[1], axis=1)
        buf = io.BytesIO()
        soundfile.write(buf, data, samplerate, format=fmt.upper(), subtype=subtype)
        file.write(buf.getvalue()[: len(buf.getvalue()) // 2])
        file.flush()
        os.fsync(file.fileno())
        open(os.environ["GB_HANG_MARK"], "w").close()
        time.sleep(600)
    return real_write(file, pieces, samplerate, fmt, subtype, channels, *args, **kwargs)
audio_files._write_pieces = write
from groundbass.bridge.cli import main
main(sys.argv[1:])
"""
_BATCH = "from groundbass.bridge.cli import main; import sys; main(sys.argv[1:])"


def _cmd(code, src, out, model):
    return [sys.executable, "-c", code, "batch", str(src), str(out), "--model", str(model), "--steps", "2",
            "--seed", "0", "--quiet"]


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _manifest(out):
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines() if line.strip()]


def test_sigkill_while_writing_then_resume_equals_an_uninterrupted_run(model_path, tmp_path):  # noqa: F811
    src, ref, out, mark = tmp_path / "in", tmp_path / "ref", tmp_path / "out", tmp_path / "hanging"
    for i in range(N_FILES):
        write_mix(src / f"m{i}.wav", frames=FRAMES, rate=22050, channels=1, subtype="PCM_16")
    inputs = {p.name: _sha(p) for p in src.iterdir()}
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GB_HANG_AT": str(HANG_AT), "GB_HANG_MARK": str(mark)}
    names = [f"m{i}.bass.wav" for i in range(N_FILES)]

    reference = subprocess.run(_cmd(_BATCH, src, ref, model_path), capture_output=True, text=True, env=env,
                               timeout=300)
    assert reference.returncode == 0, reference.stderr
    assert sorted(p.name for p in ref.glob("*.bass.wav")) == names

    proc = subprocess.Popen(_cmd(_HANGING_BATCH, src, out, model_path), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    try:
        deadline = time.monotonic() + 300
        while not mark.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert mark.exists(), f"the batch never reached the hanging write: {proc.communicate(timeout=30)}"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    # killed: two finished outputs, the third only as a hidden, half-written temporary file
    visible = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert visible == ["m0.bass.wav", "m1.bass.wav", "manifest.jsonl"]
    parts = [p for p in out.iterdir() if p.name.startswith(".")]
    assert len(parts) == 1 and parts[0].name.startswith(".m2.bass.wav.") and parts[0].name.endswith(".part")
    assert 0 < parts[0].stat().st_size < (ref / "m2.bass.wav").stat().st_size
    for name in ("m0.bass.wav", "m1.bass.wav"):
        assert (out / name).read_bytes() == (ref / name).read_bytes()
    latest = {e["input"]: e["status"] for e in _manifest(out)}
    assert latest == {"m0.wav": "done", "m1.wav": "done", "m2.wav": "started"}
    finished = {n: (out / n).stat().st_ino for n in ("m0.bass.wav", "m1.bass.wav")}

    resumed = subprocess.run(_cmd(_BATCH, src, out, model_path), capture_output=True, text=True, env=env,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert sorted(p.name for p in out.iterdir()) == [*names, "manifest.jsonl"]  # temporary file removed
    for name in names:
        assert (out / name).read_bytes() == (ref / name).read_bytes(), f"{name} differs from the uninterrupted run"
        assert sf.info(out / name).frames == FRAMES
    assert {n: (out / n).stat().st_ino for n in finished} == finished  # skipped, not rendered again
    entries = _manifest(out)
    assert [e["status"] for e in entries if e["input"] in ("m0.wav", "m1.wav")] == ["started", "done"] * 2
    assert {e["input"]: e["status"] for e in entries} == {f"m{i}.wav": "done" for i in range(N_FILES)}
    assert {p.name: _sha(p) for p in src.iterdir()} == inputs  # inputs unchanged, nothing added beside them
