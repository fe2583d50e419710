#!/bin/bash
# Timbre guidance weight on the out-of-domain dev set (sampler/steps as chosen: $2 $3).
M=${1:-small-synth-v3.1.safetensors}
SAMPLER=${2:-dpmpp2m}
STEPS=${3:-16}
E="groundbass eval --data ood_dev/manifest.jsonl --split all --songs 12 --seconds 12 --processing heldout --no-ae-figures --device cpu --model $M --sampler $SAMPLER --steps $STEPS"
for sc in 1 2 3; do
  $E --out reports/dev_style$sc --style-cfg $sc > reports/dev_style$sc.txt 2>&1
done
echo STYLE_DONE
