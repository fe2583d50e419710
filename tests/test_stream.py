"""Bounded-memory streaming (core.stream and the streamed render): the pieces of a streamed
pass equal the whole-array computation sample for sample, and a plain render never reads the
mix whole."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import soxr
import torch
from cli_fixtures import write_mix

from groundbass.bridge import render as R
from groundbass.bridge.audio_files import read_audio
from groundbass.bridge.render import RenderParams, render_file
from groundbass.core.audio import fit_length
from groundbass.core.autoencoder import SpectrogramAutoencoder
from groundbass.core.features import estimate_tuning, mix_features
from groundbass.core.stream import ArraySignal, ScratchSignal, ScratchWriter, resample_pieces, signal_rms, windows


def _noise(n: int, seed: int = 0) -> np.ndarray:
    return (0.3 * np.random.default_rng(seed).standard_normal(n)).astype(np.float32)


@pytest.mark.parametrize("rates", [(48000, 44100), (44100, 22050), (22050, 44100), (44100, 44100)])
@pytest.mark.parametrize("length_change", [-1000, 0, 777])
def test_resample_pieces_equals_one_resample_of_the_whole(rates, length_change):
    x = _noise(300_001)
    whole = soxr.resample(x, *rates, quality="HQ").astype(np.float32)
    length = len(whole) + length_change
    pieces = [x[i:i + n] for i, n in zip(range(0, len(x), 70_000), [70_000] * 5)]
    out = list(resample_pieces(iter(pieces), *rates, length, block=50_000))
    assert all(len(p) <= 50_000 for p in out)
    np.testing.assert_array_equal(np.concatenate(out), fit_length(whole, length))


def test_scratch_signal_holds_the_resampled_downmix_and_zeros_outside():
    x = _noise(200_000, 1)
    writer = ScratchWriter(48000, 44100)
    for i in range(0, len(x), 33_333):
        writer.push(x[i:i + 33_333])
    with writer.finish() as sig:
        assert isinstance(sig, ScratchSignal)
        whole = soxr.resample(x, 48000, 44100, quality="HQ").astype(np.float32)
        assert sig.length == len(whole)
        np.testing.assert_array_equal(sig.read(0, sig.length), whole)
        np.testing.assert_array_equal(sig.read(-5, 10), np.r_[np.zeros(5, np.float32), whole[:10]])
        np.testing.assert_array_equal(sig.read(sig.length - 3, sig.length + 4), np.r_[whole[-3:], np.zeros(4)])
        assert not sig.read(sig.length + 10, sig.length + 20).any()
        assert signal_rms(sig, block=10_000) == pytest.approx(float(np.sqrt(np.mean(whole.astype(np.float64) ** 2))),
                                                              rel=1e-12)
    assert sig._file.closed


def test_windows_cover_every_frame_once_with_clipped_context():
    ws = list(windows(1000, 300, 16))
    assert [(w.start, w.stop) for w in ws] == [(0, 300), (300, 600), (600, 900), (900, 1000)]
    assert [(w.lo, w.hi) for w in ws] == [(0, 316), (284, 616), (584, 916), (884, 1000)]
    assert all(w.keep.stop - w.keep.start == w.stop - w.start for w in ws)
    with pytest.raises(ValueError):
        list(windows(10, 0, 1))


def test_features_and_tuning_read_from_a_signal_equal_the_array_ones():
    rate, ratio = 22050, 2048
    t = np.arange(rate * 70) / rate  # > 3 tuning excerpts and > one feature window
    y = (0.2 * np.sin(2 * np.pi * 220 * 2 ** (0.2 / 12) * t) + 0.01 * _noise(t.size)).astype(np.float32)
    frames = -(-y.size // ratio)
    reads = []

    class Spy(ArraySignal):
        def read(self, lo, hi):
            reads.append(hi - lo)
            return super().read(lo, hi)

    assert estimate_tuning(Spy(y), rate) == estimate_tuning(y, rate)
    np.testing.assert_array_equal(mix_features(Spy(y), rate, frames, ratio, tuning=0.1),
                                  mix_features(y, rate, frames, ratio, tuning=0.1))
    assert max(reads) <= (512 + 2 * 32) * ratio < y.size  # one feature window at most, never the whole mix


def test_encoder_by_ranges_and_decoder_pieces_equal_the_chunked_calls(tiny_config):
    torch.manual_seed(0)
    ae = SpectrogramAutoencoder(tiny_config.bass_ae).eval()
    wave = torch.from_numpy(_noise(ae.ratio * 300 + 123, 2))[None]  # > 4096 STFT frames: 2 pieces
    with torch.inference_mode():
        whole = ae.encode_chunked(wave, chunk_frames=40, context=8)
        sig = ArraySignal(wave[0].numpy())
        by_ranges = ae.encode_read(lambda lo, hi: torch.from_numpy(sig.read(lo, hi))[None], wave.shape[-1],
                                   chunk_frames=40, context=8)
        torch.testing.assert_close(by_ranges, whole, rtol=0, atol=0)
        for length in (whole.shape[-1] * ae.ratio - 500, whole.shape[-1] * ae.ratio + 300):
            pieces = list(ae.decode_pieces(whole, length=length, chunk_frames=40, context=8, tuning=0.2))
            assert len(pieces) > 1
            torch.testing.assert_close(torch.cat(pieces, dim=-1),
                                       ae.decode_chunked(whole, length=length, chunk_frames=40, context=8, tuning=0.2),
                                       rtol=0, atol=0)


def test_generate_stream_equals_generate(generator):
    rate = 48000
    mix = _noise(int(2.5 * rate), 3)
    whole = generator.generate(mix, rate, seed=5, steps=1, variations=2)
    mono = soxr.resample(mix, rate, generator.sample_rate, quality="HQ").astype(np.float32)
    streams = generator.generate_stream(ArraySignal(mono), sample_rate=rate, length=len(mix), seed=5, steps=1,
                                        variations=2)
    for w, pieces in zip(whole, streams):
        np.testing.assert_array_equal(np.concatenate(list(pieces)), w)


def _render_both(generator, monkeypatch, mix, tmp_path, params):
    """The same render streamed and through the whole-array path -> (streamed bytes, whole bytes)."""
    a, b = tmp_path / "streamed" / "bass.wav", tmp_path / "whole" / "bass.wav"
    render_file(generator, mix, a, params)
    with monkeypatch.context() as m:
        m.setattr(R, "_streams", lambda params, spec: False)
        render_file(generator, mix, b, params)
    return a, b


def test_a_streamed_render_writes_the_whole_array_renders_file(generator, tmp_path, monkeypatch):
    mix = write_mix(tmp_path / "mix.wav", seconds=2.0, rate=44100, channels=2)
    a, b = _render_both(generator, monkeypatch, mix, tmp_path, RenderParams(steps=1, seed=2, variations=2))
    for x, y in [(a, b), (a.with_name("bass.v2.wav"), b.with_name("bass.v2.wav"))]:
        assert x.read_bytes() == y.read_bytes()
    assert sf.info(str(a)).channels == 2 and sf.info(str(a)).frames == sf.info(str(mix)).frames


def test_a_long_streamed_render_reads_the_mix_window_by_window_and_resamples_the_same(generator, tmp_path,
                                                                                    monkeypatch):
    """100 s at 48 kHz, written at 44.1 kHz: long enough for several encoder, feature and
    decoder windows. The streamed file equals the whole-array one byte for byte, the model
    never read more than one encoder window of the mix at a time, and no scratch file is
    left open."""
    mix = write_mix(tmp_path / "mix.wav", seconds=100.0, rate=48000, channels=1, subtype="PCM_16")
    reads, signals = [], []
    real_read = ScratchSignal.read
    real_audio = read_audio

    def spy(self, lo, hi):
        reads.append(hi - lo)
        return real_read(self, lo, hi)

    def keep(*args, **kw):
        audio = real_audio(*args, **kw)
        signals.append(audio.signal)
        return audio

    monkeypatch.setattr(ScratchSignal, "read", spy)
    monkeypatch.setattr(R, "read_audio", keep)
    a, b = _render_both(generator, monkeypatch, mix, tmp_path, RenderParams(steps=1, seed=4, sample_rate=44100))
    assert a.read_bytes() == b.read_bytes()
    assert sf.info(str(a)).samplerate == 44100 and sf.info(str(a)).frames == 100 * 44100
    ratio = generator.config.ratio
    # one encoder window with its context at most (the whole mix would be 4.41 M samples)
    assert reads and max(reads) <= (1024 + 2 * 16) * ratio < 100 * generator.sample_rate
    assert signals[0] is not None and signals[0]._file.closed


@pytest.mark.parametrize("params", [dict(fx="clean"), dict(fx="punchy", variations=2), dict(loudness=-16.0),
                                    dict(match_mix=True, sample_rate=44100), dict(fx="sub", loudness=-20.0)])
def test_a_streamed_render_with_post_fx_equals_the_whole_array_render(generator, tmp_path, monkeypatch, params):
    """Plugins, loudness targets, match-mix and the limiter streamed (core.postfx_stream) give
    the file of the whole-array chain to float rounding (a 24-bit LSB at most)."""
    mix = write_mix(tmp_path / "mix.wav", seconds=6.0, rate=48000, channels=2)
    a, b = _render_both(generator, monkeypatch, mix, tmp_path, RenderParams(steps=1, seed=6, **params))
    for i in range(params.get("variations", 1)):
        name = "bass.wav" if i == 0 else f"bass.v{i + 1}.wav"
        x, rx = sf.read(str(a.with_name(name)), dtype="float32")
        y, ry = sf.read(str(b.with_name(name)), dtype="float32")
        assert rx == ry and x.shape == y.shape == (int(round(6.0 * rx)), 2)
        np.testing.assert_allclose(x, y, rtol=0, atol=2.0 ** -22)
        assert np.abs(x).max() > 1e-3


def test_a_streamed_render_reports_and_times_every_stage(generator, tmp_path):
    """Decoding happens while the file is written: the progress still goes through every
    stage in order, ends at 1.0, and the decode stage has its own time."""
    mix = write_mix(tmp_path / "mix.wav", seconds=3.0)
    seen = []
    res = render_file(generator, mix, tmp_path / "bass.wav", RenderParams(steps=2, seed=1, variations=2),
                      progress=lambda stage, frac: seen.append((stage, frac)))
    stages = [s for s, _ in seen]
    order = ["read", "encode", "diffusion", "decode", "postfx", "write", "done"]
    assert [s for s in order if s in stages] == order
    assert [stages.index(s) for s in order] == sorted(stages.index(s) for s in order)
    fracs = [f for _, f in seen]
    assert fracs == sorted(fracs) and fracs[-1] == 1.0
    assert res.timings["decode"] > 0 and stages.count("decode") == 2  # one report per variation
