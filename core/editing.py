"""Editing an existing bass at sampling time (the guidance-gradients paper's tasks):
regenerate a region, continue, loop. No retraining: every task is a wrapper around a
denoiser (``denoise(z, t) -> x0_hat``), so it composes with classifier-free guidance and
grounding, and the samplers of :mod:`.diffusion` stay pure functions.

Known latent frames ``known`` (B, C, T) and a mask ``keep`` (T,) (1 = keep, 0 = generate):

- :func:`replacement_denoiser` (RePaint-style replacement): the estimate is ``known`` where
  ``keep`` is 1. A deterministic sampler (DDIM, DPM-Solver++) then keeps the known frames'
  latent exactly on their own noising path, ``z_t = alpha_t known + sigma_t eps``, with the
  starting noise ``eps``: at every step the known part is "re-noised to the step's level and
  put back", and the model fills the rest so that it fits. Method "repaint" adds RePaint's
  resampling jumps (:func:`~.diffusion.sample_ddim_resampled`: pieces of the grid sampled
  twice, diffused back with fresh noise in between), at twice the network passes.
- :func:`reconstruction_guidance_denoiser` (the paper's ``x_t := x_t - xi grad J(x_t)``, as
  reconstruction guidance on the estimate, Ho et al. 2022): ``x0 <- x0 - xi alpha_t / 2 *
  grad_z ||keep * (x0_hat(z) - known)||^2``, one backward pass through the denoiser per step.
- :func:`circular_denoiser`: the sequence is padded circularly, so frame T-1 neighbours
  frame 0 in every pass of the network: a loop with no seam.
- :func:`blend_denoiser` / :func:`blend_refiner` (transitions): two denoisers (e.g. the same
  model guided towards two timbre references) blended frame by frame with a ramp
  (:func:`transition_ramp`): before a span the first one's estimate, after it the second's,
  a linear cross-over inside. The sampler still sees one denoiser.

In audio, :func:`splice` keeps the existing samples outside the region exactly and joins
the new audio with equal-power crossfades.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .diffusion import DenoiseFn, RefineFn, alpha_sigma
from .params import EDIT_METHOD_NAMES

__all__ = ["frame_mask", "replacement_denoiser", "reconstruction_guidance_denoiser", "circular_pad",
           "circular_denoiser", "blend_denoiser", "blend_refiner", "transition_ramp", "splice", "loop_seam",
           "region_frames", "EDIT_METHODS", "REPAINT_JUMP_LENGTH", "REPAINT_JUMPS"]

EDIT_METHODS = EDIT_METHOD_NAMES  # named once, in core.params
"""How known frames are kept: replacement, replacement with RePaint's resampling jumps, or
reconstruction guidance (module notes)."""
REPAINT_JUMP_LENGTH, REPAINT_JUMPS = 2, 2


def frame_mask(frames: int, keep_ranges: list[tuple[int, int]], device: torch.device | str = "cpu") -> torch.Tensor:
    """A (frames,) float mask: 1 inside each ``[start, stop)`` of ``keep_ranges``, else 0."""
    m = torch.zeros(frames, device=device)
    for a, b in keep_ranges:
        m[max(0, a):max(0, min(frames, b))] = 1.0
    return m


def replacement_denoiser(denoise: DenoiseFn, known: torch.Tensor, keep: torch.Tensor) -> DenoiseFn:
    """``denoise`` with its estimate replaced by ``known`` (B, C, T) where ``keep`` (T,) is 1
    (a soft mask blends). See the module notes for why this is the replacement method."""
    m = keep.to(known.dtype).reshape(1, 1, -1)

    def wrapped(z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        x0 = denoise(z, t)
        return m * known.to(x0.dtype) + (1 - m) * x0

    return wrapped


def reconstruction_guidance_denoiser(denoise: DenoiseFn, known: torch.Tensor, keep: torch.Tensor,
                                     xi: float = 1.0) -> DenoiseFn:
    """``denoise`` with reconstruction guidance towards ``known`` on the frames ``keep`` marks:
    ``x0 - xi alpha_t / 2 * grad_z ||keep * (x0_hat(z) - known)||^2``, the gradient taken
    through ``denoise`` (guidance included). For a denoiser close to ``x0 = alpha z`` at low
    noise this moves the kept frames by ``xi alpha^2`` of their error: ``xi = 1`` pulls them
    onto ``known`` at the end of sampling."""
    m = keep.to(known.dtype).reshape(1, 1, -1)

    def wrapped(z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        alpha, _ = alpha_sigma(float(t))
        with torch.inference_mode(False), torch.enable_grad():
            zz = z.detach().clone().requires_grad_(True)
            x0 = denoise(zz, t)
            loss = (m * (x0 - known.to(x0.dtype))).pow(2).sum()
            (grad,) = torch.autograd.grad(loss, zz)
        return (x0 - xi * float(alpha) / 2 * grad).detach()

    return wrapped


def circular_pad(x: torch.Tensor, pad: int) -> torch.Tensor:
    """Pad the last axis of ``x`` circularly by ``pad`` frames on both sides."""
    if pad <= 0:
        return x
    reps = math.ceil(pad / x.shape[-1])
    tiled = torch.cat([x] * (2 * reps + 1), dim=-1)
    mid = reps * x.shape[-1]
    return tiled[..., mid - pad: mid + x.shape[-1] + pad]


def circular_denoiser(denoise_padded: DenoiseFn, frames: int, pad: int) -> DenoiseFn:
    """A denoiser over ``frames`` frames built on ``denoise_padded``, a denoiser over
    ``frames + 2 pad`` frames whose condition was padded with :func:`circular_pad`: every pass
    sees the sequence wrapped around, and the centre is kept."""

    def wrapped(z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return denoise_padded(circular_pad(z, pad), t)[..., pad:pad + frames]

    return wrapped


def transition_ramp(frames: int, a: int, b: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """A (frames,) weight: 0 before frame ``a``, 1 from frame ``b`` on, linear in between
    (a step at ``a`` when ``b <= a``)."""
    idx = torch.arange(frames, device=device, dtype=torch.float32)
    if b <= a:
        return (idx >= a).float()
    return ((idx - a + 0.5) / (b - a)).clamp(0.0, 1.0)


def blend_denoiser(first: DenoiseFn, second: DenoiseFn, weight: torch.Tensor) -> DenoiseFn:
    """``(1 - weight) first(z, t) + weight second(z, t)``, ``weight`` (T,) per latent frame.
    Where the weight is all 0 or all 1 only one denoiser runs."""
    w = weight.reshape(1, 1, -1)
    lo, hi = bool((weight == 0).all()), bool((weight == 1).all())

    def wrapped(z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        if lo:
            return first(z, t)
        if hi:
            return second(z, t)
        a, b = first(z, t), second(z, t)
        ww = w.to(a.dtype)
        return (1 - ww) * a + ww * b

    return wrapped


def blend_refiner(first: RefineFn | None, second: RefineFn | None, weight: torch.Tensor) -> RefineFn | None:
    """The per-frame blend of two refinements (``None`` = leave the estimate as it is), as
    :func:`blend_denoiser`. Returns None when neither refines."""
    if first is None and second is None:
        return None
    w = weight.reshape(1, 1, -1)

    def refine(x0: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        a = first(x0, t) if first is not None else x0
        b = second(x0, t) if second is not None else x0
        ww = w.to(x0.dtype)
        return (1 - ww) * a + ww * b

    return refine


def _equal_power(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Fade-in and fade-out gains of an ``n``-sample equal-power crossfade (sin/cos)."""
    x = (np.arange(n) + 0.5) / max(n, 1)
    return np.sin(0.5 * np.pi * x).astype(np.float32), np.cos(0.5 * np.pi * x).astype(np.float32)


def splice(old: np.ndarray, new: np.ndarray, start: int, end: int, fade: int) -> np.ndarray:
    """``old`` with samples ``[start, end)`` taken from ``new`` (same shape), joined by
    equal-power crossfades of ``fade`` samples placed inside the region at each edge (an edge
    at 0 or at the end needs none). Outside ``[start, end)`` the result is ``old`` bit for bit."""
    if old.shape != new.shape:
        raise ValueError(f"splice needs equal shapes, got {old.shape} and {new.shape}")
    n = old.shape[0]
    start, end = max(0, int(start)), min(n, int(end))
    out = old.copy()
    if end <= start:
        return out
    out[start:end] = new[start:end]
    fade = max(0, min(int(fade), (end - start) // 2))
    if fade:
        fin, fout = _equal_power(fade)
        shape = (-1,) + (1,) * (old.ndim - 1)
        if start > 0:
            s = slice(start, start + fade)
            out[s] = old[s] * fout.reshape(shape) + new[s] * fin.reshape(shape)
        if end < n:
            s = slice(end - fade, end)
            out[s] = new[s] * fout.reshape(shape) + old[s] * fin.reshape(shape)
    return out


def loop_seam(looped: np.ndarray, continuation: np.ndarray, fade: int) -> np.ndarray:
    """Make ``looped`` run into its own start: its first ``fade`` samples crossfade (equal
    power) from ``continuation`` — what the decoder produced right after the loop's end, i.e.
    the start played once more — to the loop's own start, so sample -1 -> sample 0 is the
    decoder's own next sample."""
    fade = max(0, min(int(fade), looped.shape[0], continuation.shape[0]))
    out = looped.copy()
    if fade:
        fin, fout = _equal_power(fade)
        shape = (-1,) + (1,) * (looped.ndim - 1)
        out[:fade] = continuation[:fade] * fout.reshape(shape) + looped[:fade] * fin.reshape(shape)
    return out


def region_frames(start_s: float, end_s: float, latent_rate: float, frames: int,
                  margin: int = 1) -> tuple[int, int]:
    """The latent frames ``[a, b)`` to generate for a region in seconds: the frames it touches,
    widened by ``margin`` frames each side (the crossfades need new audio there too)."""
    a = int(math.floor(start_s * latent_rate)) - margin
    b = int(math.ceil(end_s * latent_rate)) + margin
    return max(0, a), min(frames, b)
