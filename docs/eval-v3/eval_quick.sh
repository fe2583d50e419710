#!/bin/bash
. /work/venv/bin/activate
cd /work/gb_runs
OOD="groundbass eval --data ood_test/manifest.jsonl --split all --songs 12 --seconds 12 --processing heldout --no-ae-figures --device cpu"
IND="groundbass eval --data synth3/manifest.jsonl --split test --songs 12 --seconds 12 --no-ae-figures --device cpu"
$OOD --model small-synth-v3.safetensors --out reports/q_ood_v3 > reports/q_ood_v3.txt 2>&1
$OOD --model v2.safetensors --out reports/q_ood_v2 > reports/q_ood_v2.txt 2>&1
$IND --model small-synth-v3.safetensors --out reports/q_ind_v3 > reports/q_ind_v3.txt 2>&1
$IND --model v2.safetensors --out reports/q_ind_v2 > reports/q_ind_v2.txt 2>&1
echo QDONE
