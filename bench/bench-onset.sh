#!/bin/bash
# Onset to action: the seconds from starting a load (stress-ng on every
# CPU plus one 64 MB memory worker) to the anomaly rule's hook running,
# for fedmon-agent sampling every 1 s, RUNS times. One new agent trains
# on this host at rest for the shipped min_train_seconds (600 s); then,
# RUNS times: it waits until the agent has been quiet for 10 s (no alarm
# from other work), starts the load and stops it as soon as the hook ran
# (tests/agent/onset-lib.sh says why a few seconds of load leave the
# detector as it was). A load leaves the host a little changed (page
# cache, committed memory), which a model trained on ten quiet minutes
# sees as anomalous for a while: the agent retrains every 60 s here
# (retrain_seconds; 900 s shipped), so that between runs it learns the
# host's new rest as the shipped agent does within a quarter hour. The hook stamps its own CLOCK_REALTIME
# (date +%s.%N). Prints each run and the median.
#
# Usage: bench/bench-onset.sh [RUNS [ALARM_SAMPLES [ONSET_FACTOR]]]
# RUNS defaults to 10. ALARM_SAMPLES and ONSET_FACTOR set those [learn]
# keys; left out (or "-"), the shipped defaults apply (configs/agent.conf).
# FEDMON_TRAIN_SECONDS sets min_train_seconds (default 600, as shipped;
# 64 is the least, the onset test's). Needs a build (tools/dev setup) and
# stress-ng. FEDMON_BUILD_DIR picks another build. Run it on an otherwise
# idle machine: other work is what the detector sees.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${FEDMON_BUILD_DIR:-build}
TRAIN=${FEDMON_TRAIN_SECONDS:-600}
RUNS=${1:-10}
ALARM=${2:--}
ONSET=${3:--}
AGENT=$BUILD/agent/fedmon-agent
[ -x "$AGENT" ] || { echo "bench: build first (tools/dev setup)" >&2; exit 1; }
command -v stress-ng >/dev/null || { echo "bench: stress-ng not installed" >&2; exit 1; }
. tests/agent/onset-lib.sh
ONSET_DIR=$(mktemp -d /tmp/fm-bench-onset-XXXXXX)
trap 'onset_cleanup; rm -rf "$ONSET_DIR"' EXIT

median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# onset_config's alarm_samples (the test's 1) gives way to the settings
# measured here
onset_config 1 2 "$TRAIN" || exit 1
sed -i '/^alarm_samples = /d' "$ONSET_DIR/agent.conf" || exit 1
sed -i '/^min_train_seconds = /a retrain_seconds = 60' "$ONSET_DIR/agent.conf" || exit 1
SETTINGS=
for kv in "alarm_samples=$ALARM" "onset_factor=$ONSET"; do
	key=${kv%%=*} value=${kv#*=}
	SETTINGS="$SETTINGS${SETTINGS:+, }$key ${value/#-/default}"
	[ "$value" = - ] && continue
	sed -i "/^min_train_seconds = /a $key = $value" "$ONSET_DIR/agent.conf" || exit 1
done
echo "bench-onset: $RUNS runs, $SETTINGS, sampling every 1 s, one agent trained on $TRAIN s at rest, retraining every 60 s"
onset_train "$AGENT" $((TRAIN + 300)) || { echo "bench: $ONSET_WHY" >&2; exit 1; }
for run in $(seq "$RUNS"); do
	if onset_once 300; then
		echo "run $run: ${ONSET_LATENCY} s (score $(sed -n 's/^FEDMON_SCORE=//p' "$ONSET_DIR/marker"), threshold $(sed -n 's/^FEDMON_THRESHOLD=//p' "$ONSET_DIR/marker"))"
		echo "$ONSET_LATENCY" >>"$ONSET_DIR/latency"
	else
		echo "run $run: $ONSET_WHY"
	fi
done
onset_agent_stop || echo "bench: the agent did not exit 0 on SIGTERM" >&2
[ -s "$ONSET_DIR/latency" ] || exit 1
echo "median over $(wc -l <"$ONSET_DIR/latency") of $RUNS runs: $(median <"$ONSET_DIR/latency") s from load start to hook ($SETTINGS, 1 s sampling, trained on $TRAIN s)"
