#!/bin/bash
# fresh_songs.sh DATA CACHE SEED : 1,600 fresh recipe-v4 songs (the v3.4/v3.6 holdouts) and their latent
# cache, for the next replay run. Run in the runs folder. synth8 (v3.6) was `synth8 cache8 16`, synth9
# `synth9 cache9 17`. About 13 + 8 minutes on 2 cores.
set -e
DATA=$1; CACHE=$2; SEED=$3
HERE=$(cd "$(dirname "$0")" && pwd)
F="--soundfonts /usr/share/sounds/sf2/FluidR3_GM.sf2 --soundfonts /usr/share/sounds/sf2/TimGM6mb.sf2 \
   --soundfonts /usr/share/sounds/sf2/OPL-3_FM_128M.sf2 --soundfonts /usr/share/sounds/sf2/sf_GMbank.sf2 \
   --soundfonts /usr/share/sounds/sf3/FluidR3Mono_GM.sf3"
groundbass data synth $DATA --songs 1600 --seconds 24 --seed $SEED --recipe v4 --workers 2 \
    --holdout-grooves Bebop,Beguine,FolkRock,GuitarBallad,Samba,SlowSpiritual --valid-share 0.05 \
    --synth-share 0.35 --drumkit-share 0.5 --holdout-kits 1 $F
python "$HERE/cache_shard.py" $DATA/manifest.jsonl $CACHE 0 2 $SEED > ${CACHE}_0.log 2>&1 &
python "$HERE/cache_shard.py" $DATA/manifest.jsonl $CACHE 1 2 $SEED > ${CACHE}_1.log 2>&1 &
wait
