#!/bin/bash
# fedmonctl against a real fedmon-agent (TAP): `status` exits 0 while the
# detector warms up (learning, with the time left) and once it is trained,
# --json is one object with the documented keys and the metrics URL,
# `features`, `label failure` then `label ok`, `watch` (text, --csv,
# --count, a signal, an agent going away), exit 3 without an agent, exit 2
# for a bad usage, and the control socket's mode 0660. A second agent that
# cannot federate, cannot serve /metrics and fails a reload names each
# problem (exit 1) and logs each once as it starts and ends.
#
# Usage: test-fedmonctl.sh FEDMON_AGENT FEDMONCTL
#
# Timeouts are generous (the machine may be loaded); nothing asserts an
# exact timing.
set -u

agent=$(realpath "$1") || exit 1
ctl=$(realpath "$2") || exit 1
tmp=$(mktemp -d /tmp/fm-fedmonctl-XXXXXX) || exit 1
pid=
bpid=
cleanup() {
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	[ -n "$bpid" ] && kill -KILL "$bpid" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; }
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}
# wait_for SECONDS COMMAND...: polls COMMAND every 0.2 s until it succeeds.
wait_for() {
	local tries=$(($1 * 5))
	shift
	while [ $tries -gt 0 ]; do
		"$@" && return 0
		sleep 0.2
		tries=$((tries - 1))
	done
	return 1
}
# st ARGS...: runs fedmonctl against the agent, output in $tmp/out,
# $tmp/err, exit status in $rc.
rc=
st() {
	"$ctl" --runtime-dir "$tmp/run" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
}
status_is() { st status; [ "$rc" -eq "$1" ]; }
out_has() { grep -qF -- "$1" "$tmp/out"; }
err_has() { grep -qF -- "$1" "$tmp/err"; }

cat >"$tmp/agent.conf" <<EOF
[agent]
interval_ms = 100
state_dir = $tmp/state
runtime_dir = $tmp/run
metrics_listen = 127.0.0.1:0

[learn]
min_train_seconds = 10
EOF

# ---- without an agent -------------------------------------------------------

mkdir "$tmp/empty"
"$ctl" --runtime-dir "$tmp/empty" status >/dev/null 2>"$tmp/err"
check "no socket: exit 3" test $? -eq 3
check "no socket: says where it looked" \
	grep -qF "$tmp/empty/control.sock" "$tmp/err"
"$ctl" --socket "$tmp/empty/nothing.sock" --json status >/dev/null 2>&1
check "--socket to nothing: exit 3" test $? -eq 3
"$ctl" --runtime-dir "$tmp/empty" watch --csv >/dev/null 2>&1
check "watch without an agent: exit 3" test $? -eq 3

# ---- usage errors -----------------------------------------------------------

"$ctl" >/dev/null 2>&1
check "no command: exit 2" test $? -eq 2
"$ctl" frobnicate >/dev/null 2>&1
check "unknown command: exit 2" test $? -eq 2
"$ctl" --bogus status >/dev/null 2>&1
check "unknown option: exit 2" test $? -eq 2
"$ctl" --runtime-dir "$tmp/run" label maybe >/dev/null 2>&1
check "label maybe: exit 2" test $? -eq 2
"$ctl" --runtime-dir "$tmp/run" status extra >/dev/null 2>&1
check "status with an operand: exit 2" test $? -eq 2
"$ctl" --timeout 0 status >/dev/null 2>&1
check "--timeout 0: exit 2" test $? -eq 2
"$ctl" --runtime-dir "$tmp/run" --socket "$tmp/x" status >/dev/null 2>&1
check "--runtime-dir with --socket: exit 2" test $? -eq 2
"$ctl" --runtime-dir "$tmp/run" watch --json >/dev/null 2>&1
check "watch --json: exit 2" test $? -eq 2
"$ctl" --runtime-dir "$tmp/run" status --csv >/dev/null 2>&1
check "status --csv (a watch option): exit 2" test $? -eq 2
"$ctl" --runtime-dir "$tmp/run" watch --interval-ms 5 >/dev/null 2>&1
check "watch --interval-ms 5: exit 2" test $? -eq 2
"$ctl" --runtime-dir "$tmp/run" watch --count 0 >/dev/null 2>&1
check "watch --count 0: exit 2" test $? -eq 2
"$ctl" --runtime-dir "$tmp/run" watch now >/dev/null 2>&1
check "watch with an operand: exit 2" test $? -eq 2
"$ctl" --help >"$tmp/help" 2>&1
check "--help: exit 0" test $? -eq 0
check "--help documents the exit statuses next to Nagios's" \
	grep -q "3 \[UNKNOWN\]   agent unreachable" "$tmp/help"
check "--help: learning is OK, degraded a WARNING" \
	grep -q "0 \[OK\]        healthy, or learning" "$tmp/help"
check "--help documents watch" \
	grep -qF "watch [--interval-ms MS] [--csv] [--count N]" "$tmp/help"

# ---- keygen -------------------------------------------------------------------

"$ctl" keygen "$tmp/k.key" >"$tmp/k.out" 2>/dev/null
check "keygen: exit 0" test $? -eq 0
check "keygen: prints the public key, as in FILE.pub" \
	test "$(cat "$tmp/k.out")" = "$(cat "$tmp/k.key.pub")" -a \
	"$(wc -c <"$tmp/k.out")" -eq 45
check "keygen: the secret key is mode 0600" \
	test "$(stat -c %a "$tmp/k.key")" = 600
cp "$tmp/k.key" "$tmp/k.orig"
"$ctl" keygen "$tmp/k.key" >/dev/null 2>"$tmp/err"
check "keygen over a key: exit 1, says why" \
	test $? -eq 1 -a -n "$(grep -F 'not replacing' "$tmp/err")"
check "keygen over a key: the key is unchanged" cmp -s "$tmp/k.key" "$tmp/k.orig"
"$ctl" keygen "$tmp/k.key" --force >/dev/null 2>&1
check "keygen FILE --force: exit 0" test $? -eq 0
check "keygen FILE --force: a new key" bash -c "! cmp -s '$tmp/k.key' '$tmp/k.orig'"
"$ctl" keygen >/dev/null 2>&1
check "keygen without FILE: exit 2" test $? -eq 2
"$ctl" --json keygen "$tmp/k2.key" >/dev/null 2>&1
check "--json keygen: exit 2" test $? -eq 2

# ---- a running agent --------------------------------------------------------

"$agent" -c "$tmp/agent.conf" >"$tmp/agent.log" 2>&1 &
pid=$!
sock_up() { [ -S "$tmp/run/control.sock" ]; }
check "the agent opens its control socket" wait_for 30 sock_up
check "the socket file is mode 0660" \
	test "$(stat -c %a "$tmp/run/control.sock")" = 660

st status
check "warming up: status exits 0 (learning, not degraded)" test "$rc" -eq 0
check "warming up: the summary says learning, with the time left" \
	grep -qE '^health: +learning: detector warming up, [0-9]+ of 100 samples, ([0-9.]+ s|[0-9]+m[0-9]+s) left$|first training' "$tmp/out"
check "the summary shows the metrics URL" \
	grep -qE '^metrics: +http://127\.0\.0\.1:[0-9]+/metrics$' "$tmp/out"
check "the summary shows sampling" out_has "every 100 ms"
check "the summary shows federation" out_has "standalone"

st status --json
check "--json while warming up: exit 0" test "$rc" -eq 0
check "--json: one JSON object with the documented keys" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert isinstance(d, dict)
for k in ("healthy", "problems", "agent", "sampling", "detector",
          "failure_predictors", "federation", "actions", "metrics_url"):
    assert k in d, k
assert d["state"] == "learning", d["state"]
assert d["healthy"] is True and d["problems"] == []
assert d["metrics_url"].startswith("http://127.0.0.1:")
assert d["metrics_url"].endswith("/metrics")
assert d["agent"]["pid"] > 0 and d["sampling"]["interval_ms"] == 100
assert d["detector"]["enabled"] is True and d["detector"]["ready"] is False
assert d["federation"]["configured"] is False
assert [p["source"] for p in d["failure_predictors"]] == \
    ["oom", "fs_full", "health", "manual"]
assert d["actions"]["rules"] == []
' "$tmp/out"

trained() { status_is 0 && out_has "health:     healthy"; }
check "trained: status exits 0 (healthy)" wait_for 120 trained
check "trained: the summary says healthy" out_has "health:     healthy"
check "trained: the summary shows the score" out_has "threshold"
st status --json
check "trained --json: healthy, ready, scored" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["healthy"] is True and d["problems"] == []
assert d["state"] == "healthy"
assert d["detector"]["ready"] is True
assert d["detector"]["trainings"] >= 1
assert isinstance(d["detector"]["score"], float)
assert d["detector"]["model_age_seconds"] >= 0
' "$tmp/out"

st features
check "features: exit 0" test "$rc" -eq 0
nfeatures=$("$agent" --list-features | wc -l)
check "features: one line per feature and a header" \
	test "$(wc -l <"$tmp/out")" -eq $((nfeatures + 1))
check "features: cpu.user with its unit" \
	grep -qE '^cpu\.user +[-0-9.e]+ +fraction$' "$tmp/out"
st features --json
check "features --json: names, values, units" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
names = [f["name"] for f in d["features"]]
assert "cpu.user" in names and "fs.fullest" in names
assert all("unit" in f and "value" in f for f in d["features"])
assert d["timestamp"] > 0
' "$tmp/out"

st label failure
check "label failure: exit 0" test "$rc" -eq 0
check "label failure: changed" out_has "set to 'failure'"
st label failure --timeout 5000
check "label failure again, an option after the operand: nothing changed" \
	out_has "already 'failure'"
st --json status
check "status shows the manual failure" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
m = [p for p in d["failure_predictors"] if p["source"] == "manual"][0]
assert m["failing"] is True
' "$tmp/out"
st label ok
check "label ok: exit 0" test "$rc" -eq 0
check "label ok: changed" out_has "set to 'ok'"
check "the agent logged both labels" \
	grep -q "Manual failure label cleared" "$tmp/agent.log"

st accept
check "accept: exit 0" test "$rc" -eq 0
check "accept: says the detector retrains" out_has "retrains now"
check "the agent logged the operator's accept" \
	wait_for 10 grep -q "operator accepted the current state" "$tmp/agent.log"
st --json status
check "status counts the accept" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))["detector"]
assert d["accepts"] == 1, d["accepts"]
assert d["events"] >= d["alarms"]
assert isinstance(d["young"], bool) and 0 <= d["prior_weight"] < 1
' "$tmp/out"

st watch --count 3
check "watch --count 3: exit 0" test "$rc" -eq 0
check "watch --count 3: three lines with score and threshold" \
	test "$(grep -cE '^[0-9:]+ score [0-9.]+ / [0-9.]+ (ok|ALARM)' \
	"$tmp/out")" -eq 3 -a "$(wc -l <"$tmp/out")" -eq 3
st watch --csv --count 5 --interval-ms 20
check "watch --csv --count 5: exit 0" test "$rc" -eq 0
check "watch --csv: a header, then one row per new sample" python3 -c '
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
head, rows = rows[0], rows[1:]
assert len(rows) == 5, len(rows)
assert head[:10] == ["time", "sample", "ready", "score", "threshold",
    "alarm", "alarms", "events", "trainings", "top_features"], head
assert head[10:10 + int(sys.argv[2])][0] == "cpu.user", head[10]
assert head[-8:] == ["p_oom", "events_oom", "p_fs_full", "events_fs_full",
    "p_health", "events_health", "p_manual", "events_manual"], head[-8:]
assert len(head) == 10 + int(sys.argv[2]) + 8, len(head)
for r in rows:
    assert len(r) == len(head), (len(r), len(head))
    assert r[2] == "1" and float(r[3]) >= 0 and float(r[4]) > 0
    assert r[5] in ("0", "1")
    assert int(r[7]) >= int(r[6])
    assert all("=" in t for t in r[9].split(";")), r[9]
    assert float(r[10]) >= 0
t = [float(r[0]) for r in rows]
n = [int(r[1]) for r in rows]
assert all(b > a for a, b in zip(t, t[1:])), t
assert all(b > a for a, b in zip(n, n[1:])), n
' "$tmp/out" "$nfeatures"

"$ctl" --runtime-dir "$tmp/run" watch --csv >"$tmp/watch.csv" 2>"$tmp/watch.err" &
wpid=$!
enough_rows() { [ "$(wc -l <"$tmp/watch.csv")" -ge 11 ]; }
check "watch keeps printing rows" wait_for 30 enough_rows
kill -TERM "$wpid"
wait "$wpid"
check "watch on SIGTERM: exit 0" test $? -eq 0
check "watch: one header, then rows of samples one after another" python3 -c '
import sys
lines = open(sys.argv[1]).read().splitlines()
assert lines[0].startswith("time,sample,"), lines[0]
assert sum(l.startswith("time,") for l in lines) == 1
n = [int(l.split(",")[1]) for l in lines[1:]]
assert len(n) >= 10 and all(b > a for a, b in zip(n, n[1:])), n
# polling at half the agent interval: few samples missed, if any
assert n[-1] - n[0] + 1 <= 2 * len(n), n
' "$tmp/watch.csv"
"$ctl" --runtime-dir "$tmp/run" watch >"$tmp/watch.out" 2>"$tmp/watch.err" &
wpid=$!
watching() { grep -q ' score ' "$tmp/watch.out"; }
check "watch: text lines" wait_for 30 watching

# ---- nothing silent: a second agent that cannot federate (no key file),
# whose /metrics port is the first one's, whose reload fails, and that
# cannot save its models (a directory where the model file's temporary
# copy goes stands for a full disk) -----------------------------------------

st status
port=$(sed -n 's|^metrics: *http://127\.0\.0\.1:\([0-9]*\)/metrics$|\1|p' "$tmp/out")
check "the first agent's /metrics port is known" test -n "$port"
mkdir -p "$tmp/b"
cat >"$tmp/b.conf" <<EOF
[agent]
interval_ms = 100
state_dir = $tmp/b/state
runtime_dir = $tmp/b/run
metrics_listen = 127.0.0.1:$port

[learn]
min_train_seconds = 10

[federation]
aggregator = tcp://127.0.0.1:1
aggregator_key = $(cat "$tmp/k.key.pub")
key_file = $tmp/b/no-such.key
EOF
cp "$tmp/b.conf" "$tmp/b.good"
mkdir -p "$tmp/b/state/detector.fmm.tmp"
"$agent" -c "$tmp/b.conf" >"$tmp/b.log" 2>&1 &
bpid=$!
stb() {
	"$ctl" --runtime-dir "$tmp/b/run" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
}
b_up() { [ -S "$tmp/b/run/control.sock" ]; }
check "the second agent opens its control socket" wait_for 30 b_up
stb status
check "federation failing, /metrics not served: exit 1" test "$rc" -eq 1
check "the problem federation is named, with why" \
	out_has "federation: cannot federate with tcp://127.0.0.1:1: No such file"
check "the problem metrics is named, with why" \
	out_has "metrics: not served on 127.0.0.1:$port: Address already in use"
started_logged() {
	test "$(grep -c '^<4>Problem federation: cannot federate' "$tmp/b.log")" -eq 1 &&
	test "$(grep -c '^<4>Problem metrics: not served' "$tmp/b.log")" -eq 1
}
check "the journal says each problem once as it starts" \
	wait_for 10 started_logged
echo 'no_such_key = 1' >>"$tmp/b.conf"
kill -HUP "$bpid"
reload_failed() { stb status; out_has "reload: failed at "; }
check "a failed reload is a problem" wait_for 20 reload_failed
check "the reload problem says why" out_has "running configuration kept:"
# (the sampling thread writes the line at its next sample)
reload_logged() {
	test "$(grep -c '^<4>Problem reload: failed at ' "$tmp/b.log")" -eq 1
}
check "the journal says it once" wait_for 10 reload_logged
cp "$tmp/b.good" "$tmp/b.conf"
kill -HUP "$bpid"
reload_ok() { stb status; [ "$rc" -eq 1 ] && ! out_has "reload:"; }
check "a reload that succeeds ends it" wait_for 20 reload_ok
reload_ended() { grep -q '^<5>Problem reload: resolved\.$' "$tmp/b.log"; }
check "the journal says it ended" wait_for 10 reload_ended
stb --json status
check "--json: state degraded, the problems listed" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["state"] == "degraded" and d["healthy"] is False
names = [p.split(":")[0] for p in d["problems"]]
assert names[:2] == ["federation", "metrics"], names
assert set(names[2:]) <= {"save"}, names
' "$tmp/out"
save_failed() { stb status; out_has "save: models not saved in $tmp/b/state: Is a directory"; }
check "models not saved: a problem, with why" wait_for 120 save_failed
save_logged() { grep -q '^<4>Problem save: models not saved' "$tmp/b.log"; }
check "the journal says it" wait_for 10 save_logged
kill -TERM "$bpid"
wait "$bpid"
check "the second agent stops cleanly" test $? -eq 0
bpid=
check "the first agent's /metrics: every problem series, federation off 0" \
	python3 -c '
import sys, urllib.request
body = urllib.request.urlopen(sys.argv[1], timeout=10).read().decode()
lines = body.splitlines()
for p in ("collectors", "sampling", "federation", "metrics", "reload",
          "training", "save"):
    line = "fedmon_agent_problem{problem=\"%s\"} 0" % p
    assert line in lines, line
assert "fedmon_agent_learning 0" in lines
' "http://127.0.0.1:$port/metrics"

# ---- a stopped agent --------------------------------------------------------

kill -TERM "$pid"
wait "$pid"
check "the agent stops cleanly" test $? -eq 0
pid=
check "it removed its socket" test ! -e "$tmp/run/control.sock"
says_away() { grep -qF "the agent is away; still trying" "$tmp/watch.err"; }
check "watch: says the agent is away" wait_for 30 says_away
check "watch outlives the agent" kill -0 "$wpid"
kill -INT "$wpid"
wait "$wpid"
check "watch on SIGINT: exit 0" test $? -eq 0
st status
check "stopped: exit 3" test "$rc" -eq 3

echo "1..$n"
exit $failed
