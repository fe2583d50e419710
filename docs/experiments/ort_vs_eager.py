"""Eager torch vs ONNX Runtime on the CPU for the U-Net, the mix encoder and the bass decoder's
network of the bundled model, at the sizes of a 3-minute mix; median of 5 runs and max |diff|.

    pip install onnxruntime onnx onnxscript
    python docs/experiments/ort_vs_eager.py [--edge-fix]

``--edge-fix`` replaces the in-place edge correction of TimeConcatConv by an out-of-place one
before export (the TorchScript exporter gets the in-place version wrong). Not a dependency of
groundbass: docs/performance.md says why ONNX Runtime is not used."""
import statistics
import sys
import time

import numpy as np
import onnxruntime as ort
import torch
import torch.nn.functional as F
from experiment_common import Call, cpu_name
from groundbass.core import unet as unet_module
from groundbass.core.pipeline import BassGenerator


def _edge_fixed_forward(self, x, temb):
    w = self.weight.to(x.dtype)
    out = F.conv1d(x, w[:, : self.c_in], self.bias.to(x.dtype), padding=1)
    taps = torch.einsum("oik,bi->bok", w[:, self.c_in:], temb.to(x.dtype))
    n = out.shape[-1]
    return out + taps.sum(-1, keepdim=True) - F.pad(taps[:, :, :1], (0, n - 1)) - F.pad(taps[:, :, 2:], (n - 1, 0))


if "--edge-fix" in sys.argv:
    unet_module.TimeConcatConv.forward = _edge_fixed_forward
torch.set_num_threads(2)
g = BassGenerator.from_pretrained("default", device="cpu", precision="fp32")
T = int(180 * g.latent_rate)
cpu = cpu_name()
print(f"latent frames {T}, CPU {cpu}")


def bench(f, n=5):
    f()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run(name, module, inputs, names, dynamic):
    module.eval()
    path = f"/tmp/groundbass-{name}.onnx"
    with torch.inference_mode():
        ref = module(*inputs)
        ref = ref[0] if isinstance(ref, tuple) else ref
        t_eager = bench(lambda: module(*inputs))
    torch.onnx.export(module, tuple(inputs), path, input_names=names, output_names=["out"],
                      dynamic_axes=dynamic, opset_version=17, dynamo=False)
    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads = 2, 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    feed = {n: x.numpy() for n, x in zip(names, inputs)}
    diff = np.abs(sess.run(None, feed)[0] - ref.numpy()).max()
    t_ort = bench(lambda: sess.run(None, feed))
    print(f"{name}: eager {t_eager * 1000:.1f} ms  ort {t_ort * 1000:.1f} ms  speed-up {t_eager / t_ort:.2f}x  "
          f"max|diff| {diff:.2e}")


cfg = g.config.unet
z, t = torch.randn(2, cfg.latent_dim, T), torch.full((2,), 0.5)
c, s = torch.randn(2, cfg.cond_dim + cfg.feature_dim, T), torch.randn(2, cfg.style_dim)
run("unet", Call(g.denoiser.net), [z, t, c, s], ["z", "t", "c", "s"], {"z": {2: "T"}, "c": {2: "T"}})
enc = g.mix_ae.encoder
x = torch.randn(1, enc.inp.in_channels, 1056 * g.config.mix_ae.frames_per_latent)
run("mix_encoder", enc, [x], ["x"], {"x": {2: "F"}})
latent = torch.randn(1, g.config.bass_ae.latent_dim, 544)
run("bass_decoder", Call(g.bass_ae.decoder), [latent], ["latent"], {"latent": {2: "T"}})
