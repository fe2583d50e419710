"""Eager torch vs ``torch.compile`` (inductor, CPU C++ code generation) for the U-Net, the mix
encoder and the bass decoder's network of the bundled model at the sizes of a 3-minute mix:
the first call (compilation included), the median of 5 later calls, and max |diff|; then the
first call at another length (a new song length: a recompilation unless ``--dynamic``).

    python docs/experiments/compile_vs_eager.py [--dynamic] [--mode default|max-autotune-no-cudagraphs]

Needs a C++ compiler at run time (inductor's CPU backend). Not used by groundbass:
docs/performance.md says what it measured."""
import argparse
import statistics
import time

import torch
from experiment_common import Call, cpu_name
from groundbass.core.pipeline import BassGenerator

ap = argparse.ArgumentParser()
ap.add_argument("--dynamic", action="store_true")
ap.add_argument("--mode", default="default")
a = ap.parse_args()
torch.set_num_threads(2)
g = BassGenerator.from_pretrained("default", device="cpu", precision="fp32")
T = int(180 * g.latent_rate)
cpu = cpu_name()
print(f"latent frames {T}, CPU {cpu}, torch {torch.__version__}, dynamic={a.dynamic}, mode={a.mode}")


def timed(f):
    t0 = time.perf_counter()
    out = f()
    return time.perf_counter() - t0, out


def run(name, module, make_inputs, sizes):
    module.eval()
    with torch.inference_mode():
        inputs = make_inputs(sizes[0])
        ref = module(*inputs)
        eager = statistics.median(timed(lambda: module(*inputs))[0] for _ in range(5))
        compiled = torch.compile(module, dynamic=a.dynamic, mode=a.mode)
        first, out = timed(lambda: compiled(*inputs))
        steady = statistics.median(timed(lambda: compiled(*inputs))[0] for _ in range(5))
        diff = (out - ref).abs().max().item()
        other, _ = timed(lambda: compiled(*make_inputs(sizes[1])))
    print(f"{name}: eager {eager * 1000:.1f} ms  compiled {steady * 1000:.1f} ms  speed-up {eager / steady:.2f}x  "
          f"first call {first:.1f} s  another length {other:.1f} s  max|diff| {diff:.2e}")


cfg = g.config.unet
run("unet", Call(g.denoiser.net),
    lambda n: [torch.randn(2, cfg.latent_dim, n), torch.full((2,), 0.5),
               torch.randn(2, cfg.cond_dim + cfg.feature_dim, n), torch.randn(2, cfg.style_dim)], (T, T - 37))
enc = g.mix_ae.encoder
fpl = g.config.mix_ae.frames_per_latent
run("mix_encoder", enc, lambda n: [torch.randn(1, enc.inp.in_channels, n * fpl)], (1056, 914))
run("bass_decoder", Call(g.bass_ae.decoder), lambda n: [torch.randn(1, g.config.bass_ae.latent_dim, n)], (544, 430))
