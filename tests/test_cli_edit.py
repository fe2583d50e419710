"""Edits through the front ends: `groundbass generate --keep/--region/--continue/--loop/
--transition-to/--span` and `batch --keep-dir` (CliRunner, real files), and the same keys over
a real OSC socket. The sampling itself is tested in test_editing.py; here: what is written,
what is refused, and that the kept samples survive the file round trip."""

from __future__ import annotations

import re

import numpy as np
import soundfile as sf
from cli_fixtures import STEPS, write_mix
from click.testing import CliRunner

from groundbass.bridge.cli import main


def _run(*args):
    return CliRunner().invoke(main, [*map(str, args)])


def _bass(path, seconds, rate=44100, subtype="FLOAT"):
    t = np.arange(int(seconds * rate)) / rate
    sf.write(path, (0.3 * np.sin(2 * np.pi * 55 * t)).astype(np.float32), rate, subtype=subtype)
    return path


def test_generate_regenerate_region_keeps_the_rest_of_the_file(model_path, tmp_path):
    mix = write_mix(tmp_path / "song.wav", seconds=3.0, channels=2)
    old = _bass(tmp_path / "old.wav", 3.0)
    out = tmp_path / "new.wav"
    res = _run("generate", mix, "--model", model_path, "--steps", STEPS, "--seed", 1, "--keep", old,
               "--region", "1:2", "-o", out)
    assert res.exit_code == 0, res.output
    a, rate = sf.read(old, dtype="float32")
    b, rate_b = sf.read(out, dtype="float32")
    assert rate_b == rate and b.shape == a.shape and sf.info(out).subtype == "FLOAT"
    assert np.array_equal(b[:rate], a[:rate]) and np.array_equal(b[2 * rate:], a[2 * rate:])
    assert not np.array_equal(b[rate:2 * rate], a[rate:2 * rate])


def test_generate_continue_and_transition_from_a_kept_bass(model_path, tmp_path):
    mix = write_mix(tmp_path / "song.wav", seconds=3.0)
    old = _bass(tmp_path / "old.wav", 1.5)
    a, rate = sf.read(old, dtype="float32")
    res = _run("generate", mix, "--model", model_path, "--steps", STEPS, "--keep", old, "--continue",
               "-o", tmp_path / "cont.wav")
    assert res.exit_code == 0, res.output
    cont, _ = sf.read(tmp_path / "cont.wav", dtype="float32")
    fade = int(round(0.03 * rate))
    assert cont.shape[0] == 3 * rate and np.array_equal(cont[:len(a) - fade], a[:-fade])
    ref = _bass(tmp_path / "ref.wav", 1.0)
    res = _run("generate", mix, "--model", model_path, "--steps", STEPS, "--keep", old, "--transition-to", ref,
               "--span", "1:2", "--grounding", "1", "-o", tmp_path / "tr.wav")
    assert res.exit_code == 0, res.output
    tr, _ = sf.read(tmp_path / "tr.wav", dtype="float32")
    assert tr.shape[0] == 3 * rate and np.array_equal(tr[:rate - fade], a[:rate - fade])


def test_generate_transition_between_references_and_loop(model_path, tmp_path):
    mix = write_mix(tmp_path / "song.wav", seconds=2.0, channels=1)
    ref = _bass(tmp_path / "ref.wav", 1.0)
    res = _run("generate", mix, "--model", model_path, "--steps", STEPS, "--style", ref, "--transition-to", ref,
               "--span", "0.5:1.5", "--fx", "warm", "-o", tmp_path / "t.wav")
    assert res.exit_code == 0, res.output
    assert sf.info(tmp_path / "t.wav").frames == sf.info(mix).frames
    res = _run("generate", mix, "--model", model_path, "--steps", STEPS, "--loop", "-o", tmp_path / "l.wav")
    assert res.exit_code == 0, res.output
    assert sf.info(tmp_path / "l.wav").frames == sf.info(mix).frames


def test_edit_method_option_reaches_the_sampler_and_keeps_the_rest(model_path, tmp_path):
    """--edit-method repaint samples the region differently from the default (replace), and
    both keep the bass outside it sample for sample. Four steps: with two, RePaint's schedule has
    no jump back (one piece) and equals the replacement."""
    mix = write_mix(tmp_path / "song.wav", seconds=3.0)
    old = _bass(tmp_path / "old.wav", 3.0)
    a, rate = sf.read(old, dtype="float32")
    outs = {}
    for method in ("replace", "repaint"):
        out = tmp_path / f"{method}.wav"
        res = _run("generate", mix, "--model", model_path, "--steps", 4, "--seed", 3, "--keep", old,
                   "--region", "1:2", "--edit-method", method, "-o", out)
        assert res.exit_code == 0, res.output
        outs[method], _ = sf.read(out, dtype="float32")
        assert np.array_equal(outs[method][:rate], a[:rate]) and np.array_equal(outs[method][2 * rate:], a[2 * rate:])
    assert not np.array_equal(outs["replace"][rate:2 * rate], outs["repaint"][rate:2 * rate])


def test_edit_usage_errors_are_one_line_and_write_nothing(model_path, tmp_path):
    mix = write_mix(tmp_path / "song.wav", seconds=2.0)
    old = _bass(tmp_path / "old.wav", 2.0)
    ref = _bass(tmp_path / "ref.wav", 1.0)
    cases = [
        (["--region", "1:2"], "give keep"),
        (["--keep", old], "needs a region"),
        (["--keep", old, "--region", "2:1"], "START must come before END"),
        (["--keep", old, "--region", "1:2", "--continue"], "not both"),
        (["--transition-to", ref], "needs a span"),
        (["--span", "0.5:1"], "something to go from or to"),
        (["--keep", old, "--span", "0.5:1", "--loop"], "does not combine"),
        (["--keep", old, "--region", "0.5:1", "--fx", "warm"], "post-fx"),
        (["--keep", tmp_path / "missing.wav", "--region", "0.5:1"], "missing.wav"),
    ]
    for extra, message in cases:
        res = _run("generate", mix, "--model", model_path, "--steps", STEPS, "--quiet", *extra, "-o", tmp_path / "x.wav")
        assert res.exit_code != 0 and message in res.output, (extra, res.output)
        assert "Traceback" not in res.output and len(res.output.strip().splitlines()) == 1, res.output
        assert not (tmp_path / "x.wav").exists()
    # values outside the parameter spec are click usage errors (exit 2) naming the option
    for extra, message in [(["--edit-method", "blend"], "'blend' is not one of"),
                           (["--crossfade", "1.5"], "crossfade must be within 0..1"),
                           (["--crossfade", "nan"], "crossfade must be a finite number")]:
        res = _run("generate", mix, "--model", model_path, "--keep", old, "--region", "0.5:1", *extra,
                   "-o", tmp_path / "x.wav")
        assert res.exit_code == 2 and message in res.output and extra[0] in res.output, res.output
        assert "Traceback" not in res.output and not (tmp_path / "x.wav").exists()


def test_batch_keep_dir_edits_each_songs_own_bass_and_resumes(model_path, tmp_path):
    mixes, first, edits = tmp_path / "mixes", tmp_path / "first", tmp_path / "edits"
    for name in ("a.wav", "sub/b.wav"):
        write_mix(mixes / name, seconds=2.0)
    res = _run("batch", mixes, first, "--model", model_path, "--steps", STEPS, "--seed", 3)
    assert res.exit_code == 0, res.output
    args = ["batch", mixes, edits, "--model", model_path, "--steps", STEPS, "--keep-dir", first, "--region", "0.5:1"]
    res = _run(*args)
    assert res.exit_code == 0, res.output
    for rel in ("a.bass.wav", "sub/b.bass.wav"):
        old, rate = sf.read(first / rel, dtype="float32")
        new, _ = sf.read(edits / rel, dtype="float32")
        assert np.array_equal(new[: rate // 2], old[: rate // 2]) and np.array_equal(new[rate:], old[rate:])
        assert not np.array_equal(new, old)
    res = _run(*args)  # nothing changed: both are up to date
    assert res.exit_code == 0 and re.search(r"skipped\s+2\b", res.output), res.output
    # a song with no earlier bass fails on its own; the others are still done
    write_mix(mixes / "c.wav", seconds=2.0)
    res = _run(*args)
    assert res.exit_code != 0 and "c.wav: no existing bass to edit" in res.output
    res = _run("batch", mixes, edits, "--model", model_path, "--keep", first / "a.bass.wav", "--region", "0.5:1")
    assert res.exit_code != 0 and "--keep-dir" in res.output
    res = _run("batch", mixes, first, "--model", model_path, "--keep-dir", first, "--region", "0.5:1")
    assert res.exit_code != 0 and "--keep-dir folder" in res.output


def test_batch_keep_dir_missing_or_a_file_is_one_line(tmp_path):
    mixes = tmp_path / "mixes"
    write_mix(mixes / "a.wav", seconds=0.6)
    (tmp_path / "afile").write_text("x")
    for keep, says in ((tmp_path / "nope", "does not exist"), (tmp_path / "afile", "is not a folder")):
        res = _run("batch", mixes, tmp_path / "out", "--model", tmp_path / "absent.safetensors",
                   "--keep-dir", keep, "--region", "0.5:1")
        lines = res.stderr.strip().splitlines()
        assert res.exit_code == 1 and len(lines) == 1 and lines[0].startswith("error: "), res.output
        assert str(keep) in lines[0] and "--keep-dir" in lines[0] and says in lines[0], lines
        assert not (tmp_path / "out").exists()
