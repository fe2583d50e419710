#!/bin/bash
# eval_style_dev.sh MODEL TAG "SETS" [GROUNDING] : style eval (references) of MODEL on the dev sets (ood4_dev, ood_dev,
# synth8 = its valid split, in domain), stored defaults
# unless GROUNDING is given. Run in the runs folder. The note-basis choice (v3.6.1/v3.7, MODEL_CARD.md):
#   groundbass export --from-model small-synth-v3.6.safetensors --out small-synth-v3.6-nb.safetensors \
#       --name small-synth-v3.6-nb --note-basis cache678 --grounding 0.8
#   bash eval_style_dev.sh small-synth-v3.6.safetensors v36c synth8      # (ood sets: dev*_v36c_cfg6_h0_style)
#   bash eval_style_dev.sh small-synth-v3.6-nb.safetensors v36nb_g0.8 "synth8 ood4_dev ood_dev"
#   bash eval_style_dev.sh small-synth-v3.6-nb.safetensors v36nb_g0.5 "synth8 ood4_dev ood_dev" 0.5
# EXTRA="--style-cfg 3" adds eval options. synthN is that set's valid split (in domain, short name indNv).
# Reports in reports/{dev4,dev24,indNv}_TAG_style.
M=$1; TAG=$2; SETS=${3:-"ood4_dev ood_dev"}; G=${4:+--grounding $4}
for set in $SETS; do
  SP="--split all --processing heldout"
  case $set in ood4_dev) short=dev4;; ood_dev) short=dev24;; synth[0-9]*) short=ind${set#synth}v; SP="--split valid";; *) short=$set;; esac
  out=reports/${short}_${TAG}_style
  [ -f $out/metrics.json ] || groundbass eval --seconds 12 --no-ae-figures --device cpu --songs 24 $SP --style-eval --data $set/manifest.jsonl --model $M $G $EXTRA --out $out > $out.txt 2>&1
  echo "$set $TAG: $(python -c "import json;m=json.load(open('$out/metrics.json'))['metrics'];print(' '.join(f'{k}={m[k]:.4f}' for k in ['chord_tone_rate','chord_tone_rate_grounded','grounding_cosine_reduction','pitch_class_agreement']))")"
done
