"""Classifier-free guidance, std rescaling and style grounding, as denoiser wrappers.

Each piece is a pure function on denoised estimates plus a small wrapper that turns a
denoiser into another denoiser (see :mod:`.diffusion`). The formulas (DESIGN.md,
"Sampling"):

- guidance: ``x = x_uncond + w (x_cond - x_uncond)`` (w = 1 is conditional only);
- rescale (Lin et al. 2023): ``x = phi * x * std(x_cond) / std(x) + (1 - phi) * x``;
- grounding at noise rate ``beta``:
  ``x = x - mean_t(x) + g beta^2 mean_t(c_style) + (1 - g beta^2) mean_t(x)``.
"""

from __future__ import annotations

from typing import Callable

import torch

from .diffusion import DenoiseFn, alpha_sigma

__all__ = ["guide", "rescale_std", "ground", "guided_denoiser", "grounded_denoiser"]


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


def grounded_denoiser(denoise: DenoiseFn, style_mean: torch.Tensor, g: float = 1.0) -> DenoiseFn:
    """Wrap ``denoise`` so every estimate is grounded towards ``style_mean`` with strength ``g``.

    The noise rate ``beta_k`` is the schedule's ``sigma`` at the step's time ``t``.
    """

    def wrapped(z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        _, beta = alpha_sigma(float(t))
        return ground(denoise(z, t), style_mean, float(beta), g)

    return wrapped
