#!/bin/bash
# session_v39.sh : the v3.9 run, from an empty runs folder, in one session. v3.8's songs (data_910.sh: the
# same seeds, so the same audio) with one change: every song twice, as two processed mixes (per-stem and
# bus effects drawn with two seeds), so a run of ~10k steps sees each processed mix half as often as
# diff11 did (about 30 times instead of 64). Run in the runs folder; each step is skipped when done.
#   1-2. data_910.sh: the dev and test sets, synth9 and synth10 and their caches (effects seeds 17, 18)
#   3. cache9b / cache10b: the same songs' second processed mixes (effects seeds 1017, 1018)
#   4. the merged data set mix910b / cache910b (4,400 entries, the songs' splits kept) and the run
#      diff12, from the bundled model's U-Net (v3.6's) with v3.8's options
# About 46 minutes to the start of training on 2 cores of an AMD EPYC.
set -e
D=$(cd "$(dirname "$0")" && pwd)
bash "$D/data_910.sh"
for s in 9 10; do
  [ -f cache${s}b/.done ] || { python "$D/cache_shard.py" synth$s/manifest.jsonl cache${s}b 0 2 10$((s + 8)) > cache${s}b_0.log 2>&1 &
    python "$D/cache_shard.py" synth$s/manifest.jsonl cache${s}b 1 2 10$((s + 8)) > cache${s}b_1.log 2>&1 & wait; touch cache${s}b/.done; }
done
[ -f mix910b.jsonl ] || python "$D/merge_caches.py" mix910b.jsonl cache910b synth9/manifest.jsonl:cache9:s9_ \
    synth9/manifest.jsonl:cache9b:s9b_ synth10/manifest.jsonl:cache10:s10_ synth10/manifest.jsonl:cache10b:s10b_
exec groundbass train diffusion --data mix910b.jsonl --from-model small-synth-v3.6.1.safetensors --cache cache910b \
    --mixes-per-song 1 --processing train --features --style-cond --init-from small-synth-v3.6.1.safetensors --out diff12 \
    --steps 100000 --batch-size 16 --lr 1e-4 --warmup-steps 200 --latent-dropout 0.2 --ckpt-every 250 \
    --valid-every 500 --resume --quiet
