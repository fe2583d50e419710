"""Post-fx: presets keep length and respect the -1 dBFS ceiling; chain files; loudness."""

from __future__ import annotations

import json

import numpy as np
import pytest

from groundbass.core import postfx

SR = 44100
CEILING = 10 ** (-1 / 20)


def _hot_bass(n=SR * 2 + 17, channels=2):
    t = np.arange(n) / SR
    x = 1.6 * np.sign(np.sin(2 * np.pi * 55 * t)) * np.exp(-0.3 * t) + 0.3 * np.sin(2 * np.pi * 1234 * t)
    x = x.astype(np.float32)
    return np.stack([x, -0.9 * x], axis=1) if channels == 2 else x


@pytest.mark.parametrize("preset", sorted(postfx.PRESETS))
@pytest.mark.parametrize("channels", [1, 2])
def test_presets_keep_length_and_ceiling(preset, channels):
    x = _hot_bass(channels=channels)
    y = postfx.apply_postfx(x, SR, preset)
    assert y.shape == x.shape and y.dtype == np.float32
    if preset == "none":
        np.testing.assert_array_equal(y, x)
    else:
        assert np.abs(y).max() <= CEILING  # no sample above the limiter ceiling
        assert postfx.true_peak(y, SR) <= CEILING * 1.0001  # nor an inter-sample peak
        assert np.abs(y).max() > 0.1


def test_loudness_target_and_limiter_after_gain():
    x = 0.01 * _hot_bass()
    y = postfx.apply_postfx(x, SR, "none", loudness=-20.0)
    assert postfx.integrated_loudness(y, SR) == pytest.approx(-20.0, abs=0.5)
    y = postfx.apply_postfx(x, SR, "none", loudness=-3.0)  # needs far more gain than headroom
    assert np.abs(y).max() <= CEILING


def test_match_mix_sets_level_relative_to_mix():
    bass = 0.05 * _hot_bass()
    mix = 0.3 * _hot_bass()[::-1].copy()
    y = postfx.apply_postfx(bass, SR, "none", match_mix=mix)
    expected = postfx.integrated_loudness(mix, SR) + postfx.MATCH_MIX_OFFSET_LU
    assert postfx.integrated_loudness(y, SR) == pytest.approx(expected, abs=1.0)


def test_chunked_processing_is_continuous():
    x = _hot_bass()
    spec = postfx.load_chain_spec("punchy")
    a = postfx.run_board(postfx.build_board(spec, SR), x, SR, chunk=1000)
    b = postfx.run_board(postfx.build_board(spec, SR), x, SR, chunk=len(x))
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_json_chain_applies_named_plugins(tmp_path):
    chain = tmp_path / "chain.json"
    chain.write_text(json.dumps({"chain": [{"plugin": "Gain", "gain_db": -6.0206}], "ceiling_db": None}))
    x = 0.5 * _hot_bass()
    np.testing.assert_allclose(postfx.apply_postfx(x, SR, chain), x * 0.5, atol=1e-5)

    # a high-pass at 200 Hz removes a 40 Hz tone; the list form is accepted too
    chain.write_text(json.dumps([{"plugin": "HighpassFilter", "cutoff_frequency_hz": 200.0},
                                 {"plugin": "HighpassFilter", "cutoff_frequency_hz": 200.0}]))
    t = np.arange(SR) / SR
    low = (0.5 * np.sin(2 * np.pi * 40 * t)).astype(np.float32)
    y = postfx.apply_postfx(low, SR, chain)
    assert y.shape == low.shape and np.sqrt(np.mean(y[SR // 2:] ** 2)) < 0.05 * np.sqrt(np.mean(low ** 2))


def test_latency_compensation_keeps_alignment(tmp_path):
    chain = tmp_path / "delay.json"
    # a pure 100-sample delay stands in for a plugin with latency; compensation undoes it
    chain.write_text(json.dumps({"chain": [{"plugin": "Delay", "delay_seconds": 100 / SR, "feedback": 0.0,
                                            "mix": 1.0}], "ceiling_db": None, "latency_samples": 100}))
    x = np.zeros(SR, np.float32)
    x[5000] = 0.5
    y = postfx.apply_postfx(x, SR, chain)
    assert len(y) == len(x) and int(np.argmax(np.abs(y))) == 5000


@pytest.mark.parametrize("content,match", [
    ("{not json", "not valid JSON"),
    ('{"chain": [{"plugin": "NoSuchPlugin"}]}', "unknown plugin 'NoSuchPlugin'"),
    ('{"chain": [{"plugin": "Gain", "gian_db": 3}]}', "bad parameters for Gain"),
    ('{"chain": [{"name": "Gain"}]}', 'either "plugin" or "vst3"'),
    ('{"chain": "Gain"}', "expected a JSON list"),
    ('{"chain": [], "ceiling_db": 3}', "ceiling_db"),
    ('{"chain": [{"vst3": "/nonexistent/Thing.vst3"}]}', "cannot load VST3"),
])
def test_malformed_chain_gives_clear_error(tmp_path, content, match):
    chain = tmp_path / "bad.json"
    chain.write_text(content)
    with pytest.raises(postfx.ChainError, match=match) as info:
        postfx.load_chain_spec(chain)
    assert str(chain) in str(info.value) and "\n" not in str(info.value)


def test_unknown_preset_and_missing_file():
    with pytest.raises(postfx.ChainError, match="unknown fx preset"):
        postfx.load_chain_spec("loud")
    with pytest.raises(postfx.ChainError, match="chain file not found"):
        postfx.load_chain_spec("/nonexistent/chain.json")


def test_limiter_of_mono_written_dual_mono_equals_the_stereo_result(tmp_path):
    """The render limits a mono bass and lets the writer repeat it to the mix's channels (no
    full-length stereo copy). That is only right while the chain without plugins is linked
    across channels: the "none" chain on mono, written as two channels, must equal the chain
    on the two-channel copy, sample for sample, with the limiter working."""
    import soundfile as sf

    from groundbass.bridge.audio_files import write_audio_atomic
    from groundbass.core.postfx import apply_postfx

    rate = 44100
    t = np.arange(3 * rate) / rate
    mono = (1.6 * np.sin(2 * np.pi * 55 * t) * (t > 1)).astype(np.float32)  # well over the ceiling
    chain = postfx.ChainSpec(plugins=[], ceiling_db=-1.0, source="ceiling only")  # a chain file with no plugins
    limited = apply_postfx(mono[:, None], rate, chain)
    stereo = apply_postfx(np.repeat(mono[:, None], 2, axis=1), rate, chain)
    assert np.abs(limited).max() <= CEILING
    assert np.array_equal(np.repeat(limited, 2, axis=1), stereo)
    assert np.array_equal(np.repeat(apply_postfx(mono[:, None], rate, "none"), 2, axis=1),
                          apply_postfx(np.repeat(mono[:, None], 2, axis=1), rate, "none"))
    out = write_audio_atomic(tmp_path / "b.wav", limited, rate, "wav", "FLOAT", channels=2)
    back, _ = sf.read(out, dtype="float32")
    assert back.shape == (len(mono), 2) and np.array_equal(back, stereo)
    with pytest.raises(ValueError, match="cannot write 2-channel samples as 3"):
        write_audio_atomic(tmp_path / "c.wav", stereo, rate, "wav", "FLOAT", channels=3)
