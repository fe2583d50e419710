#!/bin/bash
# finish_run.sh HH:MM RUN VERSION CACHE : the rest of a one-session run without a hand on it, in the runs
# folder that session_v38.sh / session_v39.sh fills (start both at once; this waits for the training).
#   1. stops RUN's training at HH:MM (SIGTERM: it writes a checkpoint) and keeps its EMA U-Net as
#      RUN_final.safetensors;
#   2. exports and evaluates it on the dev sets (eval-v3/eval_run_dev.sh VERSION RUN CACHE final);
#   3. applies the shipping rule, fixed before any figure was seen (ship_rule.py, dev sets only);
#   4. when it says ship: the test sets for the candidate, and synth9/synth10's test splits for the
#      bundled v3.6.1 (its ood_test / ood4_test reports are stored in docs/eval-v3).
# v3.8: `finish_run.sh 15:45 diff11 v3.8 cache910`; v3.9: `finish_run.sh 01:50 diff12 v3.9 cache910c`.
set -e
D=$(cd "$(dirname "$0")" && pwd); EV=$D/../eval-v3
RUN=$2; VERSION=$3; CACHE=$4; V=${VERSION//./}
P="groundbass [t]rain diffusion"
until pgrep -f "$P" > /dev/null; do sleep 20; done
end=$(date -d "$1" +%s)
while [ "$(date +%s)" -lt "$end" ] && pgrep -f "$P" > /dev/null; do sleep 20; done
pkill -TERM -f "$P" || true
while pgrep -f "$P" > /dev/null; do sleep 5; done
echo "training stopped $(date -u +%H:%M:%S)"
cp $RUN/diffusion.safetensors ${RUN}_final.safetensors
DIFF=${RUN}_final.safetensors bash "$EV/eval_run_dev.sh" $VERSION $RUN $CACHE final
python "$D/ship_rule.py" ${V}final | tee ship_rule.txt
grep -q "^SHIP" ship_rule.txt || { echo "not shipped: no test figures taken"; exit 0; }
bash "$EV/eval_style_test.sh" small-synth-$VERSION-final.safetensors $V "synth9 synth10"
E="groundbass eval --seconds 12 --no-ae-figures --device cpu"
for s in synth9 synth10; do
  out=reports/test_ind${s#synth}_v361
  [ -f $out/metrics.json ] || $E --data $s/manifest.jsonl --split test --songs 24 \
      --model small-synth-v3.6.1.safetensors --out $out > $out.txt 2>&1
done
echo "FINISHED $(date -u +%H:%M:%S)"
