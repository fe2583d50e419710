"""Generation speed and memory: optimised path vs a naive path.

    python benchmarks/bench_generate.py --preset small --seconds 180 --steps 64

Optimised path = ``BassGenerator.generate``: whole song in one U-Net pass per step, cond
and uncond batched in one forward pass, cached DPB biases, bf16 autocast where the
hardware has fast bf16 (CUDA; CPUs with AMX), chunked autoencoder passes.
Naive path = the same model, cond and uncond as two separate forward passes, and the song
cut into 256-frame latent windows with 64 frames of overlap (cross-faded), each sampled
separately.

Each path runs in its own subprocess so that its peak resident memory (ru_maxrss) is its
own. Prints the real-time factor (audio seconds per wall second), wall time and peak RSS
of each, and the speed ratio. Weights are random (speed does not depend on them).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import sys
import time

import numpy as np
import torch


def _mix(seconds: float, sr: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    n = int(seconds * sr)
    t = np.arange(n) / sr
    tone = 0.2 * np.sin(2 * np.pi * 110 * t) + 0.1 * np.sin(2 * np.pi * 330 * t)
    return (tone[:, None] + 0.05 * rng.standard_normal((n, 2))).astype(np.float32)


def naive_generate(gen, mix: np.ndarray, sr: int, *, steps: int, cfg: float, phi: float, seed: int,
                   window: int = 256, overlap: int = 64) -> np.ndarray:
    """The straightforward implementation the optimised path is measured against."""
    from groundbass.core.audio import fit_length, resample, to_layout, to_mono
    from groundbass.core.diffusion import sample_ddim
    from groundbass.core.guidance import guide, rescale_std

    mono = resample(to_mono(mix), sr, gen.sample_rate)
    cond = gen.encode_mix(mono)
    frames = cond.shape[-1]
    dim = gen.config.bass_ae.latent_dim
    out = torch.zeros(1, dim, frames, device=gen.device)
    weight = torch.zeros(1, 1, frames, device=gen.device)
    hop = window - overlap
    starts = list(range(0, max(1, frames - overlap), hop))
    gen_noise = torch.Generator().manual_seed(seed)
    for start in starts:
        stop = min(start + window, frames)
        c = cond[..., start:stop]
        zeros = torch.zeros_like(c)

        def denoise(z, t, c=c, zeros=zeros):
            with torch.inference_mode(), gen._autocast():
                x_c = gen.denoiser(z, t, c).float()
                x_u = gen.denoiser(z, t, zeros).float()
            return rescale_std(guide(x_c, x_u, cfg), x_c, phi)

        noise = torch.randn(1, dim, stop - start, generator=gen_noise).to(gen.device)
        x = sample_ddim(denoise, noise, steps)
        ramp = torch.ones(stop - start, device=gen.device)
        n_fade = min(overlap, stop - start)
        if start > 0:
            ramp[:n_fade] = torch.linspace(0, 1, n_fade + 2, device=gen.device)[1:-1]
        out[..., start:stop] += x * ramp
        weight[..., start:stop] += ramp
    latent = out / weight.clamp_min(1e-6)
    bass = gen.decode_bass(latent, len(mono))
    return to_layout(fit_length(resample(bass, gen.sample_rate, sr), mix.shape[0]), mix.shape[1])


def _run(path: str, args: dict, queue) -> None:
    torch.set_num_threads(args["threads"])
    from groundbass.core import BassGenerator

    gen = BassGenerator.from_preset(args["preset"], device=args["device"], precision=args["precision"])
    sr = 44100
    mix = _mix(args["seconds"], sr)
    warm = _mix(5.0, sr)  # warm-up: one short call so one-time costs are not timed
    kw = dict(steps=2, cfg=args["cfg"], phi=args["phi"], seed=0)
    gen.generate(warm, sr, **kw) if path == "optimised" else naive_generate(gen, warm, sr, **kw)
    if gen.device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    kw["steps"] = args["steps"]
    bass = gen.generate(mix, sr, **kw) if path == "optimised" else naive_generate(gen, mix, sr, **kw)
    if gen.device.type == "cuda":
        torch.cuda.synchronize()
    wall = time.perf_counter() - t0
    assert bass.shape == mix.shape
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    gpu_mb = torch.cuda.max_memory_allocated() / 2**20 if gen.device.type == "cuda" else None
    queue.put({"path": path, "wall_s": wall, "rtf": args["seconds"] / wall, "peak_rss_mb": peak_mb,
               "peak_gpu_mb": gpu_mb, "device": str(gen.device), "precision": gen.precision})


def measure(path: str, args: dict) -> dict:
    """Run one path in a fresh subprocess and return its figures."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_run, args=(path, args, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", default="small", choices=["small", "paper"])
    ap.add_argument("--seconds", type=float, default=180.0)
    ap.add_argument("--steps", type=int, default=64)
    ap.add_argument("--cfg", type=float, default=2.0)
    ap.add_argument("--phi", type=float, default=0.7)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--skip-naive", action="store_true")
    ap.add_argument("--json", action="store_true", help="print one JSON line instead of a table")
    a = vars(ap.parse_args(argv))
    results = [measure("optimised", a)]
    if not a["skip_naive"]:
        results.append(measure("naive", a))
    if a["json"]:
        print(json.dumps({"args": a, "results": results}))
        return 0
    print(f"preset={a['preset']} audio={a['seconds']:.0f}s steps={a['steps']} cfg={a['cfg']} phi={a['phi']} "
          f"threads={a['threads']}")
    for r in results:
        gpu = f"  peak GPU {r['peak_gpu_mb']:.0f} MB" if r["peak_gpu_mb"] else ""
        print(f"{r['path']:>9}: {r['wall_s']:7.2f} s wall  {r['rtf']:6.2f}x real time  "
              f"peak RSS {r['peak_rss_mb']:.0f} MB{gpu}  [{r['device']}, {r['precision']}]")
    if len(results) == 2:
        print(f"    ratio: optimised is {results[1]['wall_s'] / results[0]['wall_s']:.2f}x faster than naive")
    return 0


if __name__ == "__main__":
    sys.exit(main())
