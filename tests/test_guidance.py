import torch

import pytest

from groundbass.core.diffusion import alpha_sigma
from groundbass.core.guidance import (features_only, ground, grounding_refiner, guide, guide_harmony, guided_denoiser,
                                      rescale_std)


def _pair(seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(3, 8, 50, generator=g), torch.randn(3, 8, 50, generator=g) * 2 + 1


def test_guidance_w1_is_conditional():
    x_cond, x_uncond = _pair()
    torch.testing.assert_close(guide(x_cond, x_uncond, 1.0), x_cond, atol=1e-6, rtol=0)


def test_guidance_w0_is_unconditional_and_w_extrapolates():
    x_cond, x_uncond = _pair()
    torch.testing.assert_close(guide(x_cond, x_uncond, 0.0), x_uncond)
    torch.testing.assert_close(guide(x_cond, x_uncond, 3.0), x_uncond + 3.0 * (x_cond - x_uncond))


def test_rescale_phi0_unchanged_phi1_matches_cond_std():
    x_cond, x_uncond = _pair()
    guided = guide(x_cond, x_uncond, 4.0)
    assert torch.equal(rescale_std(guided, x_cond, 0.0), guided)
    res = rescale_std(guided, x_cond, 1.0)
    torch.testing.assert_close(res.std(dim=(1, 2)), x_cond.std(dim=(1, 2)), atol=1e-5, rtol=1e-5)
    half = rescale_std(guided, x_cond, 0.5)
    torch.testing.assert_close(half, 0.5 * res + 0.5 * guided)


def test_grounding_beta1_g1_gives_style_mean():
    x, _ = _pair()
    style = torch.linspace(-1, 1, 8)
    out = ground(x, style, beta=1.0, g=1.0)
    torch.testing.assert_close(out.mean(dim=-1), style.expand(3, 8), atol=1e-5, rtol=0)
    # the time-varying part is untouched
    torch.testing.assert_close(out - out.mean(-1, keepdim=True), x - x.mean(-1, keepdim=True), atol=1e-5, rtol=0)


def test_grounding_g0_changes_nothing_and_beta0_changes_nothing():
    x, _ = _pair()
    style = torch.full((8,), 5.0)
    assert torch.equal(ground(x, style, beta=0.8, g=0.0), x)
    torch.testing.assert_close(ground(x, style, beta=0.0, g=1.0), x, atol=1e-6, rtol=0)


def test_grounding_with_a_note_basis_moves_the_mean_only_off_the_basis():
    x, _ = _pair()
    style = torch.linspace(-1, 1, 8)
    basis = torch.linalg.qr(torch.randn(8, 3, generator=torch.Generator().manual_seed(1)))[0].T  # (3, 8) orthonormal
    out = ground(x, style, beta=1.0, g=1.0, note_basis=basis)
    shift = out.mean(-1) - x.mean(-1)  # (B, C)
    torch.testing.assert_close(shift @ basis.T, torch.zeros(3, 3), atol=1e-5, rtol=0)  # the note directions stay
    # off the basis the mean is the style's, as in the paper's rule
    off = torch.eye(8) - basis.T @ basis
    torch.testing.assert_close(out.mean(-1) @ off, style.expand(3, 8) @ off, atol=1e-5, rtol=0)
    torch.testing.assert_close(out - out.mean(-1, keepdim=True), x - x.mean(-1, keepdim=True), atol=1e-5, rtol=0)
    # an empty basis is the paper's rule; the refiner passes the basis on
    torch.testing.assert_close(ground(x, style, 0.7, 0.4, torch.zeros(0, 8)), ground(x, style, 0.7, 0.4), atol=1e-6,
                               rtol=0)
    beta = float(alpha_sigma(0.6)[1])
    torch.testing.assert_close(grounding_refiner(style, 1.0, basis)(x, torch.tensor(0.6)),
                               ground(x, style, beta, 1.0, basis), atol=1e-6, rtol=0)


def test_guided_denoiser_single_batched_pass():
    calls = []

    def model(z, t, c):
        calls.append(z.shape[0])
        return z + c  # cond estimate = z + c, uncond = z

    cond = torch.ones(2, 4, 10)
    z = torch.zeros(2, 4, 10)
    out = guided_denoiser(model, cond, w=3.0, phi=0.0)(z, torch.tensor(0.5))
    assert calls == [4]  # cond and uncond in one forward pass
    torch.testing.assert_close(out, 3.0 * cond)
    calls.clear()
    guided_denoiser(model, cond, w=1.0)(z, torch.tensor(0.5))
    assert calls == [2]  # w = 1: conditional only


def test_grounding_refiner_uses_schedule_noise_rate():
    style = torch.full((4,), 2.0)
    refine = grounding_refiner(style, g=1.0)
    z = torch.zeros(1, 4, 6)
    torch.testing.assert_close(refine(z, torch.tensor(1.0)).mean(-1), style[None], atol=1e-6, rtol=0)  # beta = 1
    torch.testing.assert_close(refine(z, torch.tensor(0.0)), z)  # beta = 0
    half = grounding_refiner(style, g=0.5)(z, torch.tensor(0.5))  # beta^2 = 1/2, g = 1/2 -> a quarter of the way
    torch.testing.assert_close(half, torch.full_like(z, 0.5), atol=1e-6, rtol=0)


def test_harmony_guidance_adds_the_features_only_direction():
    """cond = 2 latent channels + 2 feature channels; the spy's estimate is z + (latent part) + 3 x (features)."""
    calls = []

    def model(z, t, c, s=None):
        calls.append((z.shape[0], None if s is None else s.abs().sum(1).tolist()))
        return z + c[:, :2].sum(1, keepdim=True) + 3 * c[:, 2:].sum(1, keepdim=True)

    cond = torch.tensor([1.0, 2.0, 0.5, 0.25])[None, :, None].expand(1, 4, 6)
    z = torch.zeros(1, 1, 6)
    x_c, x_u, x_f = torch.full((1, 1, 6), 3 + 2.25), torch.zeros(1, 1, 6), torch.full((1, 1, 6), 2.25)
    out = guided_denoiser(model, cond, w=2.0, w_harmony=1.5, latent_channels=2)(z, torch.tensor(0.5))
    assert [n for n, _ in calls] == [3]  # cond, uncond and features-only in one pass
    torch.testing.assert_close(out, guide(x_c, x_u, 2.0) + 1.5 * (x_f - x_u))
    torch.testing.assert_close(guide_harmony(x_c, x_f, x_u, 0.0), x_c)
    calls.clear()
    plain = guided_denoiser(model, cond, w=2.0, w_harmony=0.0, latent_channels=2)(z, torch.tensor(0.5))
    assert [n for n, _ in calls] == [2]  # off: no extra pass
    torch.testing.assert_close(plain, guide(x_c, x_u, 2.0))
    calls.clear()
    style = torch.ones(1, 3)
    denoise = guided_denoiser(model, cond, w=2.0, style=style, w_style=1.0, w_harmony=1.0, latent_channels=2)
    denoise(z, torch.tensor(0.5))
    assert calls == [(4, [3.0, 0.0, 0.0, 0.0])]  # the features-only estimate sees no reference


def test_features_only_zeroes_the_latent_channels_of_a_copy():
    cond = torch.ones(2, 5, 3)
    out = features_only(cond, 3)
    assert out[:, :3].abs().sum() == 0 and torch.equal(out[:, 3:], cond[:, 3:])
    assert cond.sum() == 30  # the input is untouched
    with pytest.raises(ValueError):
        features_only(cond, 0)
