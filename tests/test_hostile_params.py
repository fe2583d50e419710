"""Hostile parameters (issue 12, "Nothing unsafe leaves groundbass": parameter limits and the
output guard): every numeric parameter at and past its limits, NaN and Inf, through
every front end (CLI options, OSC keys, render checks, the Python API), and the last guard
before a write (no speaker-damaging or silent file is ever written). Fast: no model runs
except where a render must get as far as the write."""

from __future__ import annotations

import math

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner
from osc_support import write_mix

from groundbass.bridge.cli import main
from groundbass.bridge.osc import protocol as P
from groundbass.bridge.render import RenderError, RenderParams, check_output_audio, check_params, render_file
from groundbass.core.params import NUMBERS

CLI_FLAG = {name: "--" + name.replace("_", "-") for name in NUMBERS}
BAD_FLOATS = ["nan", "inf", "-inf", "NaN", "1e999"]


def _past_limits(spec):
    step = 1 if spec.kind == "int" else 1e-3
    return [spec.lo - step, spec.hi + step]


@pytest.mark.parametrize("name", sorted(NUMBERS))
def test_cli_refuses_every_parameter_past_its_limits_and_non_finite(tmp_path, name):
    spec = NUMBERS[name]
    mix = write_mix(tmp_path / "mix.wav", seconds=0.6)
    out = tmp_path / "out.wav"
    values = [*map(str, _past_limits(spec)), *BAD_FLOATS]
    if name == "seed":
        values.remove(str(spec.lo - 1))  # -1 means "random" for the seed
        values.append("-2")
    for value in values:
        res = CliRunner().invoke(main, ["generate", str(mix), "-o", str(out), CLI_FLAG[name], value])
        assert res.exit_code == 2, (name, value, res.output)
        assert "Traceback" not in res.output and CLI_FLAG[name] in res.output
        assert not out.exists()


@pytest.mark.parametrize("name", sorted(NUMBERS))
def test_osc_keys_refuse_the_same_values(name):
    spec = NUMBERS[name]
    for value in [*_past_limits(spec), math.nan, math.inf, -math.inf]:
        if name == "seed" and value == -1:
            continue
        with pytest.raises(P.ProtocolError):
            P.coerce_param(name, value)
    assert P.coerce_param(name, spec.lo)[1] == spec.lo
    assert P.coerce_param(name, spec.hi)[1] == spec.hi


@pytest.mark.parametrize("name", sorted(NUMBERS))
def test_render_checks_accept_the_limits_and_refuse_past_them(name):
    spec = NUMBERS[name]
    for ok in (spec.lo, spec.hi):
        check_params(RenderParams(**{name: ok}))
    for bad in [*_past_limits(spec), math.nan, math.inf]:
        with pytest.raises(RenderError, match=name):
            check_params(RenderParams(**{name: bad}))


def test_python_api_refuses_non_finite_guidance(generator):  # noqa: F811
    mix = np.zeros(22050, np.float32)
    for kw in ({"cfg": math.nan}, {"cfg": math.inf}, {"phi": 1.5}, {"grounding": -0.1}, {"steps": 0},
               {"style_cfg": math.nan}):
        with pytest.raises(ValueError):
            generator.generate(mix, 22050, seed=0, **kw)


def test_output_guard_refuses_dc_full_scale_nan_and_unexpected_silence(tmp_path):
    path = tmp_path / "x.wav"
    sine = (0.3 * np.sin(np.arange(44100) * 0.05)).astype(np.float32)
    check_output_audio(sine, path, mix_silent=False)  # an ordinary bass passes
    check_output_audio(np.zeros(100, np.float32), path, mix_silent=True)  # silence for a silent mix is fine
    for bad, why in [(np.full(44100, -1.0, np.float32), "full scale"),
                     (np.full(44100, 0.3, np.float32), "DC"),
                     (np.where(np.arange(44100) == 5, np.nan, sine).astype(np.float32), "NaN"),
                     (np.zeros(44100, np.float32), "silent")]:
        with pytest.raises(RenderError, match=why):
            check_output_audio(bad, path, mix_silent=False)


@pytest.mark.parametrize("streamed", [True, False])
def test_a_dc_generation_is_never_written(generator, tmp_path, monkeypatch, streamed):  # noqa: F811
    """What `--cfg nan` did before: the model's output pinned at -1.0. The render must stop
    before the write, name the file, and leave nothing behind — on the streamed path (a plain
    render: the guard measures the pieces as they are written, and the file is never renamed
    into place) and on the whole-array path (here: with MIDI beside it)."""
    mix = write_mix(tmp_path / "mix.wav", seconds=0.6)
    out = tmp_path / "o" / "bass.wav"

    def pinned_stream(self, signal, *, sample_rate, length, variations=1, **kw):
        for _ in range(variations):
            yield iter([-np.ones(length // 2, np.float32), -np.ones(length - length // 2, np.float32)])

    if streamed:
        monkeypatch.setattr(type(generator), "generate_stream", pinned_stream)
    else:
        monkeypatch.setattr(type(generator), "generate",
                            lambda self, m, sr, **kw: -np.ones_like(np.asarray(m, np.float32)))
    with pytest.raises(RenderError, match=str(out)):
        render_file(generator, mix, out, RenderParams(steps=1, seed=0, midi=not streamed))
    assert not out.exists() and list(out.parent.iterdir()) == []
    assert sf.info(str(mix)).frames > 0  # input untouched


def test_a_bad_second_variation_leaves_no_first_one_and_keeps_an_old_file(generator, tmp_path,
                                                                         monkeypatch):  # noqa: F811
    """Streamed variations are written one after the other, but renamed into place only when
    all are written and checked: a pinned second variation leaves neither output, and the old
    file that --overwrite would have replaced is still there, byte for byte."""
    mix = write_mix(tmp_path / "mix.wav", seconds=0.6)
    out = tmp_path / "bass.wav"
    out.write_bytes(b"an old take")

    def second_pinned(self, signal, *, sample_rate, length, variations=1, **kw):
        yield iter([np.full(length, 0.1, np.float32) * np.sin(np.arange(length, dtype=np.float32))])
        yield iter([-np.ones(length, np.float32)])

    monkeypatch.setattr(type(generator), "generate_stream", second_pinned)
    with pytest.raises(RenderError, match="bass.v2.wav"):
        render_file(generator, mix, out, RenderParams(steps=1, seed=0, variations=2), overwrite=True)
    assert out.read_bytes() == b"an old take"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bass.wav", "mix.wav"]


def test_harmony_guidance_on_a_model_without_latent_dropout_is_one_clear_error(model_path, generator, tmp_path):
    """harmony_cfg is in range for every front end, but a model trained without latent dropout has no
    features-only estimate: the CLI and the render (the OSC bridge's path) refuse it before any work."""
    mix = write_mix(tmp_path / "mix.wav", seconds=0.6)
    out = tmp_path / "out.wav"
    res = CliRunner().invoke(main, ["generate", str(mix), "-o", str(out), "--model", str(model_path),
                                    "--harmony-cfg", "1", "--steps", "1", "--quiet"])
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert "harmony_cfg 1" in res.output and "latent dropout" in res.output
    assert not out.exists()
    with pytest.raises(RenderError, match="cannot take harmony guidance"):
        render_file(generator, mix, out, RenderParams(steps=1, seed=0, harmony_cfg=0.5))
    assert not out.exists()
    render_file(generator, mix, out, RenderParams(steps=1, seed=0, harmony_cfg=0.0))  # 0 is always fine
    assert out.exists()
