#!/bin/bash
# The whole agent's cost: fedmon-agent sampling every 1 s for DURATION
# seconds, RUNS times. Per run: CPU per sample from /proc/PID/schedstat
# (nanosecond on-CPU time of every thread, including the filesystem
# worker), and peak RSS and PSS from /proc/PID/smaps_rollup polled every
# second. Prints each run and the medians.
#
# Usage: bench/agent-cost.sh [DURATION [RUNS]]   (default 60 3)
# Needs a build (tools/dev setup). FEDMON_BUILD_DIR picks another build.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${FEDMON_BUILD_DIR:-build}
DURATION=${1:-60}
RUNS=${2:-3}
AGENT=$BUILD/agent/fedmon-agent
[ -x "$AGENT" ] || { echo "bench: build first (tools/dev setup)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Sum of on-CPU nanoseconds over all threads of a process.
cpu_ns() {
	local sum=0 t
	for t in /proc/"$1"/task/*/schedstat; do
		read -r ns _ < "$t" 2>/dev/null || continue
		sum=$((sum + ns))
	done
	echo "$sum"
}

kb() { awk -v k="$2" '$1 == k":" { print $2 }' /proc/"$1"/smaps_rollup; }

median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

for run in $(seq "$RUNS"); do
	"$AGENT" --config configs/agent.conf --state-dir "$tmp/state" \
		--runtime-dir "$tmp/run" --log-level warning &
	pid=$!
	sleep 2 # start-up: open files, first reads
	c0=$(cpu_ns "$pid")
	peak_rss=0 peak_pss=0
	for _ in $(seq "$DURATION"); do
		sleep 1
		rss=$(kb "$pid" Rss) pss=$(kb "$pid" Pss)
		[ "$rss" -gt "$peak_rss" ] && peak_rss=$rss
		[ "$pss" -gt "$peak_pss" ] && peak_pss=$pss
	done
	c1=$(cpu_ns "$pid")
	kill -TERM "$pid"
	wait "$pid" || true
	us=$(awk -v a="$c0" -v b="$c1" -v n="$DURATION" 'BEGIN { printf "%.1f", (b - a) / n / 1000 }')
	echo "run $run: ${us} us CPU per sample, peak RSS ${peak_rss} kB, peak PSS ${peak_pss} kB"
	echo "$us" >> "$tmp/cpu"; echo "$peak_rss" >> "$tmp/rss"; echo "$peak_pss" >> "$tmp/pss"
done
echo "median over $RUNS runs of ${DURATION} s at 1 s sampling:" \
	"$(median < "$tmp/cpu") us CPU per sample," \
	"peak RSS $(median < "$tmp/rss") kB, peak PSS $(median < "$tmp/pss") kB"
