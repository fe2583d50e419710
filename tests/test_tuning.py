"""The bass follows the mix's tuning: the carrier plays the decoded notes `tuning` semitones
off A = 440 Hz, the windowed carrier equals the whole-song one, and the generator estimates
the tuning of a detuned mix."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from groundbass.core.pitch_phase import CarrierTrack, carrier_phase, frame_f0, harmonic_carrier


def test_frame_f0_applies_the_tuning():
    cls = torch.tensor([[0, 46, 46]])  # silent, then MIDI 24 + 45 = 69 (A4)
    assert frame_f0(cls, 24)[0].tolist() == [0.0, 440.0, 440.0]
    assert frame_f0(cls, 24, tuning=-0.5)[0, 1].item() == pytest.approx(440 * 2 ** (-0.5 / 12))


def test_detuned_carrier_sounds_at_the_detuned_pitch():
    sr, hop = 22050, 128
    cls = torch.full((1, 400), 22)  # MIDI 45 (A2, 110 Hz)
    for tuning in (0.0, 0.3):
        x = harmonic_carrier(frame_f0(cls, 24, tuning), hop, sr, hold=True)[0].numpy()
        spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
        freqs = np.fft.rfftfreq(len(x), 1 / sr)
        band = (freqs > 100) & (freqs < 120)  # around the fundamental (all harmonics are equally loud)
        f_peak = freqs[band][np.argmax(spec[band])]
        assert f_peak == pytest.approx(110 * 2 ** (tuning / 12), rel=0.002)


def test_windowed_carrier_phase_equals_the_whole_song():
    sr, hop, n_fft = 22050, 128, 1024
    rng = np.random.default_rng(0)
    cls = torch.from_numpy(np.repeat(rng.integers(0, 49, 40), 25))[None]  # notes and silences, 1000 frames
    from groundbass.core.spectral import stft

    whole = carrier_phase(cls, 24, n_fft, hop, sr, tuning=0.2)
    mag = stft(harmonic_carrier(frame_f0(cls, 24, 0.2), hop, sr, hold=True), n_fft, hop).abs()
    track = CarrierTrack(cls, 24, hop, sr, tuning=0.2)
    part = track.phase(300, 700, n_fft)
    # frames well inside the window (away from its reflect-padded edges) are the whole song's,
    # wherever the carrier has energy (the phase of an empty bin means nothing)
    diff = torch.angle(torch.exp(1j * (part[..., 8:-8] - whole[..., 308:692])))
    loud = mag[..., 308:692] > 1e-3 * mag.max()
    assert loud.float().mean() > 0.05 and diff[loud].abs().max().item() < 1e-3


def test_generator_estimates_and_follows_a_detuned_mix(monkeypatch):
    from groundbass.core import BassGenerator

    gen = BassGenerator.from_preset("small", seed=0, device="cpu")
    seen = {}
    original = gen.decode_bass_pieces

    def spy(latent, length, tuning=0.0):
        seen["tuning"] = tuning
        return original(latent, length, tuning)

    monkeypatch.setattr(gen, "decode_bass_pieces", spy)
    sr = 22050
    t = np.arange(3 * sr) / sr
    cents = -35.0
    mix = sum(0.2 * np.sin(2 * np.pi * 440 * 2 ** ((m - 69 + cents / 100) / 12) * t) for m in (57, 60, 64))
    gen.generate(mix.astype(np.float32), sr, steps=1, seed=0)
    assert seen["tuning"] == pytest.approx(cents / 100, abs=0.05)


def test_windowed_pitch_decode_equals_the_whole_song_decode(tiny_config):
    """Bounded-memory decode: the carrier and iSTFT computed window by window (many windows
    here) give the whole-song result, frame values and overlap-add alike."""
    import dataclasses

    from groundbass.core.autoencoder import SpectrogramAutoencoder
    from groundbass.core.spectral import istft

    cfg = dataclasses.replace(tiny_config.bass_ae, phase="direct", phase_source="pitch")
    ae = SpectrogramAutoencoder(cfg)
    rng = np.random.default_rng(1)
    frames = 1500
    cls = torch.from_numpy(np.repeat(rng.integers(0, cfg.pitch_bins + 1, 60), 25))[None]
    logpow = torch.from_numpy(rng.normal(-4.0, 2.0, (1, cfg.n_fft // 2 + 1, frames)).astype(np.float32))
    phase = carrier_phase(cls, cfg.pitch_low, cfg.n_fft, cfg.hop, cfg.sample_rate, tuning=0.2)
    whole = istft(torch.polar(torch.exp(0.5 * logpow), phase), cfg.n_fft, cfg.hop)
    for chunk in (97, 400, 4096):
        part = ae._pitch_istft_windowed(logpow, cls, 0.2, chunk=chunk)
        assert part.shape == whole.shape
        assert (part - whole).abs().max().item() <= 1e-5 * whole.abs().max().item(), chunk
    # the same streamed from decoder pieces of uneven sizes, smaller and larger than a window,
    # after a leading silence: the log power before each window is dropped, the result is equal
    cls[:, :200] = 0
    phase = carrier_phase(cls, cfg.pitch_low, cfg.n_fft, cfg.hop, cfg.sample_rate, tuning=0.2)
    whole = istft(torch.polar(torch.exp(0.5 * logpow), phase), cfg.n_fft, cfg.hop)
    edges = [0, 50, 51, 333, 900, 1100, frames]
    pieces = ((logpow[..., a:b], cls[:, a:b]) for a, b in zip(edges, edges[1:]))
    part = ae._pitch_istft_stream(pieces, frames, 0.2, chunk=128)
    assert part.shape == whole.shape
    assert (part - whole).abs().max().item() <= 1e-5 * whole.abs().max().item()


def test_carrier_stream_in_pieces_equals_the_whole_song_bit_for_bit():
    """Pitches arriving piece by piece (a chunked decode), with a leading silence that holds the
    first voiced pitch and a row that stays silent to the end: the held pitches and start
    phases are the whole-song computation's, bit for bit."""
    from groundbass.core.pitch_phase import CarrierStream, frame_start_phase, held_f0

    rng = np.random.default_rng(3)
    cls = torch.from_numpy(np.repeat(rng.integers(0, 49, (3, 40)), 25, axis=1))
    cls[:, :130] = 0  # a leading silence longer than the first pieces
    cls[2] = 0  # silent throughout: 55 Hz
    whole = held_f0(frame_f0(cls, 24, 0.2))
    stream = CarrierStream(3, cls.shape[-1], 24, 128, 22050, tuning=0.2)
    edges = [0, 7, 60, 61, 400, 999, cls.shape[-1]]
    for a, b in zip(edges, edges[1:]):
        stream.push(cls[:, a:b])
        assert stream.known in (0, b)  # pending while a row has no voiced frame yet
    stream.finish()
    assert torch.equal(stream.held, whole)
    assert torch.equal(stream.start_phase, frame_start_phase(whole, 128, 22050))
    with pytest.raises(ValueError, match="got"):
        stream.push(cls[:, :1])
