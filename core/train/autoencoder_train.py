"""Autoencoder training (paper sections 3.1 and 4): random 1.5 s crops, Adam(0.5, 0.9),
``L_adv + 25 L_rec + 0.002 L_mssd`` with the spectrogram and mel critics.

``train_autoencoder`` runs on a CPU, one GPU (bf16 autocast) or many processes under
``torchrun`` (DistributedDataParallel; each rank draws its own crops; rank 0 logs and
writes checkpoints). A run directory holds ``state.pt`` (everything needed to resume
bit for bit) and ``autoencoder.safetensors`` (the model alone, loadable by
:func:`load_autoencoder`).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from torch.nn.parallel import DistributedDataParallel as DDP

from ..ae_losses import AELossWeights, autoencoder_critic_loss, autoencoder_generator_loss
from ..autoencoder import SpectrogramAutoencoder
from ..checkpoint import load_checkpoint, save_checkpoint
from ..config import AutoencoderConfig, CriticConfig, config_from_dict, config_to_dict
from ..critics import Critics
from ..data.pairs import StemCrops
from ..spectral import multiscale_spectral_distance
from .common import (
    DistContext,
    TrainLogger,
    autocast_for,
    end_of_step,
    interrupt_guard,
    load_state,
    save_state,
    setup_distributed,
    step_generator,
    unwrap,
)

log = logging.getLogger(__name__)

__all__ = ["AETrainOptions", "train_autoencoder", "load_autoencoder"]


@dataclass(frozen=True)
class AETrainOptions:
    """Hyperparameters of an autoencoder run (defaults follow the paper where it gives them)."""

    role: str = "bass"  # "bass" or "mix"
    steps: int = 100_000
    batch_size: int = 16  # per process (paper: 32 in total)
    crop_seconds: float = 1.5
    lr: float = 1e-4
    critic_lr: float = 1e-4
    betas: tuple[float, float] = (0.5, 0.9)
    warmup_steps: int = 0  # steps with the adversarial term (and critic training) off
    grad_clip: float = 10.0
    ckpt_every: int = 500
    valid_every: int = 500
    valid_batches: int = 4
    seed: int = 0
    precision: str = "auto"  # auto: bf16 autocast on CUDA, fp32 elsewhere
    overfit: bool = False  # always train on step 0's batch (a debugging check that the loop can learn)
    level_db: tuple[float, float] | None = (-32.0, -12.0)  # each crop scaled to a random RMS (dBFS) in this range
    weights: AELossWeights = field(default_factory=AELossWeights)
    # Start a new run from another run's weights (e.g. add a pitch head to a trained autoencoder):
    # every tensor whose name and shape match is loaded, the rest keep their initialisation.
    init_from: str | None = None



def _trained_fields(cfg: dict) -> dict:
    """The config fields that shape the weights (inference-only settings left out)."""
    return {k: v for k, v in cfg.items() if k not in ("phase_iters", "phase_source")}


def _set_level(wave: torch.Tensor, level_db: tuple[float, float] | None, gen: torch.Generator) -> torch.Tensor:
    """Scale each (B, samples) crop to a random RMS level (dBFS) in ``level_db``; silent crops stay silent."""
    if level_db is None:
        return wave
    lo, hi = level_db
    target = 10 ** ((lo + (hi - lo) * torch.rand(wave.shape[0], generator=gen)) / 20)
    rms = wave.square().mean(dim=1).sqrt()
    gain = torch.where(rms > 1e-5, target / rms.clamp_min(1e-5), torch.ones_like(rms))
    return wave * gain[:, None]


def load_autoencoder(path: str | Path, with_decoder: bool = True) -> SpectrogramAutoencoder:
    """Rebuild a :class:`SpectrogramAutoencoder` from an ``autoencoder`` checkpoint (eval mode)."""
    ck = load_checkpoint(path, kind="autoencoder")
    ae = SpectrogramAutoencoder(config_from_dict(AutoencoderConfig, ck.config), with_decoder=with_decoder)
    tensors = ck.tensors if with_decoder else ck.sub("encoder")
    (ae if with_decoder else ae.encoder).load_state_dict(tensors)
    return ae.eval()


def _init_from(ae: SpectrogramAutoencoder, path: str | Path, verbose: bool) -> None:
    """Load every tensor of the checkpoint at ``path`` whose name and shape match ``ae``; a
    weight that has gained input channels (e.g. the encoder's input with ``hires_fft`` on)
    gets the old channels and zeros for the new ones, so the model starts where it was."""
    own = ae.state_dict()
    tensors = load_checkpoint(path, kind="autoencoder").tensors
    match = {k: v for k, v in tensors.items() if k in own and own[k].shape == v.shape}
    for k, v in tensors.items():  # a layer that gained input channels: old ones copied, new ones zero
        w = own.get(k)
        if w is not None and k not in match and w.dim() == v.dim() >= 2 and w.shape[0] == v.shape[0] \
                and w.shape[2:] == v.shape[2:] and w.shape[1] > v.shape[1]:
            grown = torch.zeros_like(w)
            grown[:, : v.shape[1]] = v
            match[k] = grown
    ae.load_state_dict(match, strict=False)
    if verbose:
        fresh = sorted(set(own) - set(match))
        log.info("initialised from %s: %d tensors loaded, %d new (%s)", path, len(match), len(fresh),
                 ", ".join(fresh[:4]) + (" ..." if len(fresh) > 4 else ""))


@torch.no_grad()
def _validate(ae: SpectrogramAutoencoder, valid: StemCrops, opts: AETrainOptions, ctx: DistContext) -> dict[str, float]:
    ae.eval()
    rec_sum = mssd_sum = 0.0
    hits = voiced = chroma_known = 0
    chroma_hits = 0.0
    for i in range(opts.valid_batches):
        batch = valid.batch(i, opts.batch_size)
        wave = _set_level(batch[opts.role][:, 0], opts.level_db, torch.Generator().manual_seed(i)).to(ctx.device)
        r = ae.reconstruct(wave)
        rec_sum += (r.logpow_hat - r.logpow).abs().mean().item()
        mssd_sum += multiscale_spectral_distance(r.wave, r.wave_hat, opts.weights.mssd_hops).item()
        if r.pitch_logits is not None and "pitch" in batch:
            target = batch["pitch"].to(ctx.device)
            n = min(target.shape[-1], r.pitch_logits.shape[-1])
            pred, target = r.pitch_logits[..., :n].argmax(dim=1), target[:, :n]
            hits += int(((pred == target) & (target > 0)).sum())
            voiced += int((target > 0).sum())
        if r.chroma_logits is not None and "chroma" in batch:
            target = batch["chroma"].to(ctx.device)
            n = min(target.shape[1], r.chroma_logits.shape[-1])
            pred = (r.chroma_logits[..., :n].transpose(1, 2) > 0).float()
            known = target[:, :n, 0] >= 0
            chroma_hits += float((pred == target[:, :n]).all(dim=-1)[known].sum())
            chroma_known += int(known.sum())
    ae.train()
    n = max(1, opts.valid_batches)
    out = {"valid/rec": rec_sum / n, "valid/mssd": mssd_sum / n}
    if voiced:
        out["valid/pitch_acc"] = hits / voiced  # share of sounding frames whose note the head names
    if chroma_known:
        out["valid/chroma_acc"] = chroma_hits / chroma_known  # share of frames with all 12 classes right
    return out


def train_autoencoder(manifest: str | Path, out_dir: str | Path, *, config: AutoencoderConfig,
                      critic_config: CriticConfig, options: AETrainOptions, resume: bool = False,
                      device: str = "auto", quiet: bool = False,
                      on_step: Callable[[int, dict[str, float]], None] | None = None) -> dict[str, float]:
    """Train (or resume) an autoencoder on the ``role`` stems of a manifest's train split.

    Writes ``out_dir/state.pt`` and ``out_dir/autoencoder.safetensors`` every
    ``ckpt_every`` steps, at the end, and on Ctrl-C/SIGTERM. Validation (held-out
    ``valid`` songs, or ``test`` when there are none) every ``valid_every`` steps.
    Returns the last step's losses and validation figures.
    """
    if options.role not in ("bass", "mix"):
        raise ValueError(f"role must be 'bass' or 'mix', got {options.role!r}")
    out = Path(out_dir)
    ctx = setup_distributed(device)
    crop = int(round(options.crop_seconds * config.sample_rate))
    targets = {}  # the heads' training targets, one per STFT frame
    if config.pitch_bins > 0 and options.role == "bass":
        targets.update(pitch_hop=config.hop, pitch_low=config.pitch_low, pitch_bins=config.pitch_bins)
    if config.chroma_head and options.role == "mix":
        targets.update(chroma_hop=config.hop)
    train = StemCrops.from_manifest(manifest, "train", sample_rate=config.sample_rate, crop_samples=crop,
                                    role=options.role, seed=options.seed, **targets)
    valid = None
    for split in ("valid", "test"):
        try:
            valid = StemCrops.from_manifest(manifest, split, sample_rate=config.sample_rate, crop_samples=crop,
                                            role=options.role, seed=10_000 + options.seed, **targets)
            break
        except ValueError:
            continue
    if valid is None and ctx.is_main:
        log.warning("%s: no valid/test songs; no validation loss", manifest)

    torch.manual_seed(options.seed)
    ae = SpectrogramAutoencoder(config).to(ctx.device)
    critics = Critics(config, critic_config).to(ctx.device)
    opt_g = torch.optim.Adam(ae.parameters(), lr=options.lr, betas=options.betas)
    opt_c = torch.optim.Adam(critics.parameters(), lr=options.critic_lr, betas=options.betas)
    start = 0
    state_path = out / "state.pt"
    if options.init_from and not (resume and state_path.is_file()):
        _init_from(ae, options.init_from, ctx.is_main)
    if resume and state_path.is_file():
        st = load_state(state_path)
        if _trained_fields(st["config"]) != _trained_fields(config_to_dict(config)):
            raise ValueError(f"{state_path}: was trained with a different autoencoder config")
        ae.load_state_dict(st["model"])
        critics.load_state_dict(st["critics"])
        opt_g.load_state_dict(st["opt_g"])
        opt_c.load_state_dict(st["opt_c"])
        start = int(st["step"])
        if ctx.is_main:
            log.info("resuming %s at step %d", out, start)
    model, crit = (DDP(ae), DDP(critics)) if ctx.distributed else (ae, critics)

    def checkpoint(step: int) -> None:
        if not ctx.is_main:
            return
        save_state(state_path, {
            "step": step, "model": ae.state_dict(), "critics": critics.state_dict(),
            "opt_g": opt_g.state_dict(), "opt_c": opt_c.state_dict(), "config": config_to_dict(config),
            "options": config_to_dict(options),
        })
        save_checkpoint(out / "autoencoder.safetensors", ae.state_dict(), kind="autoencoder", config=config,
                        extra={"role": options.role, "step": step})

    logger = TrainLogger(ctx, out, options.steps, start, options.batch_size * ctx.world * options.crop_seconds, quiet)
    last: dict[str, float] = {}
    step = start
    ae.train()
    critics.train()
    try:
        with interrupt_guard() as flag:
            while step < options.steps and not flag["stop"]:
                data_step = 0 if options.overfit else step
                batch = train.batch(data_step * ctx.world + ctx.rank, options.batch_size)
                wave = batch[options.role][:, 0]
                wave = _set_level(wave, options.level_db, step_generator(options.seed, data_step, ctx.rank, 2)).to(ctx.device)
                adversarial = step >= options.warmup_steps and options.weights.adv > 0
                with autocast_for(ctx, options.precision):
                    loss, parts, rec = autoencoder_generator_loss(model, crit if adversarial else None, wave,
                                                                  options.weights, batch.get("pitch"),
                                                                  batch.get("chroma"))
                if not math.isfinite(parts["total"]):
                    raise FloatingPointError(f"non-finite autoencoder loss at step {step}: {parts}")
                opt_g.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(ae.parameters(), options.grad_clip)
                opt_g.step()
                if adversarial:
                    with autocast_for(ctx, options.precision):
                        c_loss, c_parts = autoencoder_critic_loss(crit, rec.wave, rec.wave_hat)
                    opt_c.zero_grad(set_to_none=True)
                    c_loss.backward()
                    torch.nn.utils.clip_grad_norm_(critics.parameters(), options.grad_clip)
                    opt_c.step()
                    parts.update(c_parts)
                step += 1
                last = {f"train/{k}": ctx.mean(v) for k, v in parts.items()}
                last["data/skipped"] = float(train.skipped)
                if valid is not None and (step % options.valid_every == 0 or step == options.steps):
                    last.update(_validate(unwrap(model), valid, options, ctx))
                end_of_step(step, last, logger, on_step, checkpoint, options.ckpt_every, options.steps)
            checkpoint(step)
    finally:
        logger.close()
    ctx.barrier()
    return {**last, "step": float(step)}
