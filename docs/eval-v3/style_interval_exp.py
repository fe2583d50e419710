"""Experiment (not shipped): timbre guidance only at times t <= T_MAX (guidance in a limited
interval, Kynkaenniemi et al. 2024); earlier steps guide on the mix alone.
python style_interval_exp.py T_MAX -- <groundbass eval args>

Measured with v3.2 on ood4_dev (24 songs x 12 s, the style evaluation), in the runs folder:
  python style_interval_exp.py 0.5 -- eval --seconds 12 --no-ae-figures --device cpu \
      --data ood4_dev/manifest.jsonl --split all --songs 24 --processing heldout \
      --model small-synth-v3.2.safetensors --style-cfg 3 --out reports/dev4_v32_int0.5_sc3
timbre distance reduction 7.7 % (style_cfg 3) and 9.3 % (style_cfg 5) against 26.6 % with
style_cfg 2 over every step (dev4_v32_int0.5_sc*.json, dev4_v32_style2.json): this model sets
the timbre early, at high noise, so the idea is not shipped."""
import sys

import groundbass.core.pipeline as P
from groundbass.bridge.cli import main
from groundbass.core import guidance as G

T_MAX = float(sys.argv[1])
_orig = G.guided_denoiser


def interval_guided(model, cond, w, phi=0.0, style=None, w_style=1.0):
    with_style = _orig(model, cond, w, phi, style=style, w_style=w_style)
    if style is None:
        return with_style
    without = _orig(model, cond, w, phi)

    def denoise(z, t):
        return with_style(z, t) if float(t) <= T_MAX else without(z, t)
    return denoise


P.guided_denoiser = interval_guided
main(sys.argv[3:], prog_name="groundbass")
