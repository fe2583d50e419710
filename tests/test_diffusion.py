import pytest
import math

import torch

from groundbass.core.diffusion import Denoiser, alpha_sigma, sample_ddim, v_loss
from groundbass.core.unet import UNet1d


def test_cosine_schedule():
    a, s = alpha_sigma(torch.tensor([0.0, 0.5, 1.0]))
    torch.testing.assert_close(a, torch.tensor([1.0, math.cos(math.pi / 4), 0.0]), atol=1e-6, rtol=0)
    torch.testing.assert_close(a**2 + s**2, torch.ones(3))


def test_ddim_with_analytic_denoiser_reaches_constant():
    target = torch.full((2, 3, 20), 0.7)
    noise = torch.randn(2, 3, 20, generator=torch.Generator().manual_seed(0))
    out = sample_ddim(lambda z, t: target, noise, steps=16)
    torch.testing.assert_close(out, target)


def test_ddim_with_exact_gaussian_denoiser():
    # data ~ N(mu, 0): the ideal v-model is known in closed form; DDIM must land on mu
    mu = torch.tensor(1.5)

    def denoise(z, t):
        return torch.full_like(z, float(mu))

    steps_seen = []
    out = sample_ddim(denoise, torch.randn(1, 2, 5), steps=8, callback=lambda k, n: steps_seen.append((k, n)))
    torch.testing.assert_close(out, torch.full((1, 2, 5), 1.5))
    assert steps_seen == [(k, 8) for k in range(1, 9)]


def test_ddim_refinement_keeps_the_models_noise_estimate():
    """With ``refine``, each next latent is alpha_s * refined estimate + sigma_s * the noise the
    *model* implied (taken before the refinement), and the result is the refined estimate."""
    seen = []

    def denoise(z, t):
        seen.append(z.clone())
        return 0.5 * z

    def shift(x0, t):
        return x0 + 1.0

    steps = 4
    noise = torch.randn(1, 2, 5, generator=torch.Generator().manual_seed(1))
    out = sample_ddim(denoise, noise, steps, refine=shift)
    ts = torch.linspace(1.0, 0.0, steps + 1, dtype=torch.float64)
    z = noise
    for k in range(steps - 1):
        (a_t, s_t), (a_s, s_s) = alpha_sigma(ts[k]), alpha_sigma(ts[k + 1])
        torch.testing.assert_close(seen[k], z)
        x0 = 0.5 * z
        eps = (z - float(a_t) * x0) / float(s_t)
        z = float(a_s) * (x0 + 1.0) + float(s_s) * eps
    torch.testing.assert_close(seen[-1], z)
    torch.testing.assert_close(out, 0.5 * z + 1.0)


def test_ddim_path_is_deterministic_and_seed_dependent(tiny_config):
    torch.manual_seed(0)
    net = UNet1d(tiny_config.unet).eval()
    for p in net.parameters():
        if p.dim() > 1:
            torch.nn.init.normal_(p, std=0.05)
    den = Denoiser(net)
    cond = torch.randn(1, tiny_config.unet.cond_dim, 24)

    def run(seed):
        noise = torch.randn(1, tiny_config.unet.latent_dim, 24, generator=torch.Generator().manual_seed(seed))
        return sample_ddim(lambda z, t: den(z, t, cond), noise, steps=6)

    a, b, c = run(1), run(1), run(2)
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)


def test_v_loss_reproducible_and_learns_direction(tiny_config):
    torch.manual_seed(0)
    net = UNet1d(tiny_config.unet)
    x0 = torch.randn(4, tiny_config.unet.latent_dim, 16)
    cond = torch.randn(4, tiny_config.unet.cond_dim, 16)
    l1 = v_loss(net, x0, cond, generator=torch.Generator().manual_seed(3))
    l2 = v_loss(net, x0, cond, generator=torch.Generator().manual_seed(3))
    assert torch.equal(l1, l2)
    assert l1.item() > 0


def test_cond_dropout_zeroes_conditioning():
    seen = []

    class Spy(torch.nn.Module):
        def forward(self, z, t, c):
            seen.append(c.flatten(1).abs().sum(1))
            return torch.zeros_like(z)

    x0, cond = torch.randn(200, 2, 4), torch.ones(200, 3, 4)
    v_loss(Spy(), x0, cond, cond_dropout=0.15, generator=torch.Generator().manual_seed(0))
    dropped = (seen[0] == 0).float().mean().item()
    assert 0.07 < dropped < 0.25  # ~15% of the batch trained unconditionally
    v_loss(Spy(), x0, cond, cond_dropout=0.0, generator=torch.Generator().manual_seed(0))
    assert (seen[1] > 0).all()


def test_latent_dropout_zeroes_the_mix_latent_and_keeps_the_features():
    seen = []

    class Spy(torch.nn.Module):
        def forward(self, z, t, c):
            seen.append(c.clone())
            return torch.zeros_like(z)

    x0, cond = torch.randn(400, 2, 4), torch.ones(400, 5, 4)  # 3 latent channels, 2 feature channels
    loss_plain = v_loss(Spy(), x0, cond, cond_dropout=0.15, generator=torch.Generator().manual_seed(0))
    loss = v_loss(Spy(), x0, cond, cond_dropout=0.15, generator=torch.Generator().manual_seed(0),
                  latent_dropout=0.3, latent_channels=3)
    plain, c = seen
    latent_on = c[:, :3].flatten(1).abs().sum(1) > 0
    features_on = c[:, 3:].flatten(1).abs().sum(1) > 0
    assert torch.equal(features_on, plain.flatten(1).abs().sum(1) > 0)  # the whole-cond dropout draws are unchanged
    assert not (latent_on & ~features_on).any()  # never the latent without the features
    features_only = (features_on & ~latent_on).float().mean().item()
    assert 0.17 < features_only < 0.34  # ~30% of the ~85% still conditioned
    assert torch.equal(loss, loss_plain)  # same times and noise: the Spy's loss depends on them only
    with pytest.raises(ValueError, match="latent_channels"):
        v_loss(Spy(), x0, cond, latent_dropout=0.3, latent_channels=5)
