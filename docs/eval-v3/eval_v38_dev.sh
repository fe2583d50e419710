#!/bin/bash
# [DIFF=run.safetensors] eval_v38_dev.sh TAG : export diff11's current EMA U-Net (or DIFF's) on the bundled
# v3.6.1's autoencoders, with a note basis fitted on cache910 and v3.6.1's sampling defaults, as
# small-synth-v3.8-TAG; then its style eval (references; the figures without them are in it too) on
# ood4_dev, ood_dev and synth9's valid split (in domain). Run in the runs folder that
# docs/training/session_v38.sh made; reports in reports/{dev4,dev24,ind9v}_v38TAG_style.
# The baseline: bash eval_style_dev.sh small-synth-v3.6.1.safetensors v361 "ood4_dev ood_dev synth9"
TAG=$1
M=small-synth-v3.8-$TAG.safetensors
[ -f $M ] || groundbass export --from-model small-synth-v3.6.1.safetensors --diffusion ${DIFF:-diff11/diffusion.safetensors} \
  --out $M --name small-synth-v3.8-$TAG --sampler dpmpp2m --steps 16 --cfg 6 --phi 0 --style-cfg 2 --grounding 0.5 \
  --note-basis cache910
bash "$(dirname "$0")/eval_style_dev.sh" $M v38$TAG "ood4_dev ood_dev synth9"
