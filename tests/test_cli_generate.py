"""`groundbass generate` through CliRunner: naming, options, clean errors."""

from __future__ import annotations

import soundfile as sf
from cli_fixtures import STEPS, write_mix
from click.testing import CliRunner

from groundbass.bridge.cli import main


def _run(*args):
    return CliRunner().invoke(main, ["generate", *map(str, args)])


def test_generate_default_name_and_seed(model_path, tmp_path):
    mix = write_mix(tmp_path / "song.wav", frames=44100 + 5, rate=44100, channels=2, subtype="PCM_16")
    res = _run(mix, "--model", model_path, "--steps", STEPS, "--seed", "5", "--fx", "warm")
    assert res.exit_code == 0, res.output
    out = tmp_path / "song.bass.wav"
    info = sf.info(out)
    assert (info.frames, info.samplerate, info.channels, info.subtype) == (44105, 44100, 2, "PCM_16")
    assert "seed 5" in res.output
    res = _run(mix, "--model", model_path, "--steps", STEPS)
    assert res.exit_code == 1 and "already exists" in res.output and "Traceback" not in res.output
    res = _run(mix, "--model", model_path, "--steps", STEPS, "--overwrite", "--bit-depth", "32f",
               "-o", tmp_path / "x" / "b.wav")
    assert res.exit_code == 0 and sf.info(tmp_path / "x" / "b.wav").subtype == "FLOAT"


def test_generate_errors_are_one_line(model_path, tmp_path):
    res = _run(tmp_path / "nope.wav", "--model", model_path)
    assert res.exit_code == 1 and "nope.wav: no such file" in res.output and "Traceback" not in res.output
    mix = write_mix(tmp_path / "s.wav")
    res = _run(mix, "--model", tmp_path / "nomodel.safetensors")
    assert res.exit_code == 1 and "nomodel.safetensors" in res.output and "Traceback" not in res.output
    res = _run(mix, "--model", model_path, "--device", "cuda") if not _has_cuda() else None
    if res is not None:
        assert res.exit_code == 1 and "cuda" in res.output and "Traceback" not in res.output


def test_missing_bundled_model_is_a_clean_error(tmp_path, monkeypatch):
    from groundbass.core import checkpoint

    monkeypatch.setitem(checkpoint.BUNDLED_MODELS, "default", tmp_path / "absent.safetensors")
    mix = write_mix(tmp_path / "s.wav")
    res = _run(mix)
    assert res.exit_code == 1 and "bundled 'default' model is not installed" in res.output
    assert "Traceback" not in res.output and len(res.output.strip().splitlines()) == 1


def _has_cuda():
    import torch

    return torch.cuda.is_available()


def test_the_output_is_checked_before_the_model_loads(tmp_path):
    """A bad output location is reported at once, not after the (slow) model load: here the
    model does not exist at all, so any other message would mean it was loaded first."""
    mix = write_mix(tmp_path / "s.wav", seconds=0.6)
    (tmp_path / "taken.wav").write_bytes(b"someone else's")
    (tmp_path / "afile").write_text("x")
    (tmp_path / "loop").symlink_to(tmp_path / "loop2")
    (tmp_path / "loop2").symlink_to(tmp_path / "loop")
    no_model = tmp_path / "absent.safetensors"
    cases = {
        str(tmp_path / "taken.wav"): "already exists (not overwritten; use --overwrite)",
        str(mix): "output would overwrite the input",
        str(tmp_path / "afile" / "b.wav"): "output folder is not a directory",
        str(tmp_path / "afile" / "sub" / "b.wav"): "cannot create the output folder",
        str(tmp_path / "loop" / "b.wav"): "symlink loop",
        str(tmp_path / ("o" * 300 + ".wav")): "too long",
    }
    for out, says in cases.items():
        res = _run(mix, "-o", out, "--model", no_model)
        assert res.exit_code == 1 and res.exc_info[0] is SystemExit, (out, res.output, res.exc_info)
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0], (out, lines)
        assert "absent.safetensors" not in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "loop", "loop2", "s.wav", "taken.wav"]
    # with a usable output the model error comes (so the checks above really came first)
    res = _run(mix, "-o", tmp_path / "new" / "b.wav", "--model", no_model)
    assert res.exit_code == 1 and "absent.safetensors" in res.stderr and not (tmp_path / "new").exists()
