#!/bin/bash
# Dev-set choices (out-of-domain dev: held-out grooves Bebop/FolkRock/Samba, held-out soundfont, held-out effects)
. /work/venv/bin/activate
cd /work/gb_runs
M=${1:-small-synth-v3.safetensors}
E="groundbass eval --data ood_dev/manifest.jsonl --split all --songs 12 --seconds 12 --processing heldout --no-ae-figures --device cpu"
$E --model $M --out reports/dev_v3_ddim64 --steps 64 --sampler ddim > reports/dev_v3_ddim64.txt 2>&1
$E --model $M --out reports/dev_v3_dpm16 --steps 16 --sampler dpmpp2m > reports/dev_v3_dpm16.txt 2>&1
$E --model $M --out reports/dev_v3_dpm16_s2 --steps 16 --sampler dpmpp2m --style-cfg 2 > reports/dev_v3_dpm16_s2.txt 2>&1
echo DEVDONE
