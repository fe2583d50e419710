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

__all__ = ["alpha_sigma", "Denoiser", "v_loss", "sample_ddim", "sample_dpmpp_2m", "sample_ddim_resampled",
           "renoise", "SAMPLERS", "time_grid", "DenoiseFn", "RefineFn", "ObserveFn"]

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

    def forward(self, z: torch.Tensor, t: torch.Tensor, cond: torch.Tensor,
                style: torch.Tensor | None = None) -> torch.Tensor:
        """``x0_hat = alpha_t z - sigma_t v_hat``; ``t`` is (B,) or a scalar tensor; ``style``
        an optional timbre condition (B, style_dim) for networks that take one."""
        t = t.expand(z.shape[0]) if t.dim() == 0 else t
        alpha, sigma = alpha_sigma(t.float())
        v = (self.net(z, t, cond) if style is None else self.net(z, t, cond, style)).to(z.dtype)
        return _bcast(alpha, z) * z - _bcast(sigma, z) * v

    def loss(self, x0: torch.Tensor, cond: torch.Tensor, cond_dropout: float = 0.15,
             generator: torch.Generator | None = None) -> torch.Tensor:
        """v-objective MSE for clean latents ``x0`` (B, C, T) and conditioning ``cond``."""
        return v_loss(self.net, x0, cond, cond_dropout, generator)


def v_loss(net: nn.Module, x0: torch.Tensor, cond: torch.Tensor, cond_dropout: float = 0.15,
           generator: torch.Generator | None = None, style: torch.Tensor | None = None,
           style_dropout: float = 0.3, latent_dropout: float = 0.0, latent_channels: int = 0) -> torch.Tensor:
    """Mean squared error of the v-prediction at uniformly drawn times.

    A share ``cond_dropout`` of the batch has its conditioning zeroed (classifier-free
    guidance); with a timbre condition ``style`` (B, style_dim), a share ``style_dropout``
    has it zeroed, drawn independently. With ``latent_dropout`` > 0, a further share of the
    batch, drawn independently, has only the first ``latent_channels`` channels of the
    conditioning (the mix latent) zeroed and keeps the rest (the signal-processing features):
    the model then also learns the features-only estimate that harmony guidance
    (:func:`~.guidance.guide_harmony`) needs. Randomness comes from ``generator`` (a CPU
    generator) when given, so a training step is reproducible; the draws of a run without
    latent dropout are unchanged by the option. Returns a scalar tensor.
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
    if style is not None:
        keep_style = (torch.rand(b, generator=generator) >= style_dropout).to(x0.device)
        style = style * keep_style.to(style.dtype)[:, None]
    if latent_dropout > 0:
        if not 0 < latent_channels < cond.shape[1]:
            raise ValueError(f"latent_channels must be within 1..{cond.shape[1] - 1} for latent dropout, "
                             f"got {latent_channels}")
        drop = (torch.rand(b, generator=generator) < latent_dropout).to(x0.device)
        mask = torch.ones(b, cond.shape[1], 1, device=cond.device, dtype=cond.dtype)
        mask[:, :latent_channels] = (~drop).to(cond.dtype)[:, None, None]
        cond = cond * mask
    out = net(z, t, cond) if style is None else net(z, t, cond, style)
    return F.mse_loss(out.float(), target.float())


ObserveFn = Callable[[int, torch.Tensor, torch.Tensor], None]


def time_grid(steps: int) -> torch.Tensor:
    """The default time grid of the samplers: ``steps + 1`` times from 1 to 0, evenly spaced
    (float64). Any other decreasing grid from 1 to 0 may be passed as ``ts``."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    return torch.linspace(1.0, 0.0, steps + 1, dtype=torch.float64)


def _grid(steps: int | None, ts: torch.Tensor | None) -> torch.Tensor:
    if ts is None:
        if steps is None:
            raise ValueError("give steps or a time grid ts")
        return time_grid(int(steps))
    ts = torch.as_tensor(ts, dtype=torch.float64)
    if ts.dim() != 1 or len(ts) < 2 or not bool((ts[1:] < ts[:-1]).all()) or float(ts[0]) > 1 or float(ts[-1]) < 0:
        raise ValueError("ts must be a strictly decreasing 1-D grid of at least 2 times within [1, 0]")
    return ts


def _ddim_step(denoise: DenoiseFn, refine: RefineFn | None, z: torch.Tensor, t: torch.Tensor, s: torch.Tensor,
               last: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """One DDIM step from time ``t`` to ``s`` -> (new latent, refined estimate); on the ``last``
    step the latent is left as it is (the estimate is the result)."""
    t_in = t.to(torch.float32).to(z.device)
    x0 = denoise(z, t_in)
    a_t, s_t = alpha_sigma(t)
    a_s, s_s = alpha_sigma(s)
    eps = None if last else (z - float(a_t) * x0) / float(s_t)
    if refine is not None:
        x0 = refine(x0, t_in)
    if eps is not None:
        z = float(a_s) * x0 + float(s_s) * eps
    return z, x0


@torch.no_grad()
def sample_ddim(denoise: DenoiseFn, noise: torch.Tensor, steps: int | None = None, *,
                ts: torch.Tensor | None = None, refine: RefineFn | None = None,
                callback: Callable[[int, int], None] | None = None,
                observe: ObserveFn | None = None) -> torch.Tensor:
    """Deterministic DDIM (eta = 0) from pure noise at t = 1 to t = 0 in ``steps`` steps
    (or over the time grid ``ts``, decreasing from its first time to its last).

    ``denoise(z, t)`` returns ``x0_hat``; ``t`` is passed as a 0-dim float tensor.
    Each step: ``eps_hat = (z - alpha_t x0_hat) / sigma_t`` and
    ``z <- alpha_s x0_ref + sigma_s eps_hat`` for the next time ``s``, where ``x0_ref =
    refine(x0_hat, t)`` (``x0_hat`` itself without ``refine``). The noise estimate is the
    model's, taken before the refinement, as in a signal-rate/noise-rate DDIM step: a
    refinement such as style grounding then shifts the next latent by ``alpha_s`` times its
    change instead of being mostly undone by a re-derived noise estimate.
    ``callback(k, steps)`` is called after step ``k`` (1-based), ``observe(k, z, x0)`` with
    the step's new latent and (refined) estimate. Returns the final (refined) ``x0_hat``,
    shaped like ``noise``.
    """
    ts = _grid(steps, ts)
    n = len(ts) - 1
    z = noise
    x0 = noise
    for k in range(n):
        z, x0 = _ddim_step(denoise, refine, z, ts[k], ts[k + 1], last=k + 1 == n)
        if observe is not None:
            observe(k + 1, z, x0)
        if callback is not None:
            callback(k + 1, n)
    return x0


@torch.no_grad()
def sample_dpmpp_2m(denoise: DenoiseFn, noise: torch.Tensor, steps: int | None = None, *,
                    ts: torch.Tensor | None = None, refine: RefineFn | None = None,
                    callback: Callable[[int, int], None] | None = None,
                    observe: ObserveFn | None = None) -> torch.Tensor:
    """DPM-Solver++(2M) (Lu et al. 2022), the multistep second-order solver in data
    prediction, for the v-objective's cosine schedule, over the same denoiser as
    :func:`sample_ddim` and the same time grid convention.

    With ``lambda = log(alpha / sigma)`` and ``h = lambda_s - lambda_t``, each step is
    ``z <- (sigma_s / sigma_t) z + alpha_s (1 - e^-h) D``, where ``D`` is the estimate
    ``x0_hat`` extrapolated from the previous step's: ``D = (1 + 1/(2r)) x0_k - 1/(2r) x0_{k-1}``
    with ``r = h_{k-1} / h_k`` (first-order, i.e. DDIM, on the first step; the last step,
    to t = 0, returns the estimate). A refinement (grounding) moves the latent as in
    :func:`sample_ddim`: by ``alpha_s`` times its change of the estimate, so with one
    step order this sampler is exactly DDIM. Returns the final (refined) estimate.
    """
    ts = _grid(steps, ts)
    n = len(ts) - 1
    lam = lambda a, s: math.log(max(float(a), 1e-12) / max(float(s), 1e-12))  # noqa: E731
    z = noise
    x0 = noise
    prev_x0, prev_h = None, None
    for k in range(n):
        t, s = ts[k], ts[k + 1]
        t_in = t.to(torch.float32).to(z.device)
        x0 = denoise(z, t_in)
        a_t, s_t = (float(v) for v in alpha_sigma(t))
        a_s, s_s = (float(v) for v in alpha_sigma(s))
        x0_ref = refine(x0, t_in) if refine is not None else x0
        if k + 1 < n and s_s > 0:
            h = lam(a_s, s_s) - lam(a_t, s_t)
            d = x0
            if prev_x0 is not None and prev_h is not None and math.isfinite(prev_h) and prev_h > 0:
                r = prev_h / h
                d = (1 + 1 / (2 * r)) * x0 - (1 / (2 * r)) * prev_x0
            z = (s_s / s_t) * z + a_s * (-math.expm1(-h)) * d + a_s * (x0_ref - x0)
            prev_x0, prev_h = x0, h
        x0 = x0_ref
        if observe is not None:
            observe(k + 1, z, x0)
        if callback is not None:
            callback(k + 1, n)
    return x0


Generators = "torch.Generator | list[torch.Generator] | None"


def renoise(z: torch.Tensor, s: float, t: float, generator: Generators = None) -> torch.Tensor:
    """Diffuse a latent from time ``s`` forward to the noisier time ``t >= s`` with fresh
    noise, the forward process ``q(z_t | z_s)``: ``z_t = (alpha_t / alpha_s) z_s + sqrt(sigma_t^2
    - (alpha_t / alpha_s)^2 sigma_s^2) eps``. ``s`` must be below 1 (``alpha_s > 0``).
    ``generator`` may be a list with one generator per batch row, so that a row's noise does
    not depend on the others."""
    a_s, s_s = (float(v) for v in alpha_sigma(s))
    a_t, s_t = (float(v) for v in alpha_sigma(t))
    if a_s <= 0 or t < s:
        raise ValueError(f"renoise goes from a time below 1 to a later one, got {s} -> {t}")
    ratio = a_t / a_s
    std = math.sqrt(max(s_t ** 2 - (ratio * s_s) ** 2, 0.0))
    if isinstance(generator, (list, tuple)):
        if len(generator) != z.shape[0]:
            raise ValueError(f"one generator per batch row: {len(generator)} for {z.shape[0]} rows")
        eps = torch.stack([torch.randn(z.shape[1:], generator=g, dtype=z.dtype) for g in generator])
    else:
        eps = torch.randn(z.shape, generator=generator, dtype=z.dtype)
    return ratio * z + std * eps.to(z.device)


@torch.no_grad()
def sample_ddim_resampled(denoise: DenoiseFn, noise: torch.Tensor, steps: int | None = None, *,
                          ts: torch.Tensor | None = None, jump_length: int = 2, jumps: int = 2,
                          generator: Generators = None, refine: RefineFn | None = None,
                          callback: Callable[[int, int], None] | None = None,
                          observe: ObserveFn | None = None) -> torch.Tensor:
    """DDIM with RePaint's resampling (Lugmayr et al. 2022): the grid is cut into pieces of
    ``jump_length`` steps; each piece but the last to t = 0 is sampled ``jumps`` times, the
    latent diffused back (:func:`renoise`, fresh noise from ``generator``) to the piece's
    first time before each repeat. With a replacement denoiser (:mod:`.editing`) this lets
    the generated frames and the known frames harmonise over several passes at the same noise
    level. ``jumps = 1`` is exactly :func:`sample_ddim`. Steps are those of :func:`sample_ddim`;
    ``callback(k, total)`` counts every network pass, repeats included."""
    ts = _grid(steps, ts)
    n = len(ts) - 1
    if jump_length < 1 or jumps < 1:
        raise ValueError(f"jump_length and jumps must be >= 1, got {jump_length}, {jumps}")
    pieces = [(a, min(a + jump_length, n)) for a in range(0, n, jump_length)]
    total = sum((b - a) * (jumps if b < n else 1) for a, b in pieces)
    z, x0, done = noise, noise, 0
    for a, b in pieces:
        for r in range(jumps if b < n else 1):
            if r > 0:
                z = renoise(z, float(ts[b]), float(ts[a]), generator)
            for k in range(a, b):
                z, x0 = _ddim_step(denoise, refine, z, ts[k], ts[k + 1], last=k + 1 == n)
                done += 1
                if observe is not None:
                    observe(done, z, x0)
                if callback is not None:
                    callback(done, total)
    return x0


SAMPLERS: dict[str, Callable[..., torch.Tensor]] = {"ddim": sample_ddim, "dpmpp2m": sample_dpmpp_2m}
"""The samplers by the names the CLI, the OSC bridge and the model defaults use."""
