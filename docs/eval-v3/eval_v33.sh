#!/bin/bash
# v3.3 (v3.2 continued on recipe-v4 songs: own synth basses/leads/pads, Hydrogen drum kits) or v3.4
# (v3.2 continued on those and fresh v3 songs together) against v3.2, run in the runs folder:
#   bash eval_v33.sh OLD NEW [all|dev|old|style|test] [TAG]
# Dev first (choices), then the reported test figures.
#  dev:  ood_dev (v3 recipe: held-out grooves Bebop/FolkRock/Samba, held-out soundfont MuseScore_General,
#        held-out effects; 24 songs) and ood4_dev (v4 recipe, the same held-out grooves and soundfont
#        plus the held-out drum kit VariBreaks and the held-out synth-preset table; 24 songs),
#        then the timbre guidance weight style_cfg 2 / 3 / 4 with style references on ood4_dev;
#  test: ood_test and ood4_test (Beguine/GuitarBallad/SlowSpiritual, otherwise as the dev sets) and the
#        in-domain held-out songs: the test splits of synth5 (v3 recipe) and synth6 (v4 recipe; six
#        grooves no model was trained on), both models.
set -e
OLD=${1:-small-synth-v3.2.safetensors}
NEW=${2:-small-synth-v3.3.safetensors}
STAGE=${3:-all}
TAG=${4:-v33}
OTAG=$(basename "$OLD" .safetensors | sed 's/^small-synth-//; s/\.//g')  # small-synth-v3.2.1 -> v321
E="groundbass eval --seconds 12 --no-ae-figures --device cpu"
DEV="$E --data ood_dev/manifest.jsonl --split all --songs 24 --processing heldout"
DEV4="$E --data ood4_dev/manifest.jsonl --split all --songs 24 --processing heldout"
OOD="$E --data ood_test/manifest.jsonl --split all --songs 12 --processing heldout"
OOD4="$E --data ood4_test/manifest.jsonl --split all --songs 24 --processing heldout"
IND5="$E --data synth5/manifest.jsonl --split test --songs 12"
IND6="$E --data synth6/manifest.jsonl --split test --songs 24"
IND7="$E --data synth7/manifest.jsonl --split test --songs 24"
mkdir -p reports
if [ "$STAGE" = all ] || [ "$STAGE" = dev ]; then
  $DEV --model $NEW --out reports/dev24_$TAG --no-style-eval > reports/dev24_$TAG.txt 2>&1
  $DEV4 --model $NEW --out reports/dev4_$TAG --no-style-eval > reports/dev4_$TAG.txt 2>&1
  echo DEV_DONE
fi
if [ "$STAGE" = old ]; then  # the baseline's rows (dev24_v32 re-measured: the set renders bit-identically)
  $DEV --model $OLD --out reports/dev24_$OTAG --no-style-eval > reports/dev24_$OTAG.txt 2>&1
  $DEV4 --model $OLD --out reports/dev4_$OTAG --no-style-eval > reports/dev4_$OTAG.txt 2>&1
  $DEV4 --model $OLD --out reports/dev4_${OTAG}_style2 --style-cfg 2 > reports/dev4_${OTAG}_style2.txt 2>&1
  echo OLD_DONE
fi
if [ "$STAGE" = all ] || [ "$STAGE" = style ]; then
  for sc in 2 3 4; do
    $DEV4 --model $NEW --out reports/dev4_${TAG}_style$sc --style-cfg $sc > reports/dev4_${TAG}_style$sc.txt 2>&1
  done
  echo STYLE_DONE
fi
if [ "$STAGE" = all ] || [ "$STAGE" = test ]; then
  for m in "$OLD:$OTAG" "$NEW:$TAG"; do
    model=${m%%:*}; t=${m##*:}
    $OOD --model $model --out reports/test_ood_$t > reports/test_ood_$t.txt 2>&1
    $OOD4 --model $model --out reports/test_ood4_$t > reports/test_ood4_$t.txt 2>&1
    if [ -f synth5/manifest.jsonl ]; then  # synth5 is not rebuilt when only v3.3 is being measured
      $IND5 --model $model --out reports/test_ind5_$t > reports/test_ind5_$t.txt 2>&1
    fi
    $IND6 --model $model --out reports/test_ind6_$t > reports/test_ind6_$t.txt 2>&1
    if [ -f synth7/manifest.jsonl ]; then  # v3.4's fresh v3-recipe songs (seed 15)
      $IND7 --model $model --out reports/test_ind7_$t > reports/test_ind7_$t.txt 2>&1
    fi
  done
  echo TEST_DONE
fi
