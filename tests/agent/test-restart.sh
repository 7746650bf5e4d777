#!/bin/sh
# fedmon-agent restarted, run directly (no systemd), TAP: after its first
# training it is killed with SIGKILL and started again, then stopped with
# SIGTERM and started again. Each time `fedmonctl status --json` shows
# what it learned continuing: the samples kept (rows_held, at least what
# the first training needed, at once), the counters (scored, trainings),
# the model's true age (its training's time, not the file's) and no
# retraining at start (the schedule continues). A corrupt learner.state
# is set aside as learner.state.rejected; the models still load.
#
# Usage: test-restart.sh FEDMON_AGENT FEDMONCTL
#
# Timeouts are generous (the machine may be loaded); nothing asserts an
# exact timing.
set -u

agent=$(realpath "$1") || exit 1
ctl=$(realpath "$2") || exit 1
tmp=$(mktemp -d /tmp/fm-restart-XXXXXX) || exit 1
pid=
cleanup() {
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; }
check() {
	desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}
# wait_for SECONDS COMMAND...: polls COMMAND every 0.1 s until it succeeds.
wait_for() {
	tries=$(($1 * 10))
	shift
	while [ $tries -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		tries=$((tries - 1))
	done
	return 1
}
# json FILE: `fedmonctl status --json` into FILE.
json() { "$ctl" --runtime-dir "$tmp/run" --json status >"$1" 2>/dev/null; }
# field FILE EXPR: a value of the detector's object, e.g. rows_held.
field() {
	python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))["detector"][sys.argv[2]])' "$1" "$2"
}
start() {
	rm -f "$tmp/run/control.sock"
	"$agent" -c "$tmp/agent.conf" >>"$tmp/agent.log" 2>&1 &
	pid=$!
	wait_for 30 json "$tmp/up.json"
}
trained() {
	json "$tmp/s.json" && [ "$(field "$tmp/s.json" trainings)" -ge 1 ]
}

# 100 ms samples: 100 samples (10 s) before the first training, 600 kept
cat >"$tmp/agent.conf" <<EOF
[agent]
interval_ms = 100
state_dir = $tmp/state
runtime_dir = $tmp/run
metrics_listen =

[learn]
train_seconds = 60
min_train_seconds = 10
EOF

check "the agent starts" start
check "it trains" wait_for 120 trained
check "it checkpoints its state after the training" \
	wait_for 10 test -f "$tmp/state/learner.state"
json "$tmp/a.json"
min_rows=$(field "$tmp/a.json" min_rows)

# ---- SIGKILL --------------------------------------------------------------

kill -KILL "$pid"
wait "$pid" 2>/dev/null
pid=
check "after SIGKILL the agent starts again" start
json "$tmp/b.json"
check "SIGKILL: the samples kept are back at once (rows_held >= min_rows)" \
	test "$(field "$tmp/b.json" rows_held)" -ge "$min_rows"
check "SIGKILL: the count of samples scored continues" \
	test "$(field "$tmp/b.json" scored)" -ge "$min_rows"
check "SIGKILL: the trainings counted continue" \
	test "$(field "$tmp/b.json" trainings)" -eq 1
check "SIGKILL: the model's age is its training's" \
	test "$(field "$tmp/b.json" trained_time)" = \
	"$(field "$tmp/a.json" trained_time)"
check "SIGKILL: the model scores at once" \
	test "$(field "$tmp/b.json" ready)" = True
sleep 3
json "$tmp/c.json"
check "SIGKILL: no retraining at start (the schedule continues)" \
	test "$(field "$tmp/c.json" trainings)" -eq 1 -a \
	"$(field "$tmp/c.json" training)" = False

# ---- SIGTERM --------------------------------------------------------------

json "$tmp/c.json"
kill -TERM "$pid"
wait "$pid" 2>/dev/null
pid=
check "after SIGTERM the agent starts again" start
json "$tmp/d.json"
check "SIGTERM: nothing scored is lost" \
	test "$(field "$tmp/d.json" scored)" -ge "$(field "$tmp/c.json" scored)"
check "SIGTERM: the samples kept are all back" \
	test "$(field "$tmp/d.json" rows_held)" -ge \
	"$(field "$tmp/c.json" rows_held)"
check "SIGTERM: the model's age is still its training's" \
	test "$(field "$tmp/d.json" trained_time)" = \
	"$(field "$tmp/a.json" trained_time)"

# ---- a corrupt state file ------------------------------------------------

kill -TERM "$pid"
wait "$pid" 2>/dev/null
pid=
printf 'not a learner state' >"$tmp/state/learner.state"
check "with a corrupt learner.state the agent starts" start
json "$tmp/e.json"
check "corrupt: set aside as learner.state.rejected" \
	test -f "$tmp/state/learner.state.rejected"
check "corrupt: logged" \
	grep -q "Failed to load model '$tmp/state/learner.state'" "$tmp/agent.log"
check "corrupt: the models still load" \
	test "$(field "$tmp/e.json" ready)" = True
kill -TERM "$pid"
wait "$pid" 2>/dev/null
pid=

echo "1..$n"
exit $failed
