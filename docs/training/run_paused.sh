#!/bin/bash
# run_paused.sh CMD... : run CMD with the background training, rendering and caching jobs stopped
# (SIGSTOP), and let them go on afterwards (SIGCONT, also when CMD fails or is interrupted), so a
# measurement does not share the 2 cores with them. Training loses no state; rendering jobs that hit
# a time limit while stopped are redone by their own rerun.
PAT='groundbass (train|data)|cache_shard\.py|(^|/)fluidsynth |(^|/)mma '
PIDS=$(pgrep -f -- "$PAT" | grep -v -x "$$" || true)
[ -n "$PIDS" ] && kill -STOP $PIDS 2>/dev/null
trap '[ -n "$PIDS" ] && kill -CONT $PIDS 2>/dev/null' EXIT
"$@"
