"""Experiment: when in the sampling run style grounding pulls, at the same strength ``g``.

The paper's rule weights the pull of the estimate's time-mean towards the reference's by
``g * beta^2`` (strong at high noise, none at the end). Notes are settled early in a run and the
timbre late, so a pull that acts late might move the timbre with fewer notes. Schedules, as the
weight ``w(beta)`` in ``k = g * w``:

- ``paper``: ``beta^2`` (what the product does);
- ``late``: ``1 - beta^2`` (none at the start, full at the end: the last estimate, which is the
  result, has its mean moved by ``g`` of the way, off the note basis);
- ``const``: ``1`` at every step;
- ``lock``: no pull while sampling; the result's mean is moved by ``g`` of the way (off the note
  basis), then every latent frame whose decoded notes (the bass autoencoder's pitch head) that
  move changed is put back, three rounds (the decoder sees neighbouring frames): the notes of
  the run without grounding, the timbre of the moved frames.

Runs ``groundbass eval`` with the chosen schedule patched into the generator; everything else is
the product's code and the model's stored settings, so ``paper`` reproduces the plain eval::

    python docs/experiments/grounding_schedule.py late eval --seconds 12 --no-ae-figures --device cpu \\
        --songs 24 --split all --processing heldout --style-eval --data ood4_dev/manifest.jsonl \\
        --model small-synth-v3.6.1.safetensors --out reports/dev4_sched_late
"""

from __future__ import annotations

import math
import sys

import torch

from groundbass.core import guidance, pipeline
from groundbass.core.diffusion import alpha_sigma

SCHEDULES = {"paper": lambda b2: b2, "late": lambda b2: 1.0 - b2, "const": lambda b2: 1.0, "lock": None}


class _Lock:
    """The ``lock`` schedule's refiner: a marker the patched sampler applies once, to its result."""

    def __init__(self, gen, style_mean, g, note_basis):
        self.gen, self.style_mean, self.g, self.note_basis = gen, style_mean, g, note_basis

    def final(self, x: torch.Tensor, rounds: int = 3) -> torch.Tensor:
        gen = self.gen
        fpl = gen.bass_ae.cfg.frames_per_latent
        moved = guidance.ground(x, self.style_mean, 1.0, self.g, self.note_basis)

        def notes(z):
            cls = gen.bass_ae.decode_pitch(gen.stats.denormalise_bass(z).float())
            return cls[:, : z.shape[-1] * fpl].reshape(z.shape[0], z.shape[-1], fpl)

        before = notes(x)
        for _ in range(rounds):
            changed = (notes(moved) != before).any(dim=-1)  # (B, T) frames whose notes moved
            if not bool(changed.any()):
                break
            moved = torch.where(changed[:, None, :], x, moved)
        return moved


def _locking(sampler):
    def sample(denoise, noise, steps=None, *, refine=None, **kw):
        if isinstance(refine, _Lock):
            return refine.final(sampler(denoise, noise, steps, refine=None, **kw))
        return sampler(denoise, noise, steps, refine=refine, **kw)

    return sample


def refiner_with(schedule: str):
    weight = SCHEDULES[schedule]
    if weight is None:  # lock: the generator is the caller's ``self`` (BassGenerator._sample's closure)
        for name, fn in list(pipeline.SAMPLERS.items()):
            pipeline.SAMPLERS[name] = _locking(fn)

        def lock_refiner(style_mean, g=1.0, note_basis=None):
            return _Lock(sys._getframe(1).f_locals["self"], style_mean, g, note_basis)

        return lock_refiner

    def grounding_refiner(style_mean: torch.Tensor, g: float = 1.0, note_basis: torch.Tensor | None = None):
        def refine(x0: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            _, beta = alpha_sigma(float(t))
            # ground() pulls by g * beta_eff^2: pass the schedule's weight as beta_eff^2
            return guidance.ground(x0, style_mean, math.sqrt(max(weight(float(beta) ** 2), 0.0)), g, note_basis)

        return refine

    return grounding_refiner


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in SCHEDULES:
        sys.exit(f"usage: grounding_schedule.py {'|'.join(SCHEDULES)} GROUNDBASS-ARGS...")
    pipeline.grounding_refiner = refiner_with(sys.argv[1])
    from groundbass.bridge.cli import main

    sys.argv = ["groundbass"] + sys.argv[2:]
    main()
