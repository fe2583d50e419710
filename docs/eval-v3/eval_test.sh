#!/bin/bash
# Reported figures: out-of-domain test (held-out grooves Beguine/GuitarBallad/SlowSpiritual, held-out
# soundfont MuseScore_General, held-out effects) and in-domain held-out songs (test split of synth3:
# 6 grooves never trained on, training soundfonts, no effects). v2 and v3 on the same excerpts.
. /work/venv/bin/activate
cd /work/gb_runs
V3=${1:-small-synth-v3.safetensors}
shift
V3ARGS="$@"
OOD="groundbass eval --data ood_test/manifest.jsonl --split all --songs 24 --seconds 15 --processing heldout --device cpu"
IND="groundbass eval --data synth3/manifest.jsonl --split test --songs 24 --seconds 15 --device cpu"
$OOD --model v2.safetensors --out reports/test_ood_v2 --no-ae-figures > reports/test_ood_v2.txt 2>&1
$OOD --model $V3 --out reports/test_ood_v3 --no-ae-figures $V3ARGS > reports/test_ood_v3.txt 2>&1
$IND --model v2.safetensors --out reports/test_ind_v2 --no-ae-figures > reports/test_ind_v2.txt 2>&1
$IND --model $V3 --out reports/test_ind_v3 $V3ARGS > reports/test_ind_v3.txt 2>&1
echo TESTDONE
