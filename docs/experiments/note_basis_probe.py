"""The first look at the note basis (before core/train/note_basis.py), kept as the record of the
exploratory figures in docs/eval-v3/dev4_v36c_style_g*_proj12.json.

1. ``python note_basis_probe.py fit 150`` (in the runs folder): a 12-way torch logistic probe from
   normalised v3.6 bass-latent frames to the pitch class of the bass autoencoder's pitch head on 150
   training songs of cache678 -> 95 % held-out accuracy (least squares: 78 %; chance 10 %); its 12
   directions hold 42 % of the latent's variance; saved as exp/pitch_basis_logistic.safetensors.
2. ``PITCH_BASIS=exp/pitch_basis_logistic.safetensors PITCH_K=12 python note_basis_probe.py eval
   --style-eval --grounding G ...`` runs ``groundbass eval`` with grounding projected off those
   directions (PITCH_K=0: the paper's rule).
The product fits the basis with scikit-learn instead (11 directions: its L2-penalised multinomial
model has no free common component); its figures are the ``*_v36nb_*`` JSONs.
"""
import json
import os
import random
import sys

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file


def fit(n: int) -> None:
    from groundbass.core import BassGenerator

    torch.set_num_threads(1)
    gen = BassGenerator.from_pretrained("small-synth-v3.6.safetensors", device="cpu")
    rows = [json.loads(line) for line in open("cache678/index.jsonl")]
    rows = [r for r in rows if r["split"] == "train"]
    random.Random(0).shuffle(rows)
    fpl = gen.config.bass_ae.frames_per_latent
    zs, ys = [], []
    with torch.inference_mode():
        for r in rows[:n]:
            raw = load_file("cache678/" + r["file"])["bass"][None]
            cls = gen.bass_ae.decode_pitch(raw)[0]
            frames = raw.shape[-1]
            cls = cls[: frames * fpl].reshape(frames, fpl)
            z = ((raw[0] - gen.stats.bass_mean[:, None]) / gen.stats.bass_std[:, None]).T
            for t in range(frames):
                vals, counts = torch.unique(cls[t], return_counts=True)
                c = int(vals[counts.argmax()])
                if c == 0 or counts.max() < fpl * 0.75:
                    continue
                zs.append(z[t].numpy())
                ys.append((c - 1 + gen.config.bass_ae.pitch_low) % 12)
    z, y = torch.tensor(np.array(zs), dtype=torch.float32), torch.tensor(ys)
    cut = int(0.8 * len(y))
    lin = torch.nn.Linear(z.shape[1], 12)
    opt = torch.optim.Adam(lin.parameters(), 0.05)
    for _ in range(300):
        opt.zero_grad()
        F.cross_entropy(lin(z[:cut]), y[:cut]).backward()
        opt.step()
    with torch.no_grad():
        print("frames", len(y), "held-out accuracy", (lin(z[cut:]).argmax(1) == y[cut:]).float().mean().item())
    vt = np.linalg.svd(lin.weight.detach().numpy(), full_matrices=False)[2]
    os.makedirs("exp", exist_ok=True)
    save_file({"basis": torch.tensor(vt, dtype=torch.float32)}, "exp/pitch_basis_logistic.safetensors")


def run_eval(argv: list[str]) -> None:
    from groundbass.bridge.cli import main
    from groundbass.core import guidance

    basis = load_file(os.environ["PITCH_BASIS"])["basis"][: int(os.environ.get("PITCH_K", 12))]

    def ground(x, style_mean, beta, g=1.0, note_basis=None):  # the experiment's basis replaces any stored one
        if g == 0:
            return x
        pull = style_mean.to(x.dtype).reshape(-1, x.shape[1], 1) - x.mean(dim=-1, keepdim=True)
        pull = pull - torch.einsum("kc,bkt->bct", basis, torch.einsum("kc,bct->bkt", basis, pull))
        return x + g * beta * beta * pull

    guidance.ground = ground
    sys.argv = ["groundbass", "eval", *argv]
    main()


if __name__ == "__main__":
    if sys.argv[1] == "fit":
        fit(int(sys.argv[2]) if len(sys.argv) > 2 else 150)
    else:
        run_eval(sys.argv[2:])
