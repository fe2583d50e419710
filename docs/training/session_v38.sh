#!/bin/bash
# session_v38.sh : everything the v3.8 run needs, from an empty runs folder, in one session (a session's
# files outside the repository do not survive it). Run in the runs folder; each step is skipped when done.
#   1-2. data_910.sh: the dev and test sets, synth9 and synth10 and their caches
#   3. the merged data set mix910 / cache910 and the run diff11, from the bundled model's U-Net (v3.6's)
# About 40 minutes to the start of training on 2 cores of an AMD EPYC.
set -e
D=$(cd "$(dirname "$0")" && pwd)
bash "$D/data_910.sh"
[ -f mix910.jsonl ] || python "$D/merge_caches.py" mix910.jsonl cache910 synth9/manifest.jsonl:cache9:s9_ \
    synth10/manifest.jsonl:cache10:s10_
exec groundbass train diffusion --data mix910.jsonl --from-model small-synth-v3.6.1.safetensors --cache cache910 \
    --mixes-per-song 1 --processing train --features --style-cond --init-from small-synth-v3.6.1.safetensors --out diff11 \
    --steps 100000 --batch-size 16 --lr 1e-4 --warmup-steps 200 --latent-dropout 0.2 --ckpt-every 250 \
    --valid-every 500 --resume --quiet
