#!/bin/bash
# Dev-set choices for v3.1 (out-of-domain dev: held-out grooves Bebop/FolkRock/Samba, held-out
# soundfont MuseScore_General, held-out effects): sampler and steps against 64-step DDIM (two seeds
# give the run-to-run spread), then the timbre guidance weight. Run in the runs folder.
M=${1:-small-synth-v3.1.safetensors}
E="groundbass eval --data ood_dev/manifest.jsonl --split all --songs 12 --seconds 12 --processing heldout --no-ae-figures --device cpu --model $M"
$E --out reports/dev_ddim64 --steps 64 --sampler ddim --no-style-eval > reports/dev_ddim64.txt 2>&1
$E --out reports/dev_ddim64_seed1000 --steps 64 --sampler ddim --no-style-eval --seed 1000 > reports/dev_ddim64_seed1000.txt 2>&1
for n in 8 12 16 24; do
  $E --out reports/dev_dpm$n --steps $n --sampler dpmpp2m --no-style-eval > reports/dev_dpm$n.txt 2>&1
done
echo SAMPLERS_DONE
