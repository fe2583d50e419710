"""Training throughput of the autoencoder (generator + both critics) and the diffusion U-Net.

    python benchmarks/bench_train.py --preset small            # CPU
    python benchmarks/bench_train.py --preset paper --device cuda   # GPU, bf16 autocast

Measures the optimisation step alone (random audio / random latents in memory, so disk
and resampling are not counted): steps per second and audio seconds per second, after
a few warm-up steps. Batch sizes default to what the training commands use.
"""

from __future__ import annotations

import argparse
import contextlib
import time

import torch

from groundbass.core.ae_losses import AELossWeights, autoencoder_critic_loss, autoencoder_generator_loss
from groundbass.core.autoencoder import SpectrogramAutoencoder
from groundbass.core.config import preset
from groundbass.core.critics import Critics
from groundbass.core.diffusion import v_loss
from groundbass.core.unet import UNet1d


def _autocast(device: torch.device, bf16: bool):
    return torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def bench_autoencoder(cfg, device, batch, steps, warmup, bf16, mssd_log) -> dict:
    ae = SpectrogramAutoencoder(cfg.bass_ae).to(device)
    critics = Critics(cfg.bass_ae, cfg.critic).to(device)
    opt_g = torch.optim.Adam(ae.parameters(), 1e-4, betas=(0.5, 0.9))
    opt_c = torch.optim.Adam(critics.parameters(), 1e-4, betas=(0.5, 0.9))
    seconds = 1.5
    wave = torch.randn(batch, int(seconds * cfg.sample_rate), device=device) * 0.1
    weights = AELossWeights(mssd_log=mssd_log)
    for i in range(warmup + steps):
        if i == warmup:
            _sync(device)
            t0 = time.perf_counter()
        with _autocast(device, bf16):
            loss, _, rec = autoencoder_generator_loss(ae, critics, wave, weights)
        opt_g.zero_grad()
        loss.backward()
        opt_g.step()
        with _autocast(device, bf16):
            c_loss, _ = autoencoder_critic_loss(critics, rec.wave, rec.wave_hat)
        opt_c.zero_grad()
        c_loss.backward()
        opt_c.step()
    _sync(device)
    dt = time.perf_counter() - t0
    return {"model": "autoencoder", "batch": batch, "steps_per_s": steps / dt, "audio_s_per_s": steps * batch * seconds / dt}


def bench_diffusion(cfg, device, batch, steps, warmup, bf16) -> dict:
    net = UNet1d(cfg.unet).to(device)
    opt = torch.optim.AdamW(net.parameters(), 1e-4, betas=(0.9, 0.999))
    frames = cfg.unet.train_frames
    x0 = torch.randn(batch, cfg.unet.latent_dim, frames, device=device)
    cond = torch.randn(batch, cfg.unet.cond_dim, frames, device=device)
    gen = torch.Generator().manual_seed(0)
    for i in range(warmup + steps):
        if i == warmup:
            _sync(device)
            t0 = time.perf_counter()
        with _autocast(device, bf16):
            loss = v_loss(net, x0, cond, 0.15, gen)
        opt.zero_grad()
        loss.backward()
        opt.step()
    _sync(device)
    dt = time.perf_counter() - t0
    seconds = frames * cfg.ratio / cfg.sample_rate
    return {"model": "diffusion", "batch": batch, "steps_per_s": steps / dt, "audio_s_per_s": steps * batch * seconds / dt}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", default="small", choices=["small", "paper"])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--ae-batch", type=int, default=16)
    ap.add_argument("--diffusion-batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--bf16", action="store_true", help="bf16 autocast (default on CUDA)")
    ap.add_argument("--mssd-log", type=float, default=1.0, help="as the small recipe trains (0 = paper only)")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    device = torch.device(a.device)
    bf16 = a.bf16 or device.type == "cuda"
    cfg = preset(a.preset)
    print(f"preset={a.preset} device={device} bf16={bf16} threads={a.threads}")
    for r in (bench_autoencoder(cfg, device, a.ae_batch, a.steps, a.warmup, bf16, a.mssd_log),
              bench_diffusion(cfg, device, a.diffusion_batch, a.steps, a.warmup, bf16)):
        print(f"{r['model']:>12}: batch {r['batch']:3d}  {r['steps_per_s']:7.3f} steps/s  "
              f"{r['audio_s_per_s']:8.1f} audio s/s")


if __name__ == "__main__":
    main()
