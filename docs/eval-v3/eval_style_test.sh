#!/bin/bash
# the reported test sets again for one model (style references included), tag as given
set -e
M=$1; T=$2
E="groundbass eval --seconds 12 --no-ae-figures --device cpu"
$E --data ood_test/manifest.jsonl --split all --songs 12 --processing heldout --model $M --out reports/test_ood_$T > reports/test_ood_$T.txt 2>&1
$E --data ood4_test/manifest.jsonl --split all --songs 24 --processing heldout --model $M --out reports/test_ood4_$T > reports/test_ood4_$T.txt 2>&1
$E --data synth6/manifest.jsonl --split test --songs 24 --model $M --out reports/test_ind6_$T > reports/test_ind6_$T.txt 2>&1
$E --data synth7/manifest.jsonl --split test --songs 24 --model $M --out reports/test_ind7_$T > reports/test_ind7_$T.txt 2>&1
echo DONE
