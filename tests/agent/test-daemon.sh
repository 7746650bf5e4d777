#!/bin/sh
# fedmon-agent as systemd runs it (Type=notify), without systemd: a fake
# NOTIFY_SOCKET records what the agent reports while the test reloads it
# (a good configuration, then a broken one) and stops it.
#
# Usage: test-daemon.sh FEDMON_AGENT
#
# Timeouts are generous (the machine may be loaded); nothing asserts an
# exact timing. Output is TAP.
set -u

agent=$(realpath "$1") || exit 1
tmp=$(mktemp -d /tmp/fm-daemon-XXXXXX) || exit 1
umask 022
pid=
recorder=
cleanup() {
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	[ -n "$recorder" ] && kill "$recorder" 2>/dev/null
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
# Datagrams, one a line, newlines within one shown as '|'.
notes() { cat "$tmp/notify.log" 2>/dev/null; }
count() { notes | grep -cxF -- "$1"; }
has_note() { notes | grep -qxF -- "$1"; }
logged() { grep -qE -- "$1" "$tmp/agent.log"; }
alive() { kill -0 "$pid" 2>/dev/null; }

# ---- the fake service manager ---------------------------------------------

cat >"$tmp/recorder.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a") as log:
    while True:
        d = s.recv(65536).decode("utf-8", "replace")
        log.write(d.replace("\n", "|") + "\n")
        log.flush()
EOF
python3 "$tmp/recorder.py" "$tmp/notify.sock" "$tmp/notify.log" &
recorder=$!
if ! wait_for 30 test -S "$tmp/notify.sock"; then
	echo "Bail out! the notify recorder did not start"
	exit 1
fi

# ---- the agent --------------------------------------------------------------

state=$tmp/var/lib/fedmon
runtime=$tmp/run/fedmon
write_config() { # write_config LOG_LEVEL [EXTRA_LINE]
	cat >"$tmp/agent.conf" <<EOF
[agent]
interval_ms = 100
state_dir = $state
runtime_dir = $runtime
log_level = $1
metrics_listen =
${2:-}

[learn]
min_train_seconds = 10
EOF
}
write_config info

# WATCHDOG_PID names the agent itself: exec keeps the shell's pid.
NOTIFY_SOCKET=$tmp/notify.sock WATCHDOG_USEC=2000000 \
    sh -c 'WATCHDOG_PID=$$ exec "$0" -c "$1"' "$agent" "$tmp/agent.conf" \
    2>"$tmp/agent.log" &
pid=$!

check "READY=1 arrives" wait_for 60 has_note "READY=1|STATUS=Sampling"
check "missing state_dir created 0750" \
    test "$(stat -c %a "$state" 2>/dev/null)" = 750
check "missing runtime_dir created 0755" \
    test "$(stat -c %a "$runtime" 2>/dev/null)" = 755
# WATCHDOG_USEC=2 s: a ping every second
watchdog_at_least() { [ "$(count WATCHDOG=1)" -ge "$1" ]; }
check "WATCHDOG=1 arrives repeatedly" wait_for 60 watchdog_at_least 3

# ---- SIGHUP: a good configuration, then a broken one -------------------------

write_config debug
# the reload reads the drop-ins too, and names what needs a restart
mkdir "$tmp/agent.conf.d"
printf '[agent]\ninterval_ms = 150\n' >"$tmp/agent.conf.d/10-slower.conf"
kill -HUP "$pid"
check "reload: RELOADING=1 then READY=1" \
    wait_for 60 sh -c "grep -A1 -xF RELOADING=1 '$tmp/notify.log' |
	grep -qxF READY=1"
check "reload: 'Configuration reloaded' logged" \
    wait_for 60 logged 'Configuration reloaded'
check "reload: a drop-in's interval_ms named as needing a restart" \
    wait_for 60 logged \
    'changes to \[agent\] interval_ms take effect at the next restart'

before=$(count WATCHDOG=1)
write_config debug 'no_such_key = 1'
kill -HUP "$pid"
check "broken reload: the file, line and key are logged" \
    wait_for 60 logged "agent\\.conf:7: unknown key 'no_such_key'"
check "broken reload: 'Keeping the running configuration' logged" \
    wait_for 60 logged 'Keeping the running configuration'
check "broken reload: READY=1 again, saying why" \
    wait_for 60 has_note \
    'READY=1|STATUS=Reload failed: kept the running configuration'
check "broken reload: still running" alive
check "broken reload: the watchdog keeps coming (still sampling)" \
    wait_for 60 watchdog_at_least $((before + 3))

# ---- SIGTERM: the models are saved -----------------------------------------

# The first training writes detector.fmm itself; remove it, so that only
# saving on the way out can bring it back.
check "the detector trains" \
    wait_for 120 logged 'Trained the models on [0-9]+ samples'
check "detector.fmm written by the training" \
    wait_for 60 test -s "$state/detector.fmm"
rm -f "$state/detector.fmm"

kill -TERM "$pid"
wait "$pid"
rc=$?
pid=
check "SIGTERM: exit status 0" test $rc -eq 0
check "SIGTERM: STOPPING=1 sent" has_note 'STOPPING=1|STATUS=Saving the models'
check "SIGTERM: detector.fmm saved on the way out" test -s "$state/detector.fmm"

# Every stderr line carries a journald priority.
check "every log line starts with <N>" \
    sh -c "! grep -vqE '^<[0-7]>' '$tmp/agent.log'"
if [ $failed -ne 0 ]; then
	echo "# agent log (last 30 lines):"
	tail -n 30 "$tmp/agent.log" | sed 's/^/# /'
	echo "# notifications:"
	sed 's/^/# /' "$tmp/notify.log" | sort | uniq -c | sed 's/^/# /'
fi

# ---- installed defaults -----------------------------------------------------

# --help names the configuration read with no arguments: /etc/fedmon when
# built with prefix /usr (sysconfdir /etc), PREFIX/etc/fedmon otherwise.
help=$("$agent" --help)
if printf '%s\n' "$help" | grep -qE 'default (/usr/local)?/etc/fedmon/agent\.conf\)'; then
	ok "--help names the default configuration"
else
	not_ok "--help names the default configuration"
	printf '%s\n' "$help" | sed 's/^/# /'
fi

# --dump-config: the file, its drop-ins and the defaults, as a file that
# loads back to the same configuration (the two-line header aside).
write_config info
if "$agent" -c "$tmp/agent.conf" --dump-config >"$tmp/dump1.conf" &&
    "$agent" -c "$tmp/dump1.conf" --dump-config >"$tmp/dump2.conf"; then
	ok "--dump-config exits 0, and so does its output loaded back"
else
	not_ok "--dump-config exits 0, and so does its output loaded back"
fi
check "--dump-config: the drop-in's value is there" \
    grep -qxF 'interval_ms = 150' "$tmp/dump1.conf"
check "--dump-config: the output loads back to the same" \
    sh -c "tail -n +3 '$tmp/dump1.conf' >'$tmp/a' &&
	tail -n +3 '$tmp/dump2.conf' >'$tmp/b' && cmp -s '$tmp/a' '$tmp/b'"

echo "1..$n"
exit $failed
