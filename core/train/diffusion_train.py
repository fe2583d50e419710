"""Latent diffusion training (paper sections 3.2 and 4): v-objective, cosine schedule,
15% conditioning dropout, AdamW(0.9, 0.999), EMA weights, from a latent cache.

Runs on CPU, one GPU (bf16 autocast) or many processes under ``torchrun`` (DDP; every
rank draws its own crops from ``(seed, step, rank)``; rank 0 logs and checkpoints). A run
directory holds ``state.pt`` (resume bit for bit) and ``diffusion.safetensors`` (the EMA
and raw U-Net weights, the U-Net config and the latent statistics).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch.nn.parallel import DistributedDataParallel as DDP

from ..checkpoint import save_checkpoint
from ..config import UNetConfig, config_to_dict
from ..diffusion import v_loss
from ..unet import UNet1d
from .common import (
    EMA,
    DistContext,
    TrainLogger,
    autocast_for,
    end_of_step,
    interrupt_guard,
    load_state,
    save_state,
    setup_distributed,
    step_generator,
)
from .latent_cache import LatentCache

log = logging.getLogger(__name__)

__all__ = ["DiffusionTrainOptions", "train_diffusion", "learning_rate"]


@dataclass(frozen=True)
class DiffusionTrainOptions:
    """Hyperparameters of a diffusion run (paper: AdamW(0.9, 0.999), batch 128, 256 frames)."""

    steps: int = 100_000
    batch_size: int = 16  # per process
    crop_frames: int | None = None  # default: the U-Net config's train_frames
    lr: float = 2e-4
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.01
    warmup_steps: int = 500  # linear learning-rate warm-up
    decay_steps: int = 0  # cosine decay of the learning rate over the run's last steps (0: constant)
    final_lr_ratio: float = 0.1  # the learning rate at the end of the decay, as a share of lr
    ema_decay: float = 0.999
    cond_dropout: float = 0.15
    style_dropout: float = 0.3  # timbre condition dropout (U-Nets with style_dim), drawn independently
    latent_dropout: float = 0.0  # mix-latent-only dropout, features kept (U-Nets with feature_dim), independently
    grad_clip: float = 1.0
    ckpt_every: int = 1000
    valid_every: int = 1000
    valid_batches: int = 8
    seed: int = 0
    precision: str = "auto"  # auto: bf16 autocast on CUDA, fp32 elsewhere
    overfit: bool = False  # always train on step 0's batch (a debugging check that the loop can learn)



def learning_rate(options: DiffusionTrainOptions, step: int) -> float:
    """The learning rate of step ``step`` (0-based): a linear warm-up over ``warmup_steps``, then
    ``lr``, then over the last ``decay_steps`` steps before ``steps`` a cosine down to
    ``lr * final_lr_ratio``. A function of the step alone, so a resumed run follows it exactly."""
    lr = options.lr * min(1.0, (step + 1) / max(1, options.warmup_steps))
    begin = options.steps - options.decay_steps
    if options.decay_steps > 0 and step >= begin:
        t = min(1.0, (step - begin) / options.decay_steps)
        lr *= options.final_lr_ratio + (1.0 - options.final_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * t))
    return lr


@torch.no_grad()
def _validate(net: torch.nn.Module, valid: LatentCache, opts: DiffusionTrainOptions, frames: int,
              ctx: DistContext) -> float:
    total = 0.0
    for i in range(opts.valid_batches):
        b = valid.draw(12345, i, 0, opts.batch_size, frames)
        style = b.style.to(ctx.device) if _uses_style(net) else None
        with autocast_for(ctx, opts.precision):
            loss = v_loss(net, b.bass.to(ctx.device), b.cond.to(ctx.device), 0.0, step_generator(777, i, 0),
                          style=style, style_dropout=0.0)
        total += loss.item()
    return total / max(1, opts.valid_batches)


def _uses_style(net: torch.nn.Module) -> bool:
    inner = net.module if isinstance(net, DDP) else net
    return bool(inner.cfg.style_dim)


def init_unet_from(net: UNet1d, path: str | Path) -> list[str]:
    """Start ``net`` from the U-Net of a diffusion checkpoint (its EMA weights) or a generator.

    Tensors of the same shape are copied. The input convolution may have gained feature
    channels: the old channels are copied and the new ones start at zero, so the network
    starts out computing exactly what the old one did. Layers the old network lacks (the
    timbre MLP) keep their initialisation (a zero output layer). Returns the names left
    at their initialisation. Raises CheckpointError for an unreadable file.
    """
    from ..checkpoint import load_checkpoint

    ck = load_checkpoint(path)
    src = ck.sub("ema") if ck.kind == "diffusion" else ck.sub("unet")
    own = net.state_dict()
    fresh = []
    with torch.no_grad():
        for name, param in own.items():
            old = src.get(name)
            if old is not None and old.shape == param.shape:
                param.copy_(old.to(param.dtype))
            elif name == "inp.weight" and old is not None and old.shape[0] == param.shape[0] \
                    and old.shape[1] < param.shape[1] and old.shape[2:] == param.shape[2:]:
                param.zero_()
                param[:, : old.shape[1]] = old.to(param.dtype)
            else:
                fresh.append(name)
    return fresh


def train_diffusion(cache_dir: str | Path, out_dir: str | Path, *, config: UNetConfig,
                    options: DiffusionTrainOptions, resume: bool = False, device: str = "auto",
                    quiet: bool = False, on_step: Callable[[int, dict[str, float]], None] | None = None,
                    init_from: str | Path | None = None) -> dict[str, float]:
    """Train (or resume) the diffusion U-Net on a latent cache's train split.

    ``init_from`` (a diffusion run's ``diffusion.safetensors`` or a generator model) starts a
    new run from that U-Net (see :func:`init_unet_from`); ignored when resuming.

    Writes ``out_dir/state.pt`` and ``out_dir/diffusion.safetensors`` every
    ``ckpt_every`` steps, at the end and on Ctrl-C/SIGTERM. Returns the last losses
    (``train/loss``, ``valid/loss`` when held-out songs exist).
    """
    out = Path(out_dir)
    ctx = setup_distributed(device)
    train = LatentCache(cache_dir, "train")
    valid = None
    for split in ("valid", "test"):
        cand = LatentCache(cache_dir, split)
        if len(cand):
            valid = cand
            break
    dims = (train.info["bass_ae"]["latent_dim"], train.info["mix_ae"]["latent_dim"])
    if (config.latent_dim, config.cond_dim) != dims:
        raise ValueError(f"{cache_dir}: latents are (bass {dims[0]}, mix {dims[1]}) channels but the U-Net "
                         f"expects (bass {config.latent_dim}, mix {config.cond_dim})")
    if train.feature_dim != config.feature_dim:
        raise ValueError(f"{cache_dir}: the cache has {train.feature_dim} feature channels but the U-Net "
                         f"expects {config.feature_dim}")
    frames = options.crop_frames or config.train_frames

    torch.manual_seed(options.seed)
    net = UNet1d(config)
    if init_from is not None and not (resume and (out / "state.pt").is_file()):
        fresh = init_unet_from(net, init_from)
        if ctx.is_main:
            log.info("U-Net initialised from %s (%d tensors new: %s)", init_from, len(fresh), ", ".join(fresh[:6]))
    net = net.to(ctx.device)
    ema = EMA(net, options.ema_decay)
    opt = torch.optim.AdamW(net.parameters(), lr=options.lr, betas=options.betas, weight_decay=options.weight_decay)
    start = 0
    state_path = out / "state.pt"
    if resume and state_path.is_file():
        st = load_state(state_path)
        if st["config"] != config_to_dict(config):
            raise ValueError(f"{state_path}: was trained with a different U-Net config")
        net.load_state_dict(st["model"])
        ema.model.load_state_dict(st["ema"])
        opt.load_state_dict(st["opt"])
        start = int(st["step"])
        if ctx.is_main:
            log.info("resuming %s at step %d", out, start)
    model = DDP(net) if ctx.distributed else net

    def checkpoint(step: int) -> None:
        if not ctx.is_main:
            return
        save_state(state_path, {"step": step, "model": net.state_dict(), "ema": ema.model.state_dict(),
                                "opt": opt.state_dict(), "config": config_to_dict(config),
                                "options": config_to_dict(options)})
        tensors = {f"ema.{k}": v for k, v in ema.model.state_dict().items()}
        tensors.update({f"model.{k}": v for k, v in net.state_dict().items()})
        tensors.update({f"stats.{k}": v for k, v in train.stats.items()})
        save_checkpoint(out / "diffusion.safetensors", tensors, kind="diffusion", config=config,
                        extra={"step": step, "cache": str(Path(cache_dir).resolve()),
                               "cond_dropout": options.cond_dropout, "latent_dropout": options.latent_dropout})

    latent_rate = train.info["mix_ae"]["sample_rate"] / (train.info["mix_ae"]["hop"] * train.info["mix_ae"]["frames_per_latent"])
    logger = TrainLogger(ctx, out, options.steps, start, options.batch_size * ctx.world * frames / latent_rate, quiet)
    last: dict[str, float] = {}
    step = start
    net.train()
    try:
        with interrupt_guard() as flag:
            while step < options.steps and not flag["stop"]:
                b = train.draw(options.seed, 0 if options.overfit else step, ctx.rank, options.batch_size, frames)
                for group in opt.param_groups:
                    group["lr"] = learning_rate(options, step)
                style = b.style.to(ctx.device) if config.style_dim else None
                with autocast_for(ctx, options.precision):
                    loss = v_loss(model, b.bass.to(ctx.device), b.cond.to(ctx.device), options.cond_dropout,
                                  step_generator(options.seed, 0 if options.overfit else step, ctx.rank, stream=1),
                                  style=style, style_dropout=options.style_dropout,
                                  latent_dropout=options.latent_dropout, latent_channels=config.cond_dim)
                if not math.isfinite(loss.item()):
                    raise FloatingPointError(f"non-finite diffusion loss at step {step}")
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(net.parameters(), options.grad_clip)
                opt.step()
                ema.update(net, step)
                step += 1
                last = {"train/loss": ctx.mean(loss.item()), "train/lr": opt.param_groups[0]["lr"]}
                if valid is not None and ctx.is_main and (step % options.valid_every == 0 or step == options.steps):
                    last["valid/loss"] = _validate(ema.model, valid, options, frames, ctx)
                end_of_step(step, last, logger, on_step, checkpoint, options.ckpt_every, options.steps)
            checkpoint(step)
    finally:
        logger.close()
    ctx.barrier()
    return {**last, "step": float(step)}
