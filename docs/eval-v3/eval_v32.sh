#!/bin/bash
# v3.2 against v3.1, run in the runs folder. Dev first (choices), then the reported test figures.
#  dev:  out-of-domain dev set (held-out grooves Bebop/FolkRock/Samba, held-out soundfont
#        MuseScore_General, held-out effects): v3.2's defaults (v3.1's row is dev_v31_dpm16.json),
#        then the timbre guidance weight style_cfg 1 / 2 / 3 with style references;
#  test: out-of-domain test set (Beguine/GuitarBallad/SlowSpiritual, MuseScore_General, held-out
#        effects; v3.1's row is t_ood_v31.json) and in-domain held-out songs: the synth5 test split
#        (six grooves neither model was trained on), both models.
set -e
OLD=${1:-small-synth-v31.safetensors}
NEW=${2:-small-synth-v3.2.safetensors}
STAGE=${3:-all}
DEV="groundbass eval --data ood_dev/manifest.jsonl --split all --songs 12 --seconds 12 --processing heldout --no-ae-figures --device cpu"
OOD="groundbass eval --data ood_test/manifest.jsonl --split all --songs 12 --seconds 12 --processing heldout --no-ae-figures --device cpu"
IND="groundbass eval --data synth5/manifest.jsonl --split test --songs 12 --seconds 12 --no-ae-figures --device cpu"
if [ "$STAGE" = all ] || [ "$STAGE" = dev ]; then
  $DEV --model $NEW --out reports/dev_v32 --no-style-eval > reports/dev_v32.txt 2>&1
  echo DEV_DONE
fi
if [ "$STAGE" = all ] || [ "$STAGE" = style ]; then
  for sc in 1 2 3; do
    $DEV --model $NEW --out reports/dev_v32_style$sc --style-cfg $sc > reports/dev_v32_style$sc.txt 2>&1
  done
  echo STYLE_DONE
fi
if [ "$STAGE" = all ] || [ "$STAGE" = test ]; then
  $OOD --model $NEW --out reports/test_ood_v32 > reports/test_ood_v32.txt 2>&1
  $IND --model $NEW --out reports/test_ind5_v32 > reports/test_ind5_v32.txt 2>&1
  $IND --model $OLD --out reports/test_ind5_v31 > reports/test_ind5_v31.txt 2>&1
  echo TEST_DONE
fi
