#!/bin/bash
# [DIFF=run.safetensors] eval_run_dev.sh VERSION RUN CACHE TAG : export RUN's current EMA U-Net (or DIFF's) on
# the bundled v3.6.1's autoencoders, with a note basis fitted on CACHE and v3.6.1's sampling defaults, as
# small-synth-VERSION-TAG; then its style eval (references; the figures without them are in it too) on
# ood4_dev, ood_dev and synth9's valid split (in domain). Run in the runs folder that
# docs/training/session_v38.sh or session_v39.sh made; reports in reports/{dev4,dev24,ind9v}_vNNTAG_style
# (VERSION v3.8 -> v38). v3.8: `eval_run_dev.sh v3.8 diff11 cache910 final`; v3.9: `... v3.9 diff12 cache910c final`.
# The baseline: bash eval_style_dev.sh small-synth-v3.6.1.safetensors v361 "ood4_dev ood_dev synth9"
VERSION=$1; RUN=$2; CACHE=$3; TAG=$4
M=small-synth-$VERSION-$TAG.safetensors
[ -f $M ] || groundbass export --from-model small-synth-v3.6.1.safetensors --diffusion ${DIFF:-$RUN/diffusion.safetensors} \
  --out $M --name small-synth-$VERSION-$TAG --sampler dpmpp2m --steps 16 --cfg 6 --phi 0 --style-cfg 2 --grounding 0.5 \
  --note-basis $CACHE
bash "$(dirname "$0")/eval_style_dev.sh" $M ${VERSION//./}$TAG "ood4_dev ood_dev synth9"
