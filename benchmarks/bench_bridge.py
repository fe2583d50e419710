"""Benchmark the OSC bridge (all traffic on 127.0.0.1, bounded).

1. ping round trip, p50 / p99 in ms, while idle and while a job is generating
   (target: p99 under 100 ms while generating);
2. the bridge's overhead over calling BassGenerator.generate directly for one selection
   (default 20 s; target: under 5 %). Also shown: render_file alone (file I/O, post-fx).

    python benchmarks/bench_bridge.py                      # random-init `small` model
    python benchmarks/bench_bridge.py --model ckpt.safetensors --seconds 20 --steps 16 --repeats 3
    python benchmarks/bench_bridge.py --quick              # a smoke run (seconds)
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from groundbass.bridge.osc import protocol as P
from groundbass.bridge.osc.client import BridgeClient
from groundbass.bridge.osc.server import BridgeServer
from groundbass.bridge.render import RenderParams, render_file
from groundbass.core import BassGenerator

RATE = 44100  # Hz


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def ping_rtts(client: BridgeClient, n: int, gap_s: float = 0.005) -> list[float]:
    """n sequential ping round trips in ms (replies other than pong are skipped)."""
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        client.send(P.PING)
        while True:
            msg = client.receive(2.0)
            if msg is None:
                raise RuntimeError("ping lost")
            if msg[0] == P.PONG:
                break
        out.append((time.perf_counter() - t0) * 1e3)
        time.sleep(gap_s)
    return out


def wait_done(client: BridgeClient, job: str, timeout: float = 600.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = client.receive(deadline - time.monotonic())
        if msg and msg[1] and msg[1][0] == job:
            if msg[0] == P.DONE:
                return
            if msg[0] in (P.ERROR, P.CANCELLED):
                raise RuntimeError(f"{job}: {msg}")
    raise TimeoutError(job)


def on_thread(fn) -> float:
    """Seconds ``fn()`` takes on a fresh thread (the bridge's worker is a thread too; on a
    busy CPU, torch on the main thread and on a worker thread can time differently)."""
    box = []
    th = threading.Thread(target=lambda: box.append(_timed(fn)))
    th.start()
    th.join()
    return box[0]


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="checkpoint path (default: random-init `small` preset)")
    ap.add_argument("--seconds", type=float, default=20.0, help="selection length in s")
    ap.add_argument("--steps", type=int, default=16, help="diffusion steps per job")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per path (median reported)")
    ap.add_argument("--pings", type=int, default=300, help="pings per latency measurement")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    ap.add_argument("--quick", action="store_true", help="smoke run: 4 s, 2 steps, 1 repeat, 50 pings")
    a = ap.parse_args()
    if a.quick:
        a.seconds, a.steps, a.repeats, a.pings = 4.0, 2, 1, 50
    torch.set_num_threads(a.threads)
    gen = BassGenerator.from_pretrained(a.model, device="cpu") if a.model else BassGenerator.from_preset("small")

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t = np.arange(int(a.seconds * RATE)) / RATE
        mix = (0.3 * np.sin(2 * np.pi * 110 * t) + 0.2 * np.sin(2 * np.pi * 277 * t)).astype(np.float32)
        mix = np.stack([mix, mix], axis=1)
        mix_path = tmp / "mix.wav"
        sf.write(mix_path, mix, RATE, subtype="PCM_24")
        gen.generate(mix[: RATE], RATE, steps=1, seed=0)  # warm-up

        inside: list[float] = []  # render_file time inside the bridge's worker

        def timed_render(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return render_file(*args, **kwargs)
            finally:
                inside.append(time.perf_counter() - t0)

        with BridgeServer(gen, port=0, roots=[tmp], render_file=timed_render) as server, \
                BridgeClient(*server.address) as c:
            idle = ping_rtts(c, a.pings)
            # a job long enough to ping against
            c.send(P.GENERATE, "busy", str(mix_path), str(tmp / "busy.wav"), "steps", max(a.steps, 8) * 4, "seed", 0)
            while True:
                msg = c.receive(30)
                if msg and msg[0] == P.PROGRESS and msg[1][2] == "diffusion":
                    break
            busy = ping_rtts(c, a.pings)
            still_running = server.queue.snapshot()["running"] is not None
            c.send(P.CANCEL, "busy")
            time.sleep(0.5)
            while c.receive(0.2) is not None:
                pass

            inside.clear()
            direct, rendered, bridged = [], [], []
            for r in range(a.repeats):
                direct.append(on_thread(lambda: gen.generate(mix, RATE, steps=a.steps, seed=r)))
                rendered.append(on_thread(lambda: render_file(gen, mix_path, tmp / f"r{r}.wav",
                                                              RenderParams(steps=a.steps, seed=r))))
                t0 = time.perf_counter()
                c.send(P.GENERATE, f"b{r}", str(mix_path), str(tmp / f"b{r}.wav"), "steps", a.steps, "seed", r)
                wait_done(c, f"b{r}")
                bridged.append(time.perf_counter() - t0)

    print(f"model {gen.model_id} on {gen.device}, {a.threads} threads; selection {a.seconds:g} s, {a.steps} steps")
    print(f"ping idle:       p50 {percentile(idle, 50):6.2f} ms  p99 {percentile(idle, 99):6.2f} ms  (n={len(idle)})")
    print(f"ping generating: p50 {percentile(busy, 50):6.2f} ms  p99 {percentile(busy, 99):6.2f} ms  "
          f"(n={len(busy)}, job still running at the end: {still_running})")
    # CPU time is shared on small machines: the minimum of interleaved runs is the least noisy figure
    for name, pick in (("min", min), ("median", statistics.median)):
        d, rf, b = pick(direct), pick(rendered), pick(bridged)
        print(f"{name:6s} of {a.repeats}: direct generate {d:.3f} s | render_file {rf:.3f} s | "
              f"bridge round trip {b:.3f} s | overhead vs generate {100 * (b - d) / d:+.1f} %, "
              f"vs render_file {100 * (b - rf) / rf:+.1f} %")
    queue_osc = [b - i for b, i in zip(bridged, inside)]
    print(f"bridge's own cost (round trip minus render_file inside the worker): "
          f"min {1e3 * min(queue_osc):.1f} ms, median {1e3 * statistics.median(queue_osc):.1f} ms")


if __name__ == "__main__":
    main()
