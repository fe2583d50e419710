#!/bin/bash
# eval_style_test.sh MODEL TAG ["IN-DOMAIN SETS"] : the reported test sets again for one model (style
# references included), tag as given. The in-domain sets are test splits of training data sets (default
# "synth6 synth7"; v3.8 used "synth9 synth10", which the v3.6 run never saw). Run in the runs folder.
set -e
M=$1; T=$2; IND=${3:-"synth6 synth7"}
E="groundbass eval --seconds 12 --no-ae-figures --device cpu"
$E --data ood_test/manifest.jsonl --split all --songs 12 --processing heldout --model $M --out reports/test_ood_$T > reports/test_ood_$T.txt 2>&1
$E --data ood4_test/manifest.jsonl --split all --songs 24 --processing heldout --model $M --out reports/test_ood4_$T > reports/test_ood4_$T.txt 2>&1
for s in $IND; do
  $E --data $s/manifest.jsonl --split test --songs 24 --model $M --out reports/test_ind${s#synth}_$T > reports/test_ind${s#synth}_$T.txt 2>&1
done
echo DONE
