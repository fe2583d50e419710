"""Classifier-free guidance, std rescaling and style grounding.

Each piece is a pure function on denoised estimates plus a small wrapper for the sampler
(see :mod:`.diffusion`): guidance and rescaling make another denoiser, grounding a
refinement of each estimate. The formulas (DESIGN.md, "Sampling"):

- guidance: ``x = x_uncond + w (x_cond - x_uncond)`` (w = 1 is conditional only);
- with a timbre condition (Diff-A-Riff style, one weight per condition):
  ``x = x_uncond + w (x_cond - x_uncond) + w_s (x_cond,style - x_cond)``;
- rescale (Lin et al. 2023): ``x = phi * x * std(x_cond) / std(x) + (1 - phi) * x``;
- grounding at noise rate ``beta``:
  ``x = x - mean_t(x) + g beta^2 mean_t(c_style) + (1 - g beta^2) mean_t(x)``.
"""

from __future__ import annotations

from typing import Callable

import torch

from .diffusion import DenoiseFn, RefineFn, alpha_sigma

__all__ = ["guide", "guide_style", "rescale_std", "ground", "guided_denoiser", "grounding_refiner"]


def guide(x_cond: torch.Tensor, x_uncond: torch.Tensor, w: float) -> torch.Tensor:
    """Classifier-free guidance: ``x_uncond + w (x_cond - x_uncond)``."""
    return x_uncond + w * (x_cond - x_uncond)


def guide_style(x_cond_style: torch.Tensor, x_cond: torch.Tensor, x_uncond: torch.Tensor, w: float,
                w_style: float) -> torch.Tensor:
    """Guidance on two conditions: ``x_uncond + w (x_cond - x_uncond) + w_style (x_cond_style - x_cond)``.

    ``x_cond`` sees the mix only, ``x_cond_style`` the mix and the timbre reference;
    ``w_style = 1`` is "conditional on the reference", 0 ignores it.
    """
    return guide(x_cond, x_uncond, w) + w_style * (x_cond_style - x_cond)


def rescale_std(x: torch.Tensor, x_cond: torch.Tensor, phi: float) -> torch.Tensor:
    """Blend ``x`` with a copy rescaled to the per-sample std of ``x_cond``.

    std is taken per sample over channels and frames; ``phi = 0`` returns ``x``,
    ``phi = 1`` returns ``x`` with exactly ``x_cond``'s std.
    """
    if phi == 0:
        return x
    dims = tuple(range(1, x.dim()))
    ratio = x_cond.std(dim=dims, keepdim=True) / x.std(dim=dims, keepdim=True).clamp_min(1e-8)
    return phi * (x * ratio) + (1.0 - phi) * x


def ground(x: torch.Tensor, style_mean: torch.Tensor, beta: float, g: float = 1.0) -> torch.Tensor:
    """Style grounding of a denoised estimate ``x`` (B, C, T) towards ``style_mean`` (C,) or (B, C).

    ``x - mean_t(x) + g beta^2 style_mean + (1 - g beta^2) mean_t(x)``: the time-mean is
    pulled towards the style's, strongly at high noise rates ``beta`` and not at all at 0.
    ``g = 1`` is the paper's; ``g = 0`` returns ``x`` unchanged.
    """
    if g == 0:
        return x
    k = g * beta * beta
    mean = x.mean(dim=-1, keepdim=True)
    style = style_mean.to(x.dtype).reshape(-1, x.shape[1], 1)
    return x - mean + k * style + (1.0 - k) * mean


def guided_denoiser(model: Callable[..., torch.Tensor], cond: torch.Tensor, w: float, phi: float = 0.0,
                    style: torch.Tensor | None = None, w_style: float = 1.0) -> DenoiseFn:
    """Denoiser with classifier-free guidance and std rescaling.

    ``model(z, t, cond) -> x0_hat`` (and ``model(z, t, cond, style)`` when a timbre
    condition ``style`` (B, style_dim) is given). All estimates come from one batched
    forward pass (the unconditional part sees zeroed conditioning and no style); with
    ``w == 1`` and no style only the conditional pass runs. With a style the result is
    :func:`guide_style`, rescaled to the std of the fully conditional estimate.
    """
    uncond = torch.zeros_like(cond)

    if style is None:
        def denoise(z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            if w == 1.0:
                return model(z, t, cond)
            x_cond, x_uncond = model(torch.cat([z, z]), t, torch.cat([cond, uncond])).chunk(2)
            return rescale_std(guide(x_cond, x_uncond, w), x_cond, phi)

        return denoise

    no_style = torch.zeros_like(style)

    def denoise_style(z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        x_cs, x_c, x_u = model(torch.cat([z, z, z]), t, torch.cat([cond, cond, uncond]),
                               torch.cat([style, no_style, no_style])).chunk(3)
        return rescale_std(guide_style(x_cs, x_c, x_u, w, w_style), x_cs, phi)

    return denoise_style


def grounding_refiner(style_mean: torch.Tensor, g: float = 1.0) -> RefineFn:
    """The refinement :func:`~.diffusion.sample_ddim` applies to each estimate: :func:`ground`
    towards ``style_mean`` with strength ``g``, at the schedule's noise rate ``beta_k`` =
    ``sigma(t)`` of the step's time ``t``."""

    def refine(x0: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        _, beta = alpha_sigma(float(t))
        return ground(x0, style_mean, float(beta), g)

    return refine
