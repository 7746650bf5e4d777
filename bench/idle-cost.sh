#!/bin/bash
# What the daemons cost at rest, thread by thread: fedmon-agent at the
# shipped settings (configs/agent.conf with its paths moved to a temporary
# directory and /metrics on a free port; no federation) and
# fedmon-aggregator with no agents (configs/aggregator.conf, a fresh key,
# nobody enrolled, loopback ports), each measured over DURATION seconds,
# RUNS times. Per thread: on-CPU time from /proc/PID/task/TID/schedstat
# (nanoseconds), grouped by the thread's name (comm); fedmon's own threads
# are named fm:<role>, NNG's nng:<role>, the main thread after the program.
#
# Prints, per run and daemon, each thread group's share of a core and of
# the daemon's total; for the agent, the ratio of the whole agent to its
# sampling (main) thread. Then the medians over the runs.
#
# Usage: bench/idle-cost.sh [DURATION [RUNS [WHICH]]]   (default 60 3 both)
# WHICH: agent, aggregator or both. Needs a build (tools/dev setup);
# FEDMON_BUILD_DIR picks another build.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${FEDMON_BUILD_DIR:-build}
DURATION=${1:-60}
RUNS=${2:-3}
WHICH=${3:-both}
AGENT=$BUILD/agent/fedmon-agent
AGG=$BUILD/aggregator/fedmon-aggregator
CTL=$BUILD/ctl/fedmonctl
for b in "$AGENT" "$AGG" "$CTL"; do
	[ -x "$b" ] || { echo "bench: build first (tools/dev setup)" >&2; exit 1; }
done

tmp=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" || true
	rm -rf "$tmp"
}
trap cleanup EXIT

# A free TCP port on 127.0.0.1 (bash's /dev/tcp: refused means free).
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 20000))
		(exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo $p; return; }
	done
}

# "NAME NS" per thread of $1: name (spaces made _) and on-CPU ns.
snapshot() {
	local t name ns
	for t in /proc/"$1"/task/*; do
		read -r ns _ < "$t/schedstat" 2>/dev/null || continue
		read -r name < "$t/comm" 2>/dev/null || continue
		[ "${t##*/}" = "$1" ] && name="main($name)"
		echo "${name// /_} $ns"
	done
}

# Measures $pid over DURATION s into $tmp/$1.run$2 ("NAME PERCENT" lines,
# PERCENT of one core, one line per thread name, plus "total").
measure() {
	local out=$tmp/$1.run$2
	snapshot "$pid" > "$tmp/s0"
	local t0=$EPOCHREALTIME
	sleep "$DURATION"
	snapshot "$pid" > "$tmp/s1"
	local t1=$EPOCHREALTIME
	# threads are matched by name; a thread that came or went in the
	# window counts from 0 or up to its last reading
	awk -v secs="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" '
		FNR == NR { a[$1] += $2; next }
		{ b[$1] += $2 }
		END {
			for (n in b) {
				d = b[n] - a[n]; if (d < 0) d = 0
				p = d / secs / 1e7; tot += p
				printf "%s %.4f\n", n, p
			}
			printf "total %.4f\n", tot
		}' "$tmp/s0" "$tmp/s1" | sort > "$out"
}

# Prints one run's table ($1: file).
show() {
	awk '$1 == "total" { t = $2 } { p[$1] = $2 } END {
		for (n in p) if (n != "total")
			printf "  %-24s %7.4f %% of a core  %5.1f %% of the total\n",
			    n, p[n], (t > 0 ? 100 * p[n] / t : 0)
	}' "$1" | sort -k2 -gr
	awk '$1 == "total" { printf "  %-24s %7.4f %% of a core\n", "total", $2 }' "$1"
}

median() { sort -g | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)]; else print 0 }'; }

# The median over runs of each thread name ($1: daemon).
show_medians() {
	local names n
	names=$(cat "$tmp/$1".run* | awk '{ print $1 }' | sort -u)
	for n in $names; do
		printf "%s " "$n"
		for f in "$tmp/$1".run*; do
			awk -v n="$n" '$1 == n { v = $2 } END { print v + 0 }' "$f"
		done | median
	done > "$tmp/$1.median"
	show "$tmp/$1.median"
}

# The agent's ratio: whole agent over its sampling (main) thread.
ratio() {
	awk '$1 == "total" { t = $2 } $1 ~ /^main\(/ { s = $2 }
		END { if (s > 0) printf "%.2f\n", t / s; else print "inf" }' "$1"
}

run_agent() {
	local run=$1 port
	port=$(free_port)
	sed -e "s|^metrics_listen = .*|metrics_listen = 127.0.0.1:$port|" \
		configs/agent.conf > "$tmp/agent.conf"
	rm -rf "$tmp/state" "$tmp/run"
	"$AGENT" --config "$tmp/agent.conf" --state-dir "$tmp/state" \
		--runtime-dir "$tmp/run" --log-level warning &
	pid=$!
	sleep 3 # start-up: open files, first reads, the fs worker's scan
	measure agent "$run"
	kill -TERM "$pid"; wait "$pid" || true; pid=
	echo "agent run $run: ratio total/sampling $(ratio "$tmp/agent.run$run")"
	show "$tmp/agent.run$run"
	ratio "$tmp/agent.run$run" >> "$tmp/agent.ratio"
}

run_aggregator() {
	local run=$1 port mport
	port=$(free_port) mport=$(free_port)
	rm -rf "$tmp/agg"; mkdir -p "$tmp/agg"
	"$CTL" keygen "$tmp/agg/aggregator.key" > /dev/null 2>&1
	: > "$tmp/agg/authorized_agents"
	sed -e "s|^key_file = .*|key_file = $tmp/agg/aggregator.key|" \
		-e "s|^authorized_agents = .*|authorized_agents = $tmp/agg/authorized_agents|" \
		-e "s|^state_dir = .*|state_dir = $tmp/agg/state|" \
		-e "s|^listen = .*|listen = tcp://127.0.0.1:$port|" \
		-e "s|^metrics_listen = .*|metrics_listen = 127.0.0.1:$mport|" \
		-e "s|^log_level = .*|log_level = warning|" \
		configs/aggregator.conf > "$tmp/agg/aggregator.conf"
	"$AGG" --config "$tmp/agg/aggregator.conf" &
	pid=$!
	sleep 3
	measure aggregator "$run"
	kill -TERM "$pid"; wait "$pid" || true; pid=
	echo "aggregator run $run:"
	show "$tmp/aggregator.run$run"
}

echo "idle-cost: $RUNS runs of ${DURATION} s, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for run in $(seq "$RUNS"); do
	case $WHICH in agent | both) run_agent "$run" ;; esac
	case $WHICH in aggregator | both) run_aggregator "$run" ;; esac
done
case $WHICH in agent | both)
	echo "agent, median over $RUNS runs (per thread name):" \
		"ratio total/sampling $(median < "$tmp/agent.ratio")"
	show_medians agent ;;
esac
case $WHICH in aggregator | both)
	echo "aggregator, median over $RUNS runs (per thread name):"
	show_medians aggregator ;;
esac
