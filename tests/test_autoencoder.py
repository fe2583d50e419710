import dataclasses
import math

import pytest
import torch

from groundbass.core.ae_losses import autoencoder_critic_loss, autoencoder_generator_loss
from groundbass.core.autoencoder import SpectrogramAutoencoder
from groundbass.core.config import preset
from groundbass.core.critics import Critics, critic_hinge_loss, generator_adversarial_loss


@pytest.mark.parametrize("samples", [1, 2047, 2048, 2049, 22050, 50000])
def test_encode_frames_and_decode_length(tiny_config, samples):
    ae = SpectrogramAutoencoder(tiny_config.bass_ae).eval()
    x = torch.randn(1, samples) * 0.1
    with torch.no_grad():
        z = ae.encode(x)
        assert z.shape == (1, tiny_config.bass_ae.latent_dim, math.ceil(samples / ae.ratio))
        y = ae.decode(z, length=samples)
    assert y.shape == x.shape
    assert ae.decode(z).shape[-1] == z.shape[-1] * ae.ratio


def test_paper_preset_shapes_ratio_4096():
    cfg = preset("paper")
    assert cfg.mix_ae.ratio == 4096 and cfg.mix_ae.latent_dim == 64 and cfg.bass_ae.latent_dim == 32
    n_params = sum(p.numel() for p in SpectrogramAutoencoder(cfg.bass_ae).parameters())
    assert 30e6 < n_params < 45e6  # the paper's ~37M


@pytest.mark.parametrize("phase,source", [("direct", "decoder"), ("if", "decoder"), ("direct", "pitch")])
def test_chunked_decode_and_encode_match_whole(tiny_config, phase, source):
    torch.manual_seed(0)
    ae = SpectrogramAutoencoder(dataclasses.replace(tiny_config.bass_ae, phase=phase, phase_source=source)).eval()
    x = torch.randn(1, ae.ratio * 300 + 5) * 0.1
    with torch.no_grad():
        z = ae.encode(x)
        zc = ae.encode_chunked(x, chunk_frames=64, context=16)
        assert torch.allclose(z, zc, atol=1e-4)
        w = ae.decode(z, length=x.shape[-1])
        wc = ae.decode_chunked(z, length=x.shape[-1], chunk_frames=64, context=16)
    assert wc.shape == w.shape
    assert (w - wc).abs().max().item() < 1e-4 * max(1.0, w.abs().max().item())


def test_generator_and_critic_losses(tiny_config):
    torch.manual_seed(0)
    ae = SpectrogramAutoencoder(tiny_config.bass_ae)
    critics = Critics(tiny_config.bass_ae, tiny_config.critic)
    wave = torch.randn(2, 2048 * 8) * 0.1
    loss, parts, rec = autoencoder_generator_loss(ae, critics, wave)
    assert set(parts) == {"rec", "mssd", "adv", "total"}
    expected = parts["adv"] + 25 * parts["rec"] + 0.002 * parts["mssd"]
    assert math.isclose(parts["total"], expected, rel_tol=1e-5)
    loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in ae.decoder.parameters())
    c_loss, _ = autoencoder_critic_loss(critics, rec.wave, rec.wave_hat)
    assert torch.isfinite(c_loss)
    # warm-up: no critics, no adversarial term
    _, parts_warm, _ = autoencoder_generator_loss(ae, None, wave)
    assert "adv" not in parts_warm


def test_hinge_losses_values():
    real, fake = [torch.tensor([2.0, 0.0])], [torch.tensor([-2.0, 0.5])]
    # relu(1-2)=0, relu(1-0)=1 -> 0.5; relu(1-2)=0, relu(1+0.5)=1.5 -> 0.75
    assert math.isclose(critic_hinge_loss(real, fake).item(), 1.25)
    assert math.isclose(generator_adversarial_loss(fake).item(), 0.75)


def test_if_phase_decoder_makes_steady_partials_from_constant_output(tiny_config):
    """With the IF parameterisation a constant decoder output is a steady sinusoid per bin."""
    cfg = dataclasses.replace(tiny_config.bass_ae, phase="if")
    ae = SpectrogramAutoencoder(cfg)
    raw = torch.zeros(1, cfg.n_bins, 40, dtype=torch.float64)
    adv = ae.phase_advance(raw)
    k = 10
    assert torch.allclose(adv[0, k], torch.full((40,), 2 * math.pi * k * cfg.hop / cfg.n_fft, dtype=torch.float64))


def test_phase_loss_zero_for_true_phase_and_two_for_opposite():
    from groundbass.core.ae_losses import phase_loss
    from groundbass.core.autoencoder import Reconstruction
    from groundbass.core.spectral import stft

    x = torch.randn(1, 4096)
    spec = stft(x, 512, 128)
    true = torch.angle(spec)
    adv = torch.zeros_like(true)
    adv[..., 1:] = true[..., 1:] - true[..., :-1]
    dummy = torch.zeros(1)
    rec = Reconstruction(dummy, dummy, dummy, dummy, dummy, spec, None, adv)
    assert phase_loss(rec).item() < 1e-5
    rec.advance_hat = adv + math.pi
    assert abs(phase_loss(rec).item() - 2.0) < 1e-4
    direct = Reconstruction(dummy, dummy, dummy, dummy, dummy, spec, true, None)
    assert phase_loss(direct).item() < 1e-5
