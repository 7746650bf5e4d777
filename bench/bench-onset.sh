#!/bin/bash
# Onset to action: the seconds from starting a load (stress-ng on every
# CPU plus one 64 MB memory worker) to the anomaly rule's hook running,
# for fedmon-agent sampling every 1 s, RUNS times. Every run starts a new
# agent that trains on 64 samples of this host at rest (about a minute),
# waits until it has been quiet for 5 s (no alarm from other work), starts
# the load and stops it, and the agent, once the hook ran (see
# tests/agent/onset-lib.sh for why each run trains anew). The hook stamps
# its own CLOCK_REALTIME (date +%s.%N). Prints each run and the median.
#
# Usage: bench/bench-onset.sh [RUNS [ALARM_SAMPLES [ONSET_FACTOR]]]
# RUNS defaults to 10. ALARM_SAMPLES and ONSET_FACTOR set those [learn]
# keys; left out (or "-"), the shipped defaults apply (configs/agent.conf).
# Needs a build (tools/dev setup) and stress-ng. FEDMON_BUILD_DIR picks
# another build.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${FEDMON_BUILD_DIR:-build}
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
onset_config 1 2 || exit 1
sed -i '/^alarm_samples = /d' "$ONSET_DIR/agent.conf" || exit 1
SETTINGS=
for kv in "alarm_samples=$ALARM" "onset_factor=$ONSET"; do
	key=${kv%%=*} value=${kv#*=}
	SETTINGS="$SETTINGS${SETTINGS:+, }$key ${value/#-/default}"
	[ "$value" = - ] && continue
	sed -i "/^min_train_seconds = /a $key = $value" "$ONSET_DIR/agent.conf" || exit 1
done
echo "bench-onset: $RUNS runs, $SETTINGS, sampling every 1 s, each run trained anew on 64 samples at rest"
for run in $(seq "$RUNS"); do
	if onset_run "$AGENT" 300; then
		echo "run $run: ${ONSET_LATENCY} s (score $(sed -n 's/^FEDMON_SCORE=//p' "$ONSET_DIR/marker"), threshold $(sed -n 's/^FEDMON_THRESHOLD=//p' "$ONSET_DIR/marker"))"
		echo "$ONSET_LATENCY" >>"$ONSET_DIR/latency"
	else
		echo "run $run: $ONSET_WHY"
	fi
	onset_cleanup
done
[ -s "$ONSET_DIR/latency" ] || exit 1
echo "median over $(wc -l <"$ONSET_DIR/latency") runs: $(median <"$ONSET_DIR/latency") s from load start to hook ($SETTINGS, 1 s sampling)"
