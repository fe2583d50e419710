#!/bin/bash
# Reported figures, v3 vs v3.1 with each one's stored defaults (or extra arguments after the model
# names): out-of-domain test (held-out grooves Beguine/GuitarBallad/SlowSpiritual, MuseScore_General,
# held-out effects) and in-domain held-out songs (synth4 test split: 6 grooves never trained on).
V3=${1:-small-synth-v3.safetensors}
V31=${2:-small-synth-v3.1.safetensors}
OOD="groundbass eval --data ood_test/manifest.jsonl --split all --songs 12 --seconds 12 --processing heldout --no-ae-figures --device cpu"
IND="groundbass eval --data synth4/manifest.jsonl --split test --songs 12 --seconds 12 --no-ae-figures --device cpu"
$OOD --model $V31 --out reports/test_ood_v31 > reports/test_ood_v31.txt 2>&1
$IND --model $V31 --out reports/test_ind_v31 > reports/test_ind_v31.txt 2>&1
$OOD --model $V3 --out reports/test_ood_v3 > reports/test_ood_v3.txt 2>&1
$IND --model $V3 --out reports/test_ind_v3 > reports/test_ind_v3.txt 2>&1
echo TEST_DONE
