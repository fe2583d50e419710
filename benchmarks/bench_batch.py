"""Batch throughput on CPU: a folder of synthetic mixes through `run_batch`.

Prints songs per hour, real-time factor (processing s per audio s), peak memory (RSS) and
the share of wall time in I/O (read + write), encode, diffusion, decode and post-fx.

    python benchmarks/bench_batch.py                       # 10 three-minute mixes (slow)
    python benchmarks/bench_batch.py --songs 2 --seconds 20 --steps 8   # a quick check

``--model`` takes a checkpoint path; without one a random-init ``small`` model is used
(the same network size as the bundled model, so the timings are representative).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf


def make_mixes(folder: Path, songs: int, seconds: float, rate: int = 44100) -> None:
    """Write ``songs`` stereo 24-bit WAV mixes of ``seconds`` (chords + clicks + noise)."""
    rng = np.random.default_rng(0)
    n = int(seconds * rate)
    t = np.arange(n) / rate
    for i in range(songs):
        root = 55 * 2 ** (rng.integers(0, 12) / 12)
        x = sum(np.sin(2 * np.pi * root * r * t) for r in (2, 2.52, 3, 4)) * 0.08
        clicks = (np.sin(2 * np.pi * 2 * t) > 0.999).astype(np.float32) * 0.5
        x = x + clicks + 0.01 * rng.standard_normal(n)
        sf.write(folder / f"song{i:02d}.wav", np.stack([x, x], 1).astype(np.float32), rate, subtype="PCM_24")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--songs", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=180.0)
    ap.add_argument("--steps", type=int, default=None, help="diffusion steps (default: the model's)")
    ap.add_argument("--fx", default="clean")
    ap.add_argument("--model", default=None)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)

    from groundbass.bridge.batch import ModelInfo, find_audio_files, load_generator, plan_jobs, run_batch
    from groundbass.bridge.render import RenderParams, resolve_params
    from groundbass.core import BassGenerator

    with tempfile.TemporaryDirectory(prefix="gb-bench-") as tmp:
        src, out = Path(tmp) / "mixes", Path(tmp) / "stems"
        src.mkdir()
        make_mixes(src, args.songs, args.seconds)
        if args.model:
            gen, info = load_generator(args.model, args.device)
        else:
            gen = BassGenerator.from_preset("small", seed=0, device=args.device)
            info = ModelInfo(gen.model_id, "random", "bench", str(gen.device))
        params = resolve_params(gen, RenderParams(steps=args.steps, fx=args.fx, seed=0))
        jobs = plan_jobs(find_audio_files(src), src, out, params, info)
        out.mkdir()
        t0 = time.perf_counter()
        summary = run_batch(gen, jobs, src, out, info)
        wall = time.perf_counter() - t0

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    st = summary.stage_s
    shares = {"I/O": st.get("read", 0) + st.get("write", 0), "encode": st.get("encode", 0),
              "diffusion": st.get("diffusion", 0), "decode": st.get("decode", 0), "post-fx": st.get("postfx", 0)}
    print(f"device {gen.device}, {gen.precision}; {summary.done} songs of {args.seconds:.0f} s, "
          f"{params.steps} steps, fx {args.fx}; failed {summary.failed}")
    print(f"wall {wall:.1f} s | songs/hour {3600 * summary.done / wall:.1f} | "
          f"real-time factor {wall / max(summary.audio_s, 1e-9):.3f} | peak RSS {peak_mb:.0f} MB")
    print("time share: " + ", ".join(f"{k} {100 * v / wall:.1f}%" for k, v in shares.items())
          + f", other {100 * (wall - sum(shares.values())) / wall:.1f}%")
    return 0 if summary.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
