#!/bin/bash
# render_910.sh : the audio of the v3.8-v4.0 runs, from an empty runs folder (a session's files outside
# the repository do not survive it). Run in the runs folder; each step is skipped when done.
#   1. the dev and test sets (ood4_dev / ood_dev / ood_test / ood4_test; they render bit-identically)
#   2. synth9 (1,600 recipe-v4 songs, seed 17) and synth10 (600 recipe-v3 songs, seed 18)
# About 22 minutes on 2 cores of an AMD EPYC.
set -e
D=$(cd "$(dirname "$0")" && pwd)
[ -f small-synth-v3.6.1.safetensors ] || cp "$D/../../core/models/default.safetensors" small-synth-v3.6.1.safetensors
F="--soundfonts /usr/share/sounds/sf2/FluidR3_GM.sf2 --soundfonts /usr/share/sounds/sf2/TimGM6mb.sf2 \
   --soundfonts /usr/share/sounds/sf2/OPL-3_FM_128M.sf2 --soundfonts /usr/share/sounds/sf2/sf_GMbank.sf2 \
   --soundfonts /usr/share/sounds/sf3/FluidR3Mono_GM.sf3"
MS=/usr/share/sounds/sf3/MuseScore_General.sf3
HO=Bebop,Beguine,FolkRock,GuitarBallad,Samba,SlowSpiritual
done_set() { [ -f "$1/manifest.jsonl" ] && [ -z "$(ls "$1"/*.tmp 2>/dev/null)" ]; }
done_set ood4_dev || groundbass data synth ood4_dev --songs 24 --seconds 24 --seed 404 --recipe v4 \
    --grooves Bebop,FolkRock,Samba --holdout-grooves Bebop,FolkRock,Samba --holdout-kits 1 --soundfonts $MS --workers 2
done_set ood_dev || groundbass data synth ood_dev --songs 24 --seconds 24 --seed 101 --recipe v3 \
    --grooves Bebop,FolkRock,Samba --holdout-grooves Bebop,FolkRock,Samba --soundfonts $MS --workers 2
done_set ood4_test || groundbass data synth ood4_test --songs 24 --seconds 24 --seed 505 --recipe v4 \
    --grooves Beguine,GuitarBallad,SlowSpiritual --holdout-grooves Beguine,GuitarBallad,SlowSpiritual \
    --holdout-kits 1 --soundfonts $MS --workers 2
done_set ood_test || groundbass data synth ood_test --songs 24 --seconds 24 --seed 202 --recipe v3 \
    --grooves Beguine,GuitarBallad,SlowSpiritual --holdout-grooves Beguine,GuitarBallad,SlowSpiritual \
    --soundfonts $MS --workers 2
groundbass data synth synth9 --songs 1600 --seconds 24 --seed 17 --recipe v4 --workers 2 \
    --holdout-grooves $HO --valid-share 0.05 --synth-share 0.35 --drumkit-share 0.5 --holdout-kits 1 $F
groundbass data synth synth10 --songs 600 --seconds 24 --seed 18 --recipe v3 --workers 2 \
    --holdout-grooves $HO --valid-share 0.05 $F
