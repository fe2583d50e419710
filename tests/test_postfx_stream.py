"""The post-fx chain on a bass that arrives in pieces (core.postfx_stream) against the
whole-array chain (core.postfx.apply_postfx): plugins, loudness targets, the true-peak
limiter, latency, mono and stereo, in bounded memory."""

from __future__ import annotations

import json

import numpy as np
import pyloudnorm
import pytest

from groundbass.core.postfx import (
    MATCH_MIX_OFFSET_LU,
    apply_postfx,
    build_board,
    integrated_loudness,
    load_chain_spec,
    run_board,
    true_peak,
)
from groundbass.core.postfx_stream import BoardStream, LoudnessMeter, postfx_stream

RATE = 44100


def _bass(seconds: float, channels: int = 1, seed: int = 0) -> np.ndarray:
    """A loud bass line (pushes the limiter) with a quiet stretch (the loudness gate)."""
    t = np.arange(int(seconds * RATE)) / RATE
    f = 55.0 * 2 ** (np.floor(t * 2) % 5 / 12)
    x = 0.9 * np.sin(2 * np.pi * np.cumsum(f) / RATE) + 0.05 * np.random.default_rng(seed).standard_normal(t.size)
    x[int(0.3 * t.size):int(0.4 * t.size)] *= 0.001
    x = x.astype(np.float32)
    return x if channels == 1 else np.stack([x, 0.8 * x], axis=1)


def _pieces(x: np.ndarray, sizes=(40_000, 1_000, 123_457, 7)):
    i, k = 0, 0
    while i < len(x):
        n = sizes[k % len(sizes)]
        yield x[i:i + n]
        i, k = i + n, k + 1


def _streamed(x, spec, channels, **kw):
    out = list(postfx_stream(_pieces(x), RATE, len(x), channels, spec, **kw))
    return np.concatenate(out)


@pytest.mark.parametrize("preset", ["clean", "warm", "punchy", "sub"])
@pytest.mark.parametrize("channels", [1, 2])
def test_streamed_presets_equal_the_whole_array_chain(preset, channels):
    x = _bass(9.0, channels)
    spec = load_chain_spec(preset)
    whole = apply_postfx(x, RATE, spec)
    got = _streamed(x, spec, channels)
    assert got.shape == whole.shape
    np.testing.assert_allclose(got, whole, rtol=0, atol=2e-6)
    assert true_peak(got, RATE) <= 10 ** (spec.ceiling_db / 20)


@pytest.mark.parametrize("fx,loudness", [("none", -14.0), ("clean", -20.0), ("none", -30.0)])
def test_streamed_loudness_target_equals_the_whole_array_chain(fx, loudness):
    x = _bass(7.0, 2)
    spec = load_chain_spec(fx)
    whole = apply_postfx(x, RATE, spec, loudness=loudness)
    got = _streamed(x, spec, 2, loudness=loudness)
    np.testing.assert_allclose(got, whole, rtol=0, atol=2e-6)
    assert integrated_loudness(got, RATE) == pytest.approx(integrated_loudness(whole, RATE), abs=1e-3)


def test_streamed_match_mix_uses_the_mix_loudness_given():
    x, mix = _bass(5.0, 1), 0.3 * _bass(5.0, 2, seed=1)
    spec = load_chain_spec("none")
    whole = apply_postfx(x, RATE, spec, match_mix=mix)
    got = _streamed(x, spec, 1, match_mix=True, match_mix_lufs=integrated_loudness(mix, RATE))
    np.testing.assert_allclose(got, whole, rtol=0, atol=2e-6)
    assert integrated_loudness(got, RATE) == pytest.approx(integrated_loudness(mix, RATE) + MATCH_MIX_OFFSET_LU,
                                                           abs=0.05)


def test_board_stream_keeps_run_boards_chunks_and_latency(tmp_path):
    chain = tmp_path / "delay.json"
    chain.write_text(json.dumps({"chain": [{"plugin": "Delay", "delay_seconds": 100 / RATE, "feedback": 0.0,
                                            "mix": 1.0}], "ceiling_db": None, "latency_samples": 100}))
    spec = load_chain_spec(chain)
    for n in (30, 65536 * 2 + 10, 200_001):
        x = _bass(n / RATE + 1e-9, 2)[:n]
        whole = run_board(build_board(spec, RATE), x, RATE, latency_samples=100)
        got = np.concatenate(list(BoardStream(build_board(spec, RATE), RATE, n, 2, 100).process(_pieces(x))))
        np.testing.assert_array_equal(got, whole)


@pytest.mark.parametrize("channels", [1, 2])
def test_loudness_meter_equals_pyloudnorm(channels):
    x = _bass(6.3, channels).astype(np.float64)
    meter = LoudnessMeter(RATE, len(x), channels)
    for p in _pieces(x):
        meter.add(p)
    assert meter.result() == pytest.approx(pyloudnorm.Meter(RATE).integrated_loudness(x), abs=1e-9)
    assert LoudnessMeter(RATE, 100, 1).result() is None  # shorter than one gating block
