"""Generation on a GPU: the `paper` preset (random weights: the speed of a network that size) and
the bundled default model, a three-minute mix, 64 DDIM steps with guidance, per precision.

    python benchmarks/bench_gpu.py                      # paper and default, fp32 and bf16
    python benchmarks/bench_gpu.py --models paper --seconds 180 --variations 1 4

Prints one line per (model, precision, variations): wall time of the whole ``generate`` call (the
mix already in memory; resampling, features, encode, 64 steps with classifier-free guidance and
decode), the real-time factor, and the peak GPU memory. Each figure is the median of
``--repeats`` calls after one warm-up call. Needs a CUDA GPU.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from groundbass.core import BassGenerator

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_generate import cpu_description  # noqa: E402


def _mix(seconds: float, rate: int = 44100) -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * rate)) / rate
    x = sum(np.sin(2 * np.pi * 110 * r * t) for r in (1, 1.26, 1.5, 2)) * 0.08
    x = x + 0.01 * rng.standard_normal(len(t))
    return np.stack([x, x], 1).astype(np.float32)


def _load(name: str, precision: str, device: str) -> BassGenerator:
    if name in ("paper", "small"):
        return BassGenerator.from_preset(name, device=device, precision=precision)
    return BassGenerator.from_pretrained(name, device=device, precision=precision)


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["paper", "default"])
    ap.add_argument("--precisions", nargs="+", default=["bf16", "fp32"])
    ap.add_argument("--variations", nargs="+", type=int, default=[1, 4])
    ap.add_argument("--seconds", type=float, default=180.0)
    ap.add_argument("--steps", type=int, default=64)
    ap.add_argument("--cfg", type=float, default=2.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--device", default="cuda", help="cpu only to check the script itself")
    args = ap.parse_args(argv)
    cuda = args.device == "cuda"
    if cuda and not torch.cuda.is_available():
        print("bench_gpu.py needs a CUDA GPU", file=sys.stderr)
        return 2
    gpu = torch.cuda.get_device_name() if cuda else "no GPU"
    print(f"# {gpu}, torch {torch.__version__}, host CPU {cpu_description()}")
    mix = _mix(args.seconds)
    for name in args.models:
        for prec in args.precisions:
            gen = _load(name, prec, args.device)
            for var in args.variations:
                call = dict(steps=args.steps, cfg=args.cfg, sampler="ddim", seed=0, variations=var, tuning=0.0)
                gen.generate(mix, 44100, **call)  # warm-up
                _sync(args.device)
                if cuda:
                    torch.cuda.reset_peak_memory_stats()
                times = []
                for _ in range(args.repeats):
                    t0 = time.perf_counter()
                    gen.generate(mix, 44100, **call)
                    _sync(args.device)
                    times.append(time.perf_counter() - t0)
                wall = statistics.median(times)
                row = dict(model=name, precision=prec, variations=var, seconds=args.seconds, steps=args.steps,
                           wall_s=round(wall, 3), realtime_x=round(args.seconds * var / wall, 1),
                           peak_gpu_gb=round(torch.cuda.max_memory_allocated() / 2**30, 2) if cuda else None)
                print(json.dumps(row), flush=True)
            del gen
            if cuda:
                torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
