# Onset to action, shared by tests/agent/test-onset.sh and
# bench/bench-onset.sh (sourced, bash): a fedmon-agent sampling every
# second with a hook rule on the anomaly alarm, trained on this host at
# rest, then stress-ng started and the time until the hook's marker.
#
# Each run starts a new agent on an empty state directory, so that it
# trains on the last 64 samples at rest: what is "at rest" drifts on a
# shared machine (other builds, load averages decaying), and a detector
# that has already seen the load raises its own threshold (its level-shift
# guard), which repeated runs on one agent would measure instead.
#
# The hook writes the marker atomically: its own CLOCK_REALTIME
# (date +%s.%N) on the first line, then its FEDMON_* environment.
#
# Set before calling: ONSET_DIR (an empty temporary directory). The
# functions set ONSET_AGENT_PID and ONSET_STRESS_PID (cleared when
# stopped); onset_cleanup kills what is left.

ONSET_AGENT_PID=
ONSET_STRESS_PID=
ONSET_QUIET_SINCE=0

# onset_config ALARM_SAMPLES COOLDOWN_SECONDS: writes the agent's config
# and the hook into ONSET_DIR.
onset_config() {
	local alarm=$1 cooldown=$2 d=$ONSET_DIR
	mkdir -p "$d/state" "$d/run" || return 1
	cat >"$d/hook" <<'HOOK' || return 1
#!/bin/sh
now=$(date +%s.%N)
{ echo "$now"; env | grep '^FEDMON_' | sort; } >"$1.tmp" && mv "$1.tmp" "$1"
HOOK
	chmod 755 "$d/hook" || return 1
	cat >"$d/agent.conf" <<CONF || return 1
[agent]
interval_ms = 1000
state_dir = $d/state
runtime_dir = $d/run
log_level = info
metrics_listen =

[labels]
fs_full_percent = 0

[learn]
min_train_seconds = 64
alarm_samples = $alarm

[action onset]
when = anomaly
hold_seconds = 0
cooldown_seconds = $cooldown
max_per_hour = 3600
kind = hook
command = $d/hook $d/marker
timeout_ms = 10000
CONF
}

# onset_agent_start AGENT: starts it on ONSET_DIR's config, its log in
# ONSET_DIR/agent.log (appended).
onset_agent_start() {
	"$1" --config "$ONSET_DIR/agent.conf" >>"$ONSET_DIR/agent.out" \
		2>>"$ONSET_DIR/agent.log" &
	ONSET_AGENT_PID=$!
	ONSET_QUIET_SINCE=$(date +%s)
}

# onset_agent_stop: SIGTERM (the models are saved) and its exit status.
onset_agent_stop() {
	local rc=0
	[ -n "$ONSET_AGENT_PID" ] || return 0
	kill -TERM "$ONSET_AGENT_PID" 2>/dev/null
	wait "$ONSET_AGENT_PID" 2>/dev/null || rc=$?
	ONSET_AGENT_PID=
	return $rc
}

onset_agent_alive() { kill -0 "$ONSET_AGENT_PID" 2>/dev/null; }

# onset_wait_trained SECONDS: until the agent logs its first training.
onset_wait_trained() {
	local deadline=$((SECONDS + $1))
	while [ $SECONDS -lt $deadline ]; do
		grep -qs 'Trained the models' "$ONSET_DIR/agent.log" && return 0
		onset_agent_alive || return 1
		sleep 0.1
	done
	return 1
}

# onset_wait_quiet SECONDS TIMEOUT: until the hook has not fired for
# SECONDS (the alarm cleared; and the agent ran that long), at most
# TIMEOUT seconds; then removes the marker.
onset_wait_quiet() {
	local quiet=$1 deadline=$((SECONDS + $2)) age last
	while [ $SECONDS -lt $deadline ]; do
		last=$ONSET_QUIET_SINCE
		if [ -e "$ONSET_DIR/marker" ]; then
			last=$(stat -c %Y "$ONSET_DIR/marker")
		fi
		age=$(($(date +%s) - last))
		if [ "$age" -ge "$quiet" ]; then
			rm -f "$ONSET_DIR/marker"
			return 0
		fi
		sleep 1
	done
	return 1
}

# onset_stress_start SECONDS: starts stress-ng on every CPU (and one
# memory worker), recording its start time in ONSET_T0.
onset_stress_start() {
	ONSET_T0=$(date +%s.%N)
	stress-ng --cpu 0 --vm 1 --vm-bytes 64M --timeout "${1}s" \
		>/dev/null 2>&1 &
	ONSET_STRESS_PID=$!
}

onset_stress_stop() {
	[ -n "$ONSET_STRESS_PID" ] || return 0
	kill -TERM "$ONSET_STRESS_PID" 2>/dev/null
	wait "$ONSET_STRESS_PID" 2>/dev/null
	ONSET_STRESS_PID=
}

# onset_wait_marker TIMEOUT: until the hook's marker appears; sets
# ONSET_LATENCY to the seconds from ONSET_T0 to the hook's own time.
onset_wait_marker() {
	local deadline=$((SECONDS + $1)) t1
	while [ $SECONDS -lt $deadline ]; do
		if [ -s "$ONSET_DIR/marker" ]; then
			read -r t1 <"$ONSET_DIR/marker"
			ONSET_LATENCY=$(awk -v a="$ONSET_T0" -v b="$t1" \
				'BEGIN { printf "%.3f", b - a }')
			return 0
		fi
		sleep 0.05
	done
	return 1
}

# onset_run AGENT TIMEOUT: one run on a new agent (left running, its log
# in ONSET_DIR/agent.log): trains, waits for 10 quiet seconds, starts the
# load (60 s at most, left running) and sets ONSET_LATENCY once the hook
# ran. Fails, with why in ONSET_WHY, when a step takes longer than
# TIMEOUT seconds. Not in a subshell: it sets the PIDs cleanup needs.
onset_run() {
	local agent=$1 timeout=$2
	rm -rf "$ONSET_DIR/state" "$ONSET_DIR/marker" "$ONSET_DIR/agent.log"
	mkdir -p "$ONSET_DIR/state" || return 1
	onset_agent_start "$agent"
	ONSET_WHY="no training within $timeout s"
	onset_wait_trained "$timeout" || return 1
	# An alarm from other work on this machine is not the onset: 10 s
	# scored after the training without one (the detector's smoothing
	# settles, and a score already over the threshold would count
	# towards alarm_samples).
	ONSET_QUIET_SINCE=$(date +%s)
	ONSET_WHY="no 10 quiet seconds within $timeout s"
	onset_wait_quiet 10 "$timeout" || return 1
	onset_stress_start 60
	ONSET_WHY="no action during the load (60 s)"
	onset_wait_marker 70 || return 1
	ONSET_WHY="an alarm ${ONSET_LATENCY} s before the load"
	awk -v l="$ONSET_LATENCY" 'BEGIN { exit !(l >= 0) }'
}

onset_cleanup() {
	onset_stress_stop
	onset_agent_stop
}
