#!/bin/bash
# [DIFF=run.safetensors] eval_v37_dev.sh TAG : export diff9's current EMA U-Net (or DIFF's) with the note basis (fitted on cache678) and the
# v3.7 sampling defaults as small-synth-v3.7-TAG, then its style eval (references, which includes the
# figures without them) on the three dev sets: ood4_dev, ood_dev and synth8's valid split (in domain).
# Run in the runs folder; reports in reports/{dev4,dev24,ind8v}_v37TAG_style.
# Tags: d = diff9 at step 36,000 (after the cosine decay), c27 = DIFF=diff9_step27096.safetensors (before it).
TAG=$1
M=small-synth-v3.7-$TAG.safetensors
[ -f $M ] || groundbass export --from-model small-synth-v3.2.1.safetensors --diffusion ${DIFF:-diff9/diffusion.safetensors} \
  --out $M --name small-synth-v3.7-$TAG --sampler dpmpp2m --steps 16 --cfg 6 --phi 0 --style-cfg 2 --grounding 0.5 \
  --note-basis cache678
bash "$(dirname "$0")/eval_style_dev.sh" $M v37$TAG "ood4_dev ood_dev synth8"
