#!/bin/bash
# /metrics of the real daemons, checked by Debian's `promtool check
# metrics` (which must print nothing): a fedmon-aggregator and a
# fedmon-agent federating with it, each serving /metrics on 127.0.0.1:0
# (the port read from its log line), before and after the agent's
# detector trains and a round publishes. Also 404 on another path and the
# content type. With FILEs (the shipped alerting rules, the Grafana
# dashboards), every fedmon_* series each file names must be in those
# scrapes. Exit 0 pass, 1 fail, 77 skip (no promtool).
# usage: test-metrics-promtool.sh FEDMON-AGENT FEDMON-AGGREGATOR FEDMONCTL
#        [FILE...]
set -u
AGENT=$1
AGG=$2
CTL=$3
shift 3
# Generous: a loaded shared machine trains slowly.
WAIT_S=${FM_TEST_WAIT_S:-240}

if ! command -v promtool >/dev/null; then
	echo "1..0 # SKIP promtool is not installed"
	exit 77
fi

T=$(mktemp -d /tmp/fm-test-promtool-XXXXXX)
agent_pid=
agg_pid=
cleanup() {
	[ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null && wait "$agent_pid"
	[ -n "$agg_pid" ] && kill "$agg_pid" 2>/dev/null && wait "$agg_pid"
	rm -rf "$T"
}
trap cleanup EXIT

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $1"
}

# expect DESCRIPTION LOG COMMAND...: ok when COMMAND succeeds, else not ok
# with LOG shown.
expect() {
	local what=$1 log=$2
	shift 2
	if "$@"; then
		ok "$what"
	else
		not_ok "$what"
		sed 's/^/# /' "$log"
	fi
}

# fetch URL FILE [HEADERS-FILE]: GET with python3 (always there).
fetch() {
	python3 - "$1" "$2" "${3:-/dev/null}" <<'EOF'
import sys, urllib.request, urllib.error
url, out, hdr = sys.argv[1:4]
try:
    with urllib.request.urlopen(url, timeout=30) as r:
        body = r.read()
        status = r.status
        ctype = r.headers.get("Content-Type", "")
except urllib.error.HTTPError as e:
    body, status, ctype = e.read(), e.code, e.headers.get("Content-Type", "")
open(out, "wb").write(body)
open(hdr, "w").write(f"{status}\n{ctype}\n")
EOF
}

# check_metrics NAME URL: promtool prints nothing and exits 0.
check_metrics() {
	local name=$1 url=$2 out
	if ! fetch "$url" "$T/$name.txt" "$T/$name.hdr"; then
		not_ok "$name: fetch $url"
		return
	fi
	out=$(promtool check metrics <"$T/$name.txt" 2>&1)
	if [ $? -eq 0 ] && [ -z "$out" ]; then
		ok "$name: promtool check metrics is silent"
	else
		not_ok "$name: promtool check metrics"
		echo "$out" | sed 's/^/# /'
	fi
}

# has NAME REGEX: the last fetched NAME.txt has a line matching REGEX.
has() {
	if grep -Eq "$2" "$T/$1.txt"; then
		ok "$1: has /$2/"
	else
		not_ok "$1: has /$2/"
	fi
}

# port_of LOGFILE PID: the port of its "Serving metrics on" line, waited
# for while PID lives.
port_of() {
	local i p
	for ((i = 0; i < WAIT_S * 10; i++)); do
		kill -0 "$2" 2>/dev/null || return 1
		p=$(sed -n 's|.*Serving metrics on http://127\.0\.0\.1:\([0-9]*\)/metrics.*|\1|p' "$1" | head -1)
		if [ -n "$p" ]; then
			echo "$p"
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# value NAME SERIES: the value of SERIES (exact, before the blank).
value() {
	awk -v s="$2" '$1 == s { print $2 }' "$T/$1.txt"
}

# wait_for NAME URL SERIES AT-LEAST: until SERIES >= AT-LEAST.
wait_for() {
	local i v
	for ((i = 0; i < WAIT_S; i++)); do
		if fetch "$2" "$T/$1.txt" && v=$(value "$1" "$3") &&
		    [ -n "$v" ] && awk -v v="$v" -v m="$4" 'BEGIN { exit !(v >= m) }'; then
			return 0
		fi
		sleep 1
	done
	return 1
}

# ---- keys and configuration -------------------------------------------
mkdir -p "$T/agg/state" "$T/agent/state" "$T/agent/run"
agg_pub=$("$CTL" keygen "$T/agg/aggregator.key" 2>"$T/keygen.err" | tail -1)
agent_pub=$("$CTL" keygen "$T/agent/state/agent.key" 2>>"$T/keygen.err" | tail -1)
if [ -z "$agg_pub" ] || [ -z "$agent_pub" ]; then
	echo "Bail out! fedmonctl keygen failed: $(cat "$T/keygen.err")"
	exit 1
fi
echo "$agent_pub agent" >"$T/agg/authorized_agents"
cat >"$T/agg/aggregator.conf" <<EOF
[aggregator]
listen = tcp://127.0.0.1:0
metrics_listen = 127.0.0.1:0
key_file = $T/agg/aggregator.key
authorized_agents = $T/agg/authorized_agents
state_dir = $T/agg/state

[round]
quorum = 1
min_updates = 1
deadline_ms = 600000
interval_ms = 1000
poll_ms = 500
collect_poll_ms = 500
EOF

# ---- the aggregator ----------------------------------------------------
"$AGG" -c "$T/agg/aggregator.conf" >"$T/agg.log" 2>&1 &
agg_pid=$!
agg_port=$(port_of "$T/agg.log" "$agg_pid")
expect "aggregator: logs its /metrics URL" "$T/agg.log" test -n "$agg_port"
[ -n "$agg_port" ] || exit 1
agg_url=http://127.0.0.1:$agg_port/metrics
listen=$(sed -n 's|.*Listening on \(tcp://127\.0\.0\.1:[0-9]*\).*|\1|p' "$T/agg.log" | head -1)
check_metrics agg-start "$agg_url"
has agg-start '^fedmon_aggregator_round [0-9]+$'
has agg-start '^fedmon_aggregator_rejections_total\{reason="bad_seal"\} 0$'
if [ "$(sed -n 1p "$T/agg-start.hdr")" = 200 ] &&
    [ "$(sed -n 2p "$T/agg-start.hdr")" = "text/plain; version=0.0.4; charset=utf-8" ]; then
	ok "aggregator: 200 with the Prometheus content type"
else
	not_ok "aggregator: 200 with the Prometheus content type ($(tr '\n' ' ' <"$T/agg-start.hdr"))"
fi
fetch "http://127.0.0.1:$agg_port/other" "$T/other.txt" "$T/other.hdr"
if [ "$(sed -n 1p "$T/other.hdr")" = 404 ]; then
	ok "aggregator: another path is 404"
else
	not_ok "aggregator: another path is 404"
fi

# ---- the agent, federating with it -------------------------------------
cat >"$T/agent/agent.conf" <<EOF
[agent]
interval_ms = 100
state_dir = $T/agent/state
runtime_dir = $T/agent/run
metrics_listen = 127.0.0.1:0

[learn]
min_train_seconds = 10
retrain_seconds = 10

[federation]
aggregator = $listen
aggregator_key = $agg_pub
retry_min_ms = 200
retry_max_ms = 1000

[action note]
when = anomaly
kind = log
priority = info
EOF
"$AGENT" -c "$T/agent/agent.conf" >"$T/agent.log" 2>&1 &
agent_pid=$!
agent_port=$(port_of "$T/agent.log" "$agent_pid")
expect "agent: logs its /metrics URL" "$T/agent.log" test -n "$agent_port"
[ -n "$agent_port" ] || exit 1
agent_url=http://127.0.0.1:$agent_port/metrics
check_metrics agent-start "$agent_url"
has agent-start '^fedmon_detector_ready 0$'
has agent-start '^fedmon_sample_read_duration_seconds_bucket\{le="\+Inf"\} [0-9]+$'
has agent-start '^fedmon_actions_total\{rule="note",kind="log",result="ok"\} 0$'
has agent-start '^process_resident_memory_bytes [0-9]+$'

# ---- after training and a published round -------------------------------
expect "agent: the detector trained" "$T/agent.log" \
	wait_for agent-trained "$agent_url" fedmon_detector_ready 1
check_metrics agent-trained "$agent_url"
has agent-trained '^fedmon_anomaly_score [-+0-9.e]+$'
has agent-trained '^fedmon_feature_contribution\{feature="cpu.user"\} '
has agent-trained '^fedmon_failure_probability\{source="oom"\} '
has agent-trained '^fedmon_federation_reachable 1$'

expect "aggregator: a round published" "$T/agg.log" \
	wait_for agg-published "$agg_url" \
	fedmon_aggregator_rounds_published_total 1
check_metrics agg-published "$agg_url"
has agg-published '^fedmon_aggregator_last_round_duration_seconds [0-9.e+-]+$'
has agg-published '^fedmon_aggregator_updates_accepted_total [1-9][0-9]*$'
expect "agent: sees the fleet model" "$T/agent.log" \
	wait_for agent-fed "$agent_url" fedmon_federation_global_version 1
check_metrics agent-fed "$agent_url"

# ---- the rules and dashboards name only series the daemons export --------
# names_in FILE: the fedmon_* names FILE uses, one a line.
names_in() { grep -oE '\bfedmon_[a-z0-9_]+' "$1" | sort -u; }
# The families (# TYPE) and the series' own names (a histogram's _bucket).
cat "$T/agent-fed.txt" "$T/agg-published.txt" |
	sed -n -e 's/^# TYPE \([a-z0-9_]*\) .*/\1/p' \
	-e 's/^\([a-z_][a-z0-9_]*\)[{ ].*/\1/p' | sort -u >"$T/exported"
for file in "$@"; do
	names_in "$file" >"$T/names"
	comm -23 "$T/names" "$T/exported" >"$T/unknown"
	expect "$(basename "$file"): every fedmon_* series it names is exported ($(wc -l <"$T/names") names)" \
		"$T/unknown" test -s "$T/names" -a ! -s "$T/unknown"
done

# ---- both stop cleanly (under a sanitizer: without a report) -------------
stop() { # stop NAME PID LOG
	local rc
	kill "$2"
	wait "$2"
	rc=$?
	expect "$1: exits 0 on SIGTERM" "$3" test "$rc" -eq 0
}
stop agent "$agent_pid" "$T/agent.log"
agent_pid=
stop aggregator "$agg_pid" "$T/agg.log"
agg_pid=

echo "1..$n"
[ "$failed" -eq 0 ]
