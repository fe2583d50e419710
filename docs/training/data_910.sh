#!/bin/bash
# data_910.sh : the data of the v3.8 and v3.9 runs, from an empty runs folder: render_910.sh (the dev and
# test sets, synth9 and synth10), then their latent caches cache9 / cache10 (one processed mix per song,
# effects drawn with the data set's seed; the 26 signal-processing features of feature set 1).
# Run in the runs folder; each step is skipped when done. About 34 minutes on 2 cores of an AMD EPYC.
set -e
D=$(cd "$(dirname "$0")" && pwd)
bash "$D/render_910.sh"
[ -f cache9/.done ] || { python "$D/cache_shard.py" synth9/manifest.jsonl cache9 0 2 17 > cache9_0.log 2>&1 &
  python "$D/cache_shard.py" synth9/manifest.jsonl cache9 1 2 17 > cache9_1.log 2>&1 & wait; touch cache9/.done; }
[ -f cache10/.done ] || { python "$D/cache_shard.py" synth10/manifest.jsonl cache10 0 2 18 > cache10_0.log 2>&1 &
  python "$D/cache_shard.py" synth10/manifest.jsonl cache10 1 2 18 > cache10_1.log 2>&1 & wait; touch cache10/.done; }
