#!/bin/bash
# finish_v38.sh HH:MM : the rest of the v3.8 session without a hand on it, in the runs folder that
# session_v38.sh fills (start both at once; this waits for its training).
#   1. stops diff11's training at HH:MM (SIGTERM: it writes a checkpoint) and keeps its EMA U-Net as
#      diff11_final.safetensors;
#   2. exports and evaluates it on the dev sets (eval-v3/eval_v38_dev.sh final);
#   3. applies the shipping rule, fixed before any figure was seen (ship_rule_v38.py, dev sets only);
#   4. when it says ship: the test sets for the candidate, and synth9/synth10's test splits for the
#      bundled v3.6.1 (its ood_test / ood4_test reports are stored in docs/eval-v3).
set -e
D=$(cd "$(dirname "$0")" && pwd); EV=$D/../eval-v3
P="groundbass [t]rain diffusion"
until pgrep -f "$P" > /dev/null; do sleep 20; done
end=$(date -d "$1" +%s)
while [ "$(date +%s)" -lt "$end" ] && pgrep -f "$P" > /dev/null; do sleep 20; done
pkill -TERM -f "$P" || true
while pgrep -f "$P" > /dev/null; do sleep 5; done
echo "training stopped $(date -u +%H:%M:%S)"
cp diff11/diffusion.safetensors diff11_final.safetensors
DIFF=diff11_final.safetensors bash "$EV/eval_v38_dev.sh" final
python "$D/ship_rule_v38.py" | tee ship_rule.txt
grep -q "^SHIP" ship_rule.txt || { echo "not shipped: no test figures taken"; exit 0; }
bash "$EV/eval_style_test.sh" small-synth-v3.8-final.safetensors v38 "synth9 synth10"
E="groundbass eval --seconds 12 --no-ae-figures --device cpu"
for s in synth9 synth10; do
  out=reports/test_ind${s#synth}_v361
  [ -f $out/metrics.json ] || $E --data $s/manifest.jsonl --split test --songs 24 \
      --model small-synth-v3.6.1.safetensors --out $out > $out.txt 2>&1
done
echo "FINISHED $(date -u +%H:%M:%S)"
