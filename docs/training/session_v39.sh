#!/bin/bash
# session_v39.sh : the v3.9 run, from an empty runs folder, in one session. v3.8's songs and processed
# mixes (render_910.sh: the same seeds, so the same audio and effects) with one change: feature set 2,
# the 26 signal-processing features plus madmom's deep chroma and recognised chord (25 channels from
# networks trained on recorded music; `train diffusion --chord-features`). On the out-of-domain dev
# sets madmom's recogniser names the chord root in 75-80 % of the frames, a triad template over the
# set-1 chroma in about 54 % (docs/eval-v3/root_from_features.py). Run in the runs folder; each step is
# skipped when done.
#   1. render_910.sh: the dev and test sets, synth9 and synth10
#   2. cache9c / cache10c: their latent caches with feature set 2 (effects seeds 17, 18 as for v3.8)
#   3. the merged data set mix910c / cache910c and the run diff12, from the bundled model's U-Net
#      (v3.6's; its input convolution widened, the new channels starting at zero) with v3.8's options
# About 45 minutes to the start of training on 2 cores of an AMD EPYC.
set -e
D=$(cd "$(dirname "$0")" && pwd)
bash "$D/render_910.sh"
for s in 9 10; do
  [ -f cache${s}c/.done ] || { python "$D/cache_shard.py" synth$s/manifest.jsonl cache${s}c 0 2 $((s + 8)) 51 > cache${s}c_0.log 2>&1 &
    python "$D/cache_shard.py" synth$s/manifest.jsonl cache${s}c 1 2 $((s + 8)) 51 > cache${s}c_1.log 2>&1 & wait; touch cache${s}c/.done; }
done
[ -f mix910c.jsonl ] || python "$D/merge_caches.py" mix910c.jsonl cache910c synth9/manifest.jsonl:cache9c:s9_ \
    synth10/manifest.jsonl:cache10c:s10_
exec groundbass train diffusion --data mix910c.jsonl --from-model small-synth-v3.6.1.safetensors --cache cache910c \
    --mixes-per-song 1 --processing train --features --chord-features --style-cond \
    --init-from small-synth-v3.6.1.safetensors --out diff12 --steps 100000 --batch-size 16 --lr 1e-4 \
    --warmup-steps 200 --latent-dropout 0.2 --ckpt-every 250 --valid-every 500 --resume --quiet
