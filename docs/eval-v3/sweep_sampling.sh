#!/bin/bash
# Dev-set sweep of the sampling defaults (cfg / phi, then style_cfg) of a model, run in the runs folder:
#   bash sweep_sampling.sh MODEL SET CFG:PHI [CFG:PHI ...]
#     SET = ood_dev (24 songs, no style references) or ood4_dev (24 songs, with style references)
#     STYLE_CFG=4 bash sweep_sampling.sh ...   also sets the timbre guidance weight (file suffix _scN)
#     GROUNDING=0.1 bash sweep_sampling.sh ...  and the paper's grounding of the referenced call (suffix _gN)
# Writes reports/<dev24|dev4>_<model tag>_cfg<C>_phi<P>[_scN]/ and prints the figures used for the choice.
# v3.2.1's defaults (cfg 6, phi 0, style_cfg 4) came from:
#   bash sweep_sampling.sh small-synth-v3.2.safetensors ood_dev 3:0.7 4.5:0.7 6:0.7 8:0.7 12:0.7 6:0.9 6:0.5 8:0.5 \
#        6:0.3 8:0.3 6:0 5:0 8:0
#   bash sweep_sampling.sh small-synth-v3.2.safetensors ood4_dev 6:0.3 6:0
#   for sc in 4 6 8; do STYLE_CFG=$sc bash sweep_sampling.sh small-synth-v3.2.safetensors ood4_dev 6:0; done
set -e
MODEL=$1; SET=$2; shift 2
TAG=$(basename "$MODEL" .safetensors | sed 's/^small-synth-//; s/\.//g')
E="groundbass eval --seconds 12 --no-ae-figures --device cpu --data $SET/manifest.jsonl --split all --songs 24 --processing heldout --model $MODEL"
if [ "$SET" = ood_dev ]; then E="$E --no-style-eval"; PRE=dev24; else PRE=dev4; fi
SUF=""; [ -n "$STYLE_CFG" ] && { E="$E --style-cfg $STYLE_CFG"; SUF="_sc$STYLE_CFG"; }
[ -n "$GROUNDING" ] && { E="$E --grounding $GROUNDING"; SUF="${SUF}_g$GROUNDING"; }
mkdir -p reports
for c in "$@"; do
  cfg=${c%%:*}; phi=${c##*:}; out=reports/${PRE}_${TAG}_cfg${cfg}_phi${phi}${SUF}
  $E --cfg "$cfg" --phi "$phi" --out "$out" > "$out.txt" 2>&1
  python -c "import json,sys; m=json.load(open('$out/metrics.json'))['metrics']; print('$out', *(f'{k} {m[k]:.4f}' for k in
    ['chord_tone_rate', 'chord_tone_rate_grounded', 'pitch_class_agreement', 'pitch_class_agreement_heuristic',
     'matching_accuracy', 'grounding_cosine_reduction', 'frechet_logmel']))"
done
