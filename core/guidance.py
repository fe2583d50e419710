"""Classifier-free guidance, std rescaling and style grounding.

Each piece is a pure function on denoised estimates plus a small wrapper for the sampler
(see :mod:`.diffusion`): guidance and rescaling make another denoiser, grounding a
refinement of each estimate. The formulas (DESIGN.md, "Sampling"):

- guidance: ``x = x_uncond + w (x_cond - x_uncond)`` (w = 1 is conditional only);
- rescale (Lin et al. 2023): ``x = phi * x * std(x_cond) / std(x) + (1 - phi) * x``;
- grounding at noise rate ``beta``:
  ``x = x - mean_t(x) + g beta^2 mean_t(c_style) + (1 - g beta^2) mean_t(x)``.
"""

from __future__ import annotations

from typing import Callable

import torch

from .diffusion import DenoiseFn, RefineFn, alpha_sigma

__all__ = ["guide", "rescale_std", "ground", "guided_denoiser", "grounding_refiner"]


def guide(x_cond: torch.Tensor, x_uncond: torch.Tensor, w: float) -> torch.Tensor:
    """Classifier-free guidance: ``x_uncond + w (x_cond - x_uncond)``."""
    return x_uncond + w * (x_cond - x_uncond)


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


def guided_denoiser(model: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor],
                    cond: torch.Tensor, w: float, phi: float = 0.0) -> DenoiseFn:
    """Denoiser with classifier-free guidance and std rescaling.

    ``model(z, t, cond) -> x0_hat``. Conditional and unconditional estimates come from one
    batched forward pass (the unconditional half sees zeroed conditioning); with ``w == 1``
    only the conditional pass runs.
    """
    uncond = torch.zeros_like(cond)

    def denoise(z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        if w == 1.0:
            return model(z, t, cond)
        x_cond, x_uncond = model(torch.cat([z, z]), t, torch.cat([cond, uncond])).chunk(2)
        return rescale_std(guide(x_cond, x_uncond, w), x_cond, phi)

    return denoise


def grounding_refiner(style_mean: torch.Tensor, g: float = 1.0) -> RefineFn:
    """The refinement :func:`~.diffusion.sample_ddim` applies to each estimate: :func:`ground`
    towards ``style_mean`` with strength ``g``, at the schedule's noise rate ``beta_k`` =
    ``sigma(t)`` of the step's time ``t``."""

    def refine(x0: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        _, beta = alpha_sigma(float(t))
        return ground(x0, style_mean, float(beta), g)

    return refine
