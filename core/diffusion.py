"""Diffusion in latent space: cosine schedule, v-objective, DDIM sampler.

Conventions (paper section 3.2, 4; Salimans & Ho's v-objective):
``alpha_t = cos(pi t / 2)``, ``sigma_t = sin(pi t / 2)`` for ``t`` in [0, 1];
``z_t = alpha_t x0 + sigma_t eps``; the network predicts ``v = alpha_t eps - sigma_t x0``,
so ``x0_hat = alpha_t z_t - sigma_t v_hat``.

The sampler is a pure function over a *denoiser*: any callable ``denoise(z, t) -> x0_hat``
(the guided model is just another such callable, see :mod:`.guidance`). Style grounding is
a *refinement* of each estimate that the sampler applies after it has taken the model's
noise estimate, so it moves the latents themselves (see :func:`sample_ddim`).
"""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["alpha_sigma", "Denoiser", "v_loss", "sample_ddim", "DenoiseFn", "RefineFn"]

DenoiseFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
RefineFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def alpha_sigma(t: torch.Tensor | float) -> tuple[torch.Tensor, torch.Tensor]:
    """Signal and noise rates of the cosine schedule at time ``t`` (tensor or float)."""
    t = torch.as_tensor(t, dtype=torch.float64 if not torch.is_tensor(t) else None)
    return torch.cos(t * (math.pi / 2)), torch.sin(t * (math.pi / 2))


def _bcast(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return x.to(like.dtype).reshape(-1, *([1] * (like.dim() - 1)))


class Denoiser(nn.Module):
    """Wraps a v-predicting network ``net(z, t, cond)`` with the v-objective's pre/post-conditioning.

    ``forward(z, t, cond)`` returns the denoised estimate ``x0_hat``; :meth:`loss` is the
    training objective. The network itself only maps tensors to tensors.
    """

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, z: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """``x0_hat = alpha_t z - sigma_t v_hat``; ``t`` is (B,) or a scalar tensor."""
        t = t.expand(z.shape[0]) if t.dim() == 0 else t
        alpha, sigma = alpha_sigma(t.float())
        v = self.net(z, t, cond).to(z.dtype)
        return _bcast(alpha, z) * z - _bcast(sigma, z) * v

    def loss(self, x0: torch.Tensor, cond: torch.Tensor, cond_dropout: float = 0.15,
             generator: torch.Generator | None = None) -> torch.Tensor:
        """v-objective MSE for clean latents ``x0`` (B, C, T) and conditioning ``cond``."""
        return v_loss(self.net, x0, cond, cond_dropout, generator)


def v_loss(net: nn.Module, x0: torch.Tensor, cond: torch.Tensor, cond_dropout: float = 0.15,
           generator: torch.Generator | None = None) -> torch.Tensor:
    """Mean squared error of the v-prediction at uniformly drawn times.

    A share ``cond_dropout`` of the batch has its conditioning zeroed (classifier-free
    guidance). Randomness comes from ``generator`` (a CPU generator) when given, so a
    training step is reproducible. Returns a scalar tensor.
    """
    b = x0.shape[0]
    t = torch.rand(b, generator=generator).to(x0.device)
    eps = torch.randn(x0.shape, generator=generator).to(x0.device, x0.dtype)
    keep = (torch.rand(b, generator=generator) >= cond_dropout).to(x0.device)
    cond = cond * _bcast(keep.float(), cond)
    alpha, sigma = alpha_sigma(t)
    a, s = _bcast(alpha, x0), _bcast(sigma, x0)
    z = a * x0 + s * eps
    target = a * eps - s * x0
    return F.mse_loss(net(z, t, cond).float(), target.float())


@torch.no_grad()
def sample_ddim(denoise: DenoiseFn, noise: torch.Tensor, steps: int, *, refine: RefineFn | None = None,
                callback: Callable[[int, int], None] | None = None) -> torch.Tensor:
    """Deterministic DDIM (eta = 0) from pure noise at t = 1 to t = 0 in ``steps`` steps.

    ``denoise(z, t)`` returns ``x0_hat``; ``t`` is passed as a 0-dim float tensor.
    Each step: ``eps_hat = (z - alpha_t x0_hat) / sigma_t`` and
    ``z <- alpha_s x0_ref + sigma_s eps_hat`` for the next time ``s``, where ``x0_ref =
    refine(x0_hat, t)`` (``x0_hat`` itself without ``refine``). The noise estimate is the
    model's, taken before the refinement, as in a signal-rate/noise-rate DDIM step: a
    refinement such as style grounding then shifts the next latent by ``alpha_s`` times its
    change instead of being mostly undone by a re-derived noise estimate.
    ``callback(k, steps)`` is called after step ``k`` (1-based). Returns the final
    (refined) ``x0_hat``, shaped like ``noise``.
    """
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    ts = torch.linspace(1.0, 0.0, steps + 1, dtype=torch.float64)
    z = noise
    x0 = noise
    for k in range(steps):
        t, s = ts[k], ts[k + 1]
        t_in = t.to(torch.float32).to(z.device)
        x0 = denoise(z, t_in)
        a_t, s_t = alpha_sigma(t)
        a_s, s_s = alpha_sigma(s)
        eps = (z - float(a_t) * x0) / float(s_t) if k + 1 < steps else None
        if refine is not None:
            x0 = refine(x0, t_in)
        if eps is not None:
            z = float(a_s) * x0 + float(s_s) * eps
        if callback is not None:
            callback(k + 1, steps)
    return x0
