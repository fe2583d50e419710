"""`groundbass batch` end to end through CliRunner on a folder of mixed formats."""

from __future__ import annotations

import json

import soundfile as sf
from cli_fixtures import STEPS, write_mix
from click.testing import CliRunner

from groundbass.bridge.cli import main


def _make_folder(root):
    """Good files: name -> (frames, rate, channels, expected output subtype, output name)."""
    good = {
        "stereo24.wav": (44100, 44100, 2, "PCM_24", "stereo24.bass.wav"),
        "mono48.flac": (48000, 48000, 1, "PCM_24", "mono48.bass.flac"),
        "low22.wav": (22050, 22050, 2, "PCM_16", "low22.bass.wav"),
        "odd.wav": (44100 + 123, 44100, 1, "PCM_16", "odd.bass.wav"),
        "sub/nested.wav": (33333, 32000, 2, "FLOAT", "sub/nested.bass.wav"),
    }
    write_mix(root / "stereo24.wav", frames=44100, rate=44100, channels=2, subtype="PCM_24")
    write_mix(root / "mono48.flac", frames=48000, rate=48000, channels=1, subtype="PCM_24", fmt="FLAC")
    write_mix(root / "low22.wav", frames=22050, rate=22050, channels=2, subtype="PCM_16")
    write_mix(root / "odd.wav", frames=44100 + 123, rate=44100, channels=1, subtype="PCM_16")
    write_mix(root / "sub" / "nested.wav", frames=33333, rate=32000, channels=2, subtype="FLOAT")
    corrupt = write_mix(root / "corrupt.wav", frames=44100, rate=44100, channels=2, subtype="PCM_16")
    corrupt.write_bytes(corrupt.read_bytes()[:60000])  # truncated
    (root / "notes.wav").write_text("this is a text file, not audio\n" * 40)
    return good


def _run(*args):
    return CliRunner().invoke(main, ["batch", *map(str, args)])


def test_batch_folder_end_to_end(model_path, tmp_path):
    src, out = tmp_path / "mixes", tmp_path / "stems"
    good = _make_folder(src)
    res = _run(src, out, "--model", model_path, "--steps", STEPS, "--seed", "1", "--fx", "clean")
    assert res.exit_code == 1, res.output  # two bad files -> non-zero, the others done
    assert "Traceback" not in res.output
    assert "corrupt.wav" in res.output and "truncated" in res.output
    assert "notes.wav" in res.output and "not a readable audio file" in res.output
    for name, (frames, rate, ch, subtype, outname) in good.items():
        info = sf.info(out / outname)
        assert (info.frames, info.samplerate, info.channels, info.subtype) == (frames, rate, ch, subtype), name
    assert not (out / "corrupt.bass.wav").exists() and not (out / "notes.bass.wav").exists()
    assert not [p for p in out.rglob(".*")]

    lines = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()]
    done = {e["input"]: e for e in lines if e["status"] == "done"}
    failed = {e["input"]: e for e in lines if e["status"] == "failed"}
    assert set(done) == set(good) and set(failed) == {"corrupt.wav", "notes.wav"}
    e = done["sub/nested.wav"]
    assert e["outputs"] == ["sub/nested.bass.wav"] and len(e["input_sha256"]) == 64
    assert e["params"]["steps"] == 2 and e["params"]["fx"] == "clean" and e["params"]["cfg"] is not None
    assert e["seeds"] == [1] and e["model_id"] and e["groundbass_version"]
    assert e["duration_s"] > 1 and "diffusion" in e["timings"]
    assert "truncated" in failed["corrupt.wav"]["error"]

    # rerun: everything done is skipped, nothing regenerated
    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*.wav")}
    res2 = _run(src, out, "--model", model_path, "--steps", STEPS, "--seed", "1", "--fx", "clean")
    assert res2.exit_code == 1
    assert "skipped           5" in res2.output and "done              0" in res2.output
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.wav")} == mtimes

    # --overwrite regenerates; changed parameters regenerate too
    res3 = _run(src, out, "--model", model_path, "--steps", STEPS, "--seed", "1", "--fx", "clean", "--overwrite",
                "--glob", "*.flac")
    assert res3.exit_code == 0 and "done              1" in res3.output
    res4 = _run(src, out, "--model", model_path, "--steps", STEPS, "--seed", "2", "--fx", "clean",
                "--glob", "stereo*")
    assert res4.exit_code == 0 and "done              1" in res4.output


def test_shards_cover_the_folder_once(model_path, tmp_path):
    src = tmp_path / "mixes"
    for i in range(5):
        write_mix(src / f"s{i}.wav", seconds=0.6, rate=22050, channels=1, subtype="PCM_16")
    outs = []
    for shard in ("0/2", "1/2"):
        res = _run(src, tmp_path / "out", "--model", model_path, "--steps", STEPS, "--shard", shard, "--quiet")
        assert res.exit_code == 0, res.output
    lines = [json.loads(x) for x in (tmp_path / "out" / "manifest.jsonl").read_text().splitlines()]
    outs = [e["input"] for e in lines if e["status"] == "done"]
    assert sorted(outs) == [f"s{i}.wav" for i in range(5)]  # each exactly once
    assert len(list((tmp_path / "out").glob("*.bass.wav"))) == 5


def test_variations_midi_and_dry_run(model_path, tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    write_mix(src / "a.wav", seconds=1.0)
    res = _run(src, out, "--model", model_path, "--dry-run")
    assert res.exit_code == 0 and "would generate: a.wav" in res.output and not out.exists()
    res = _run(src, out, "--model", model_path, "--steps", STEPS, "--variations", "2", "--midi", "--tempo", "120",
               "--format", "flac", "--bit-depth", "16", "--sample-rate", "32000")
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.iterdir()) == ["a.bass.flac", "a.bass.mid", "a.bass.v2.flac",
                                                     "a.bass.v2.mid", "manifest.jsonl"]
    info = sf.info(out / "a.bass.v2.flac")
    assert (info.samplerate, info.frames, info.subtype) == (32000, 32000, "PCM_16")


def test_bad_batches_fail_cleanly(model_path, tmp_path):
    (tmp_path / "empty").mkdir()
    res = _run(tmp_path / "empty", tmp_path / "o", "--model", model_path)
    assert res.exit_code != 0 and "no audio files" in res.output and "Traceback" not in res.output
    write_mix(tmp_path / "in" / "a.wav")
    (tmp_path / "blocker").write_text("a file where the output folder should be")
    res = _run(tmp_path / "in", tmp_path / "blocker", "--model", model_path)
    assert res.exit_code != 0 and "blocker" in res.output and "Traceback" not in res.output
    res = _run(tmp_path / "in", tmp_path / "o", "--model", model_path, "--shard", "3/2")
    assert res.exit_code != 0 and "shard" in res.output
    res = _run(tmp_path / "in", tmp_path / "o", "--model", model_path, "--fx", tmp_path / "missing.json")
    assert res.exit_code != 0 and "missing.json" in res.output and "Traceback" not in res.output
    # an existing file groundbass did not write is never overwritten
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "a.bass.wav").write_bytes(b"user file")
    res = _run(tmp_path / "in", tmp_path / "o", "--model", model_path, "--steps", STEPS)
    assert res.exit_code == 1 and "already exists" in res.output
    assert (tmp_path / "o" / "a.bass.wav").read_bytes() == b"user file"
