#!/bin/bash
# eval_v36_dev.sh TAG "CFG:HARMONY ..." [SETS] : export diff9's current EMA U-Net as small-synth-v3.6-TAG
# and evaluate it on the dev sets (24 songs x 12 s, held-out effects), without style references
# (STYLE=1: with them), once per cfg:harmony_cfg pair. Reports in reports/dev{24,4}_v36TAG_cfgC_hH[_style].
# v3.6: TAG a = step 6,500, b = step 14,750, c = step 21,750 (shipped); docs/eval-v3/dev*_v36*.json.
# run in the runs folder (the one holding diff9/, ood_dev/, ood4_dev/ and small-synth-v3.2.1.safetensors)
TAG=$1; PAIRS=${2:-"6:0 6:2"}; SETS=${3:-"ood4_dev ood_dev"}
M=small-synth-v3.6-$TAG.safetensors
[ -f $M ] || groundbass export --from-model small-synth-v3.2.1.safetensors --diffusion diff9/diffusion.safetensors \
  --out $M --name small-synth-v3.6-$TAG --sampler dpmpp2m --steps 16 --cfg 6 --phi 0 --style-cfg 2 --grounding 0.3
SPLIT=${SPLIT:-all}; PROC=${PROC:-heldout}
STYLE_OPT=$([ "${STYLE:-0}" = 1 ] && echo "--style-eval" || echo "--no-style-eval"); SX=$([ "${STYLE:-0}" = 1 ] && echo "_style")
E="groundbass eval --seconds 12 --no-ae-figures --device cpu --songs 24 --split $SPLIT --processing $PROC $STYLE_OPT"
for set in $SETS; do
  case $set in ood4_dev) short=dev4;; ood_dev) short=dev24;; *) short=$set;; esac
  for p in $PAIRS; do
    c=${p%%:*}; h=${p##*:}
    out=reports/${short}_v36${TAG}_cfg${c}_h${h}${SX}
    [ -f $out/metrics.json ] || $E --data $set/manifest.jsonl --model $M --cfg $c --harmony-cfg $h --out $out > $out.txt 2>&1
    echo "$set cfg $c harmony $h: $(python -c "import json;m=json.load(open('$out/metrics.json'))['metrics'];print(' '.join(f'{k}={m[k]:.3f}' for k in ['chord_tone_rate','pitch_class_agreement','matching_accuracy','frechet_logmel','chord_tone_rate_grounded','grounding_cosine_reduction'] if k in m and m[k]==m[k]))")"
  done
done
