"""Pieces shared by the training loops: distributed context, EMA, run checkpoints, logging.

Reproducibility model: every random draw of training step ``s`` on rank ``r`` comes from
generators seeded with ``(seed, s, r)`` (data crops, diffusion times and noise), so a run
resumed from a checkpoint at step ``s`` continues bit for bit: the checkpoint only needs
weights, optimiser states, EMA weights and the step.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import logging
import math
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import torch
import torch.distributed as dist
from torch import nn

from ..atomic import atomic_path

log = logging.getLogger(__name__)

__all__ = ["DistContext", "setup_distributed", "EMA", "step_generator", "save_state", "load_state",
           "TrainLogger", "unwrap", "interrupt_guard", "autocast_for", "with_overrides", "end_of_step"]


@dataclass
class DistContext:
    """Where this process sits in a (possibly single-process) run."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        """True on rank 0, which logs and writes checkpoints."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """True when more than one process takes part."""
        return self.world > 1

    def barrier(self) -> None:
        """Wait for every rank (no-op when not distributed)."""
        if self.distributed:
            dist.barrier()

    def mean(self, value: float) -> float:
        """Average a float over all ranks."""
        if not self.distributed:
            return value
        t = torch.tensor([value], dtype=torch.float64, device=self.device if self.device.type == "cuda" else "cpu")
        dist.all_reduce(t)
        return float(t.item()) / self.world


def setup_distributed(device: str = "auto") -> DistContext:
    """Read torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK) and join the process group.

    Backend: NCCL on CUDA, gloo otherwise. ``device="auto"`` picks cuda:LOCAL_RANK when a
    GPU is present, else the CPU. A plain (non-torchrun) run is a world of one.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device == "auto":
        dev = torch.device(f"cuda:{local}") if torch.cuda.is_available() else torch.device("cpu")
    else:
        dev = torch.device(device)
        if dev.type == "cuda" and dev.index is None:
            dev = torch.device(f"cuda:{local}")
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo")
    return DistContext(rank=rank, world=world, local_rank=local, device=dev)


def autocast_for(ctx: DistContext, precision: str):
    """bf16 autocast when ``precision`` is "bf16", or "auto" on CUDA; otherwise a no-op context."""
    if precision == "bf16" or (precision == "auto" and ctx.device.type == "cuda"):
        return torch.autocast(ctx.device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def with_overrides(options, **kwargs):
    """A copy of the options dataclass ``options`` with every non-None keyword applied."""
    return dataclasses.replace(options, **{k: v for k, v in kwargs.items() if v is not None})


def end_of_step(step: int, scalars: dict[str, float], logger: "TrainLogger", on_step, checkpoint,
                ckpt_every: int, total_steps: int) -> None:
    """After finished step ``step``: log, call ``on_step(step, scalars)`` if given, and write a
    periodic checkpoint (the final one is the loop's own)."""
    logger.step(step, scalars)
    if on_step is not None:
        on_step(step, scalars)
    if step % ckpt_every == 0 and step < total_steps:
        checkpoint(step)


def unwrap(model: nn.Module) -> nn.Module:
    """The module inside a DistributedDataParallel wrapper (or the module itself)."""
    return model.module if hasattr(model, "module") else model


def step_generator(seed: int, step: int, rank: int, stream: int = 0) -> torch.Generator:
    """A CPU generator for step ``step`` on ``rank``; ``stream`` separates independent uses."""
    mixed = (seed * 1_000_003 + step * 7_919 + rank * 104_729 + stream * 15_485_863) % (2**63 - 1)
    return torch.Generator().manual_seed(mixed)


class EMA:
    """Exponential moving average of a model's parameters (buffers copied as they are)."""

    def __init__(self, model: nn.Module, decay: float = 0.999):
        self.decay = decay
        self.model = copy.deepcopy(unwrap(model)).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        """Blend in the current weights; the decay warms up as ``min(decay, (1+s)/(10+s))``."""
        d = min(self.decay, (1 + step) / (10 + step))
        src = unwrap(model)
        for e, p in zip(self.model.parameters(), src.parameters()):
            e.lerp_(p.detach(), 1.0 - d)
        for e, b in zip(self.model.buffers(), src.buffers()):
            e.copy_(b)


def save_state(path: Path, state: dict) -> None:
    """Write a training state dict with ``torch.save`` to a temp file, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_state(path: Path) -> dict:
    """Read a training state written by :func:`save_state` (tensors and plain Python values only)."""
    return torch.load(path, map_location="cpu", weights_only=True)


class TrainLogger:
    """Rank-0 progress bar (losses, steps/s, audio seconds/s) and TensorBoard scalars."""

    def __init__(self, ctx: DistContext, out_dir: Path, total_steps: int, start_step: int,
                 audio_seconds_per_step: float, quiet: bool = False):
        self.ctx = ctx
        self.audio_per_step = audio_seconds_per_step
        self.bar = None
        self.writer = None
        self._t = time.perf_counter()
        self._last_step = start_step
        if not ctx.is_main:
            return
        try:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(log_dir=str(out_dir / "tb"))
        except ImportError:  # tensorboard not installed: keep the progress bar
            log.warning("tensorboard is not installed; no TensorBoard logs")
        if not quiet:
            from tqdm import tqdm

            self.bar = tqdm(total=total_steps, initial=start_step, unit="step", dynamic_ncols=True)

    def step(self, step: int, scalars: dict[str, float]) -> None:
        """Record the scalars of finished step ``step`` (1-based count of steps done)."""
        if not self.ctx.is_main:
            return
        now = time.perf_counter()
        rate = (step - self._last_step) / max(now - self._t, 1e-9)
        self._t, self._last_step = now, step
        scalars = {**scalars, "steps_per_s": rate, "audio_s_per_s": rate * self.audio_per_step}
        if self.writer is not None:
            for k, v in scalars.items():
                if math.isfinite(v):
                    self.writer.add_scalar(k, v, step)
        if self.bar is not None:
            self.bar.update(step - self.bar.n)
            self.bar.set_postfix({k: f"{v:.4g}" for k, v in scalars.items() if k != "audio_s_per_s"}, refresh=False)

    def close(self) -> None:
        """Flush and close the bar and the TensorBoard writer."""
        if self.bar is not None:
            self.bar.close()
        if self.writer is not None:
            self.writer.close()


@contextlib.contextmanager
def interrupt_guard() -> Iterator[dict]:
    """Turn SIGINT/SIGTERM into a flag the loop checks between steps (``flag["stop"]``).

    A second Ctrl-C raises KeyboardInterrupt as usual. Outside the main thread, nothing
    is installed.
    """
    flag = {"stop": False}
    handlers = {}

    def handler(signum, frame):
        if flag["stop"]:
            raise KeyboardInterrupt
        flag["stop"] = True
        log.warning("interrupt received: finishing the step and writing a checkpoint")

    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            handlers[sig] = signal.signal(sig, handler)
    except ValueError:  # not the main thread
        handlers = {}
    try:
        yield flag
    finally:
        for sig, old in handlers.items():
            signal.signal(sig, old)
