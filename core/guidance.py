"""Classifier-free guidance, std rescaling and style grounding.

Each piece is a pure function on denoised estimates plus a small wrapper for the sampler
(see :mod:`.diffusion`): guidance and rescaling make another denoiser, grounding a
refinement of each estimate. The formulas (DESIGN.md, "Sampling"):

- guidance: ``x = x_uncond + w (x_cond - x_uncond)`` (w = 1 is conditional only);
- with a timbre condition (Diff-A-Riff style, one weight per condition):
  ``x = x_uncond + w (x_cond - x_uncond) + w_s (x_cond,style - x_cond)``;
- harmony guidance, for models trained with latent dropout (the mix latent zeroed, the
  signal-processing features kept): ``+ w_h (x_features - x_uncond)`` on top of either, an
  extra push towards what the mix's chroma features alone imply (a chroma means the same on
  any production; the latent was learnt from renders);
- rescale (Lin et al. 2023): ``x = phi * x * std(x_cond) / std(x) + (1 - phi) * x``;
- grounding at noise rate ``beta``:
  ``x = x - mean_t(x) + g beta^2 mean_t(c_style) + (1 - g beta^2) mean_t(x)``.
"""

from __future__ import annotations

from typing import Callable

import torch

from .diffusion import DenoiseFn, RefineFn, alpha_sigma

__all__ = ["guide", "guide_style", "guide_harmony", "rescale_std", "ground", "guided_denoiser", "grounding_refiner",
           "features_only"]


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


def guide_harmony(x: torch.Tensor, x_features: torch.Tensor, x_uncond: torch.Tensor, w_harmony: float) -> torch.Tensor:
    """Harmony guidance on a guided estimate ``x``: ``x + w_harmony (x_features - x_uncond)``, where
    ``x_features`` saw the mix's features without its latent; ``w_harmony = 0`` returns ``x``."""
    return x if w_harmony == 0 else x + w_harmony * (x_features - x_uncond)


def features_only(cond: torch.Tensor, latent_channels: int) -> torch.Tensor:
    """``cond`` (B, latent_channels + feature channels, T) with its mix-latent channels zeroed:
    the condition of the features-only estimate (as latent dropout makes it in training)."""
    if not 0 < latent_channels < cond.shape[1]:
        raise ValueError(f"latent_channels must be within 1..{cond.shape[1] - 1}, got {latent_channels}")
    out = cond.clone()
    out[:, :latent_channels] = 0
    return out


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


def ground(x: torch.Tensor, style_mean: torch.Tensor, beta: float, g: float = 1.0,
           note_basis: torch.Tensor | None = None) -> torch.Tensor:
    """Style grounding of a denoised estimate ``x`` (B, C, T) towards ``style_mean`` (C,) or (B, C).

    ``x - mean_t(x) + g beta^2 style_mean + (1 - g beta^2) mean_t(x)``: the time-mean is
    pulled towards the style's, strongly at high noise rates ``beta`` and not at all at 0.
    ``g = 1`` is the paper's; ``g = 0`` returns ``x`` unchanged. With a ``note_basis``
    (orthonormal rows (k, C), :mod:`.train.note_basis`) the pull ``style_mean - mean_t(x)``
    loses its part in the directions that carry the notes: the timbre moves, fewer notes do.
    """
    if g == 0:
        return x
    k = g * beta * beta
    mean = x.mean(dim=-1, keepdim=True)
    pull = style_mean.to(x.dtype).reshape(-1, x.shape[1], 1) - mean
    if note_basis is not None:
        basis = note_basis.to(x.dtype)
        pull = pull - torch.einsum("kc,bkt->bct", basis, torch.einsum("kc,bct->bkt", basis, pull))
    return x + k * pull


def guided_denoiser(model: Callable[..., torch.Tensor], cond: torch.Tensor, w: float, phi: float = 0.0,
                    style: torch.Tensor | None = None, w_style: float = 1.0, w_harmony: float = 0.0,
                    latent_channels: int = 0) -> DenoiseFn:
    """Denoiser with classifier-free guidance and std rescaling.

    ``model(z, t, cond) -> x0_hat`` (and ``model(z, t, cond, style)`` when a timbre
    condition ``style`` (B, style_dim) is given). All estimates come from one batched
    forward pass (the unconditional part sees zeroed conditioning and no style); with
    ``w == 1``, no style and no harmony guidance only the conditional pass runs. With a style
    the result is :func:`guide_style`; with ``w_harmony != 0`` a features-only pass (the first
    ``latent_channels`` channels of ``cond`` zeroed) adds :func:`guide_harmony`. The result is
    rescaled to the std of the fully conditional estimate.
    """
    uncond = torch.zeros_like(cond)
    feats = features_only(cond, latent_channels) if w_harmony != 0 else None
    # the rows of the one batched pass: [cond + style,] cond, uncond[, features only]
    conds = ([cond] if style is not None else []) + [cond, uncond] + ([feats] if feats is not None else [])
    styles = None
    if style is not None:
        no_style = torch.zeros_like(style)
        styles = torch.cat([style] + [no_style] * (len(conds) - 1))
    conds_batch = torch.cat(conds)
    first = 1 if style is not None else 0  # index of the style-free conditional row

    def denoise(z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        if w == 1.0 and style is None and feats is None:
            return model(z, t, cond)
        zs = torch.cat([z] * len(conds))
        outs = (model(zs, t, conds_batch) if styles is None else model(zs, t, conds_batch, styles)).chunk(len(conds))
        x_c, x_u = outs[first], outs[first + 1]
        x = guide(x_c, x_u, w) if style is None else guide_style(outs[0], x_c, x_u, w, w_style)
        if feats is not None:
            x = guide_harmony(x, outs[-1], x_u, w_harmony)
        return rescale_std(x, outs[0], phi)

    return denoise


def grounding_refiner(style_mean: torch.Tensor, g: float = 1.0, note_basis: torch.Tensor | None = None) -> RefineFn:
    """The refinement :func:`~.diffusion.sample_ddim` applies to each estimate: :func:`ground`
    towards ``style_mean`` with strength ``g`` (off the ``note_basis`` directions, when given),
    at the schedule's noise rate ``beta_k`` = ``sigma(t)`` of the step's time ``t``."""

    def refine(x0: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        _, beta = alpha_sigma(float(t))
        return ground(x0, style_mean, float(beta), g, note_basis)

    return refine
