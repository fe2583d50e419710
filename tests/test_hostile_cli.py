"""Hostile command lines (issue 12, "Nothing unsafe leaves groundbass"): bad folders and files
give one line, a non-zero exit, no traceback, and nothing is written.

Causes covered here: `send --status-file` in a missing folder or naming a folder, send usage
errors reaching the status file, `batch DIR DIR`, `serve --allow-root` missing, the DAW path
not importing torch; every kind of bad audio input (empty, zero frames, truncated header or
data, text named .wav, NaN/Inf samples, 384 kHz and 1 Hz rates, 0 channels, too short, a
folder named x.wav, symlink loop, dangling link, named pipe, link to /dev/zero, over-long file
name and path, non-UTF-8 name, unsupported extension) through `generate` and `batch`; odd but
valid audio (8 channels, mp3 named .wav, non-UTF-8 name) rendered; output == input (also via
a link, also with --overwrite); a foreign file at the output path kept without --overwrite.
Elsewhere: parameters and the output guard in test_hostile_params.py, OSC traffic and paths
in test_hostile_osc.py, permissions in test_hostile_permissions.py, kill -9 in
test_hostile_kill.py (and test_cli_kill.py).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from cli_fixtures import write_mix
from click.testing import CliRunner

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


# ---------------------------------------------------------------- bad audio, output == input, foreign files

def _pcm_header(channels: int, rate: int, frames: int) -> bytes:
    """A hand-made 16-bit PCM WAV (soundfile refuses to write 0 channels or a 1 Hz rate)."""
    import struct

    data = b"\0" * (frames * max(channels, 1) * 2)
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * channels * 2, channels * 2, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _bad_audio(kind: str, d):
    """Make one kind of bad input in folder ``d``; returns its path."""
    import numpy as np
    import soundfile as sf

    if kind == "empty file":
        (d / "empty.wav").write_bytes(b"")
        return d / "empty.wav"
    if kind == "zero-frame wav":
        sf.write(d / "zero.wav", np.zeros((0, 1), np.float32), 22050)
        return d / "zero.wav"
    if kind == "truncated header":
        p = write_mix(d / "head.wav", seconds=0.6)
        p.write_bytes(p.read_bytes()[:30])
        return p
    if kind == "truncated data":
        p = write_mix(d / "cut.wav", seconds=1.0)
        p.write_bytes(p.read_bytes()[:-2000])
        return p
    if kind == "text named .wav":
        (d / "text.wav").write_text("not audio\n" * 50)
        return d / "text.wav"
    if kind in ("NaN samples", "Inf samples"):
        x = np.zeros((22050, 2), np.float32)
        x[100, 1] = np.nan if kind == "NaN samples" else -np.inf
        sf.write(d / "nonfinite.wav", x, 22050, subtype="FLOAT")
        return d / "nonfinite.wav"
    if kind == "384 kHz rate":
        return write_mix(d / "fast.wav", seconds=0.6, rate=384000)
    if kind == "1 Hz rate":
        (d / "slow.wav").write_bytes(_pcm_header(1, 1, 4))
        return d / "slow.wav"
    if kind == "0 channels":
        (d / "none.wav").write_bytes(_pcm_header(0, 22050, 0) + b"\0" * 64)
        return d / "none.wav"
    if kind == "too short":
        return write_mix(d / "short.wav", seconds=0.3)
    if kind == "folder named x.wav":
        (d / "x.wav").mkdir()
        return d / "x.wav"
    if kind == "symlink loop":
        (d / "a.wav").symlink_to(d / "b.wav")
        (d / "b.wav").symlink_to(d / "a.wav")
        return d / "a.wav"
    if kind == "dangling symlink":
        (d / "gone.wav").symlink_to(d / "nothing-here.wav")
        return d / "gone.wav"
    if kind == "named pipe":
        os.mkfifo(d / "pipe.wav")  # opening it would block forever
        return d / "pipe.wav"
    if kind == "symlink to /dev/zero":
        (d / "zeros.wav").symlink_to("/dev/zero")  # endless: must not be read
        return d / "zeros.wav"
    if kind == "file name over 255 bytes":
        return d / ("n" * 300 + ".wav")
    if kind == "path over 4096 bytes":
        return d.joinpath(*["p" * 200] * 25, "mix.wav")
    if kind == "non-UTF-8 name, not audio":
        p = d / os.fsdecode(b"bad-\xff\xfe.wav")
        os.fsencode(p)  # the surrogate-escaped name round-trips
        with open(os.fsencode(p), "wb") as f:
            f.write(b"junk" * 64)
        return p
    if kind == "unsupported extension":
        (d / "song.xyz").write_bytes(b"1234")
        return d / "song.xyz"
    raise AssertionError(kind)


BAD_AUDIO = {  # kind: what the one line says (lower case)
    "empty file": "zero-length file",
    "zero-frame wav": "zero-length audio",
    "truncated header": "not a readable audio file",
    "truncated data": "truncated",
    "text named .wav": "not a readable audio file",
    "NaN samples": "nan or inf",
    "Inf samples": "nan or inf",
    "384 kHz rate": "outside 8000-192000 hz",
    "1 Hz rate": "outside 8000-192000 hz",
    "0 channels": "not a readable audio file",
    "too short": "too short",
    "folder named x.wav": "is a directory",
    "symlink loop": "symlink loop",
    "dangling symlink": "no such file",
    "named pipe": "zero-length file",
    "symlink to /dev/zero": "zero-length file",
    "file name over 255 bytes": "too long",
    "path over 4096 bytes": "too long",
    "non-UTF-8 name, not audio": "not a readable audio file",
    "unsupported extension": "unsupported format",
}
# An unreadable file is in test_hostile_permissions.py (it needs an unprivileged user).


def _shown(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode()


def _snapshot(folder):
    """{relative path: bytes or kind} of everything below ``folder`` (links and pipes not followed)."""
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = os.fsencode(p.relative_to(folder))
        if p.is_symlink():
            out[rel] = ("link", os.readlink(p))
        elif p.is_fifo() or p.is_dir():
            out[rel] = "fifo" if p.is_fifo() else "dir"
        else:
            out[rel] = p.read_bytes()
    return out


@pytest.mark.parametrize("kind", list(BAD_AUDIO))
def test_bad_audio_is_one_line_naming_the_file_and_nothing_is_written(model_path, tmp_path, kind):  # noqa: F811
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    mix = _bad_audio(kind, src)
    before = _snapshot(src)
    res = CliRunner().invoke(main, ["generate", str(mix), "-o", str(out / "bass.wav"), "--model", str(model_path),
                                    "--steps", "2", "--quiet"])
    assert res.exit_code == 1, res.output
    assert res.exc_info is None or isinstance(res.exception, SystemExit), res.exc_info
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    assert BAD_AUDIO[kind] in lines[0].lower(), lines
    assert _shown(mix.name)[:40] in lines[0], lines  # named (a non-UTF-8 name as Python's stderr shows it)
    assert not out.exists()  # the input is read before the output folder is made
    assert _snapshot(src) == before  # the input is untouched


def test_a_batch_of_bad_files_fails_each_in_one_line_and_writes_no_audio(model_path, tmp_path):  # noqa: F811
    """The same kinds through `groundbass batch` (which lists regular files only: folders, pipes,
    loops and dangling links named *.wav are not picked up at all)."""
    src, out = tmp_path / "in", tmp_path / "out"
    made = {}
    for i, kind in enumerate(BAD_AUDIO):
        d = src / f"k{i:02d}"
        d.mkdir(parents=True)
        made[kind] = _bad_audio(kind, d)
    before = _snapshot(src)
    res = CliRunner().invoke(main, ["batch", str(src), str(out), "--model", str(model_path), "--steps", "2",
                                    "--quiet"])
    assert res.exit_code == 1 and (res.exc_info is None or isinstance(res.exception, SystemExit)), res.output
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("error: ")]
    listed = {k: p for k, p in made.items() if os.path.isfile(p) and not os.path.islink(p) and p.suffix == ".wav"}
    assert len(listed) == 12, sorted(listed)
    assert len(errors) == len(listed), res.stderr
    for kind, p in listed.items():
        line = next((ln for ln in errors if _shown(str(p)) in ln), None)
        assert line is not None and BAD_AUDIO[kind] in line.lower(), (kind, errors)
    # only the manifest: render_file reads the input before it makes an output's folder
    assert [q.name for q in out.rglob("*")] == ["manifest.jsonl"]
    assert _snapshot(src) == before


def _odd_audio(kind: str, d):
    import numpy as np
    import soundfile as sf

    if kind == "8 channels":
        return write_mix(d / "octo.wav", seconds=0.6, rate=22050, channels=8)
    if kind == "mp3 named .wav":
        noise = 0.1 * np.random.default_rng(0).standard_normal((22050, 1)).astype(np.float32)
        sf.write(d / "real.mp3", noise, 22050, format="MP3")
        os.rename(d / "real.mp3", d / "song.wav")
        return d / "song.wav"
    if kind == "non-UTF-8 name":
        p = write_mix(d / "plain.wav", seconds=0.6)
        os.rename(os.fsencode(p), os.fsencode(d) + b"/mix-\xff\xfe.wav")
        return d / os.fsdecode(b"mix-\xff\xfe.wav")
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", [
    "8 channels",
    "mp3 named .wav",
    "non-UTF-8 name",
])
def test_odd_but_valid_audio_renders(model_path, tmp_path, kind):  # noqa: F811
    """Valid audio in an unusual shape is rendered, not refused: the bass keeps the input's
    length and channel count, and the input is untouched."""
    import soundfile as sf

    mix = _odd_audio(kind, tmp_path)
    before = open(os.fsencode(mix), "rb").read()
    out = tmp_path / "out" / "bass.wav"
    res = CliRunner().invoke(main, ["generate", str(mix), "-o", str(out), "--model", str(model_path),
                                    "--steps", "2", "--seed", "0", "--quiet"])
    assert res.exit_code == 0, res.output
    with open(os.fsencode(mix), "rb") as raw, sf.SoundFile(raw) as f:
        frames, channels, rate = f.frames, f.channels, f.samplerate
    info = sf.info(str(out))
    assert (info.frames, info.channels, info.samplerate) == (frames, channels, rate)
    assert open(os.fsencode(mix), "rb").read() == before


def test_non_utf8_names_are_printed_without_a_traceback(model_path, tmp_path):  # noqa: F811
    """stdout may be strict UTF-8 (CliRunner's is; so is a terminal's under a UTF-8 locale): a
    path with undecodable bytes is still printed (as its bytes), on stdout and stderr alike,
    and a non-UTF-8 output name is written as such."""
    mix = _odd_audio("non-UTF-8 name", tmp_path)
    out = tmp_path / os.fsdecode(b"out-\xfa/b-\xfb.wav")
    res = CliRunner().invoke(main, ["generate", str(mix), "-o", str(out), "--dry-run"])
    assert res.exit_code == 0 and res.exc_info[0] is SystemExit, res.exc_info
    assert res.stdout_bytes.startswith(b"would generate: ") and b"mix-\xff\xfe.wav" in res.stdout_bytes
    res = CliRunner().invoke(main, ["generate", str(mix), "-o", str(out), "--model", str(model_path),
                                    "--steps", "2", "--seed", "1"])
    assert res.exit_code == 0, (res.output, res.exc_info)
    assert res.stdout_bytes.splitlines()[-1] == os.fsencode(out) + b"  (seed 1)"
    assert os.path.isfile(os.fsencode(tmp_path) + b"/out-\xfa/b-\xfb.wav")
    res = CliRunner().invoke(main, ["generate", str(mix), "-o", str(out), "--model", str(model_path),
                                    "--steps", "2"])
    assert res.exit_code == 1 and res.exc_info[0] is SystemExit, res.exc_info
    assert res.stderr.strip() == f"error: {_shown(str(out))}: already exists (not overwritten; use --overwrite)"


@pytest.mark.parametrize("how", ["-o MIX", "-o MIX --overwrite", "-o LINK-TO-MIX --overwrite"])
def test_output_equal_to_the_input_is_refused(model_path, tmp_path, how):  # noqa: F811
    mix = write_mix(tmp_path / "mix.wav", seconds=0.6)
    before = mix.read_bytes()
    target = mix
    if "LINK" in how:
        target = tmp_path / "link.wav"
        target.symlink_to(mix)
    res = CliRunner().invoke(main, ["generate", str(mix), "-o", str(target), "--model", str(model_path),
                                    "--steps", "2", "--quiet", *(["--overwrite"] if "overwrite" in how else [])])
    assert res.exit_code == 1 and len(res.stderr.strip().splitlines()) == 1, res.output
    assert "would overwrite the input" in res.stderr and str(target) in res.stderr
    assert mix.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == sorted(
        {"mix.wav", target.name})


def test_a_foreign_file_at_the_output_path_is_kept_without_overwrite(model_path, tmp_path):  # noqa: F811
    mix = write_mix(tmp_path / "mix.wav", seconds=0.6)
    foreign = tmp_path / "mix.bass.wav"
    foreign.write_bytes(b"someone else's file")
    res = CliRunner().invoke(main, ["generate", str(mix), "--model", str(model_path), "--steps", "2", "--quiet"])
    assert res.exit_code == 1 and len(res.stderr.strip().splitlines()) == 1, res.output
    assert f"{foreign}: already exists (not overwritten; use --overwrite)" in res.stderr
    assert foreign.read_bytes() == b"someone else's file" and not list(tmp_path.glob(".*"))


def test_send_paths_in_a_symlink_loop_are_one_line(tmp_path):
    """send resolves --keep, --transition-to and the status file's folder: a symlink loop there
    is one line (not pathlib's RuntimeError traceback)."""
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    mix = write_mix(tmp_path / "mix.wav", seconds=0.6)
    base = ["send", str(mix), str(tmp_path / "o.wav"), "--port", "9", "--connect-timeout", "0.1"]
    for extra, says in ((["--keep", str(tmp_path / "a"), "--region", "0:1"], "no groundbass bridge answered"),
                        (["--transition-to", str(tmp_path / "a" / "t.wav"), "--span", "0:1"],
                         "no groundbass bridge answered"),
                        (["--status-file", str(tmp_path / "a" / "s.json")], "symlink loop")):
        res = _run(*base, *extra)
        lines = res.stderr.strip().splitlines()
        assert res.returncode == 1 and "Traceback" not in res.stderr and len(lines) == 1, (extra, res.stderr)
        assert lines[0].startswith("error: ") and says in lines[0], (extra, lines)


def test_no_room_for_the_scratch_file_is_one_line_and_nothing_is_written(model_path, tmp_path,
                                                                         monkeypatch):  # noqa: F811
    """A plain render keeps the mix in a scratch file in $TMPDIR; where that folder is gone
    the render says so in one line naming the mix and the folder, exits 1 and writes nothing."""
    import tempfile

    mix, out = write_mix(tmp_path / "mix.wav", seconds=1.0), tmp_path / "out" / "bass.wav"
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "no-such-tmp"))
    res = CliRunner().invoke(main, ["generate", str(mix), "-o", str(out), "--model", str(model_path),
                                    "--steps", "1", "--quiet"])
    assert res.exit_code == 1, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and str(mix) in lines[0] and "no-such-tmp" in lines[0], res.stderr
    assert not out.parent.exists()
