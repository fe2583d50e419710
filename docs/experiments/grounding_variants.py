"""Experiment: where style grounding enters the DDIM step, and how strong it is.

Two ways to use a grounded estimate ``x0_g = ground(x0_hat)`` in a DDIM step t -> s:

- ``A`` (groundbass before 2026-11): the noise estimate is re-derived from the grounded
  estimate, ``eps = (z - alpha_t x0_g) / sigma_t``; the step then mostly undoes the shift;
- ``B`` (the shipped sampler, :func:`groundbass.core.diffusion.sample_ddim` with ``refine``):
  the model's own noise estimate, taken before grounding, so the next latent moves by
  ``alpha_s`` times the shift (a signal-rate/noise-rate DDIM step, the paper's wording).

For N songs of a split (12-s excerpts from the middle), each variant ``A<g>`` / ``B<g>`` (g =
strength) and ``none`` is sampled with the same seed; printed per variant: mean MFCC cosine
distance to the style reference (another song's true bass, levelled as the generator levels
it), its reduction against ``none``, and the chord-tone rate of the result.

    python docs/experiments/grounding_variants.py --data runs/synth/manifest.jsonl --split valid \\
        --songs 10 --steps 32 --variants none,A1,B1,B0.4,B0.2
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from groundbass.core.audio import level_gain
from groundbass.core.data.manifest import read_manifest
from groundbass.core.data.song_audio import read_song_part
from groundbass.core.diffusion import alpha_sigma
from groundbass.core.guidance import ground, guided_denoiser
from groundbass.core.metrics import chord_tone_rate, cosine_distance, load_chords, mfcc_embedding
from groundbass.core.pipeline import BassGenerator


def sample(gen: BassGenerator, cond: torch.Tensor, seed: int, mu: torch.Tensor | None, variant: str, *,
           steps: int, cfg: float, phi: float) -> torch.Tensor:
    """DDIM with grounding variant ``A<g>`` or ``B<g>`` (or none when ``mu`` is None)."""
    z = torch.randn(gen.config.bass_ae.latent_dim, cond.shape[-1], generator=torch.Generator().manual_seed(seed))[None]
    den = guided_denoiser(lambda zz, t, c: gen.denoiser(zz, t, c).float(), cond, cfg, phi)
    ts = torch.linspace(1.0, 0.0, steps + 1, dtype=torch.float64)
    x0 = z
    for k in range(steps):
        (a_t, s_t), (a_s, s_s) = alpha_sigma(ts[k]), alpha_sigma(ts[k + 1])
        x0 = den(z, ts[k].float())
        eps = (z - float(a_t) * x0) / float(s_t)
        if mu is not None:
            x0 = ground(x0, mu, float(s_t), float(variant[1:] or 1.0))
            if variant[0] == "A":
                eps = (z - float(a_t) * x0) / float(s_t)
        if k + 1 < steps:
            z = float(a_s) * x0 + float(s_s) * eps
    return x0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--model", default="default")
    ap.add_argument("--split", default="valid")
    ap.add_argument("--songs", type=int, default=10)
    ap.add_argument("--steps", type=int, default=32)
    ap.add_argument("--cfg", type=float, default=2.0)
    ap.add_argument("--phi", type=float, default=0.7)
    ap.add_argument("--variants", default="none,A1,B1")
    args = ap.parse_args()

    gen = BassGenerator.from_pretrained(args.model, device="cpu")
    songs = [s for s in read_manifest(args.data) if s.split == args.split and s.chords][: args.songs]
    rate, n, sec = gen.sample_rate, len(songs), 12.0
    variants = args.variants.split(",")
    dist = {v: [] for v in variants}
    ctr = {v: [] for v in variants}
    mixes, trues, starts = [], [], []
    for s in songs:
        start = max(0.0, (s.seconds - sec) / 2)
        mix = read_song_part(s, "mix", rate, start, sec)
        g = level_gain(mix, gen.config.mix_rms_db)
        mixes.append(mix * g)
        trues.append(read_song_part(s, "bass", rate, start, sec) * g)
        starts.append(start)
    with torch.inference_mode():
        for i in range(n):
            ref = trues[(i + 2) % n]
            ref = ref * level_gain(ref, gen.config.style_rms_db)
            cond, mu = gen.encode_mix(mixes[i]), gen.style_mean(ref, rate)
            e_ref, chart = mfcc_embedding(ref, rate), load_chords(songs[i].chords)
            for v in variants:
                bass = gen.decode_bass(sample(gen, cond, i, None if v == "none" else mu, v, steps=args.steps,
                                              cfg=args.cfg, phi=args.phi), len(mixes[i]))
                dist[v].append(cosine_distance(e_ref, mfcc_embedding(bass, rate)))
                ctr[v].append(chord_tone_rate(bass, rate, chart, starts[i]))
    base = np.mean(dist["none"]) if "none" in dist else float("nan")
    for v in variants:
        print(f"{v:6s} cosine {np.mean(dist[v]):.4f}  reduction {1 - np.mean(dist[v]) / base:.3f}  "
              f"chord-tone rate {np.nanmean(ctr[v]):.3f}")


if __name__ == "__main__":
    main()
