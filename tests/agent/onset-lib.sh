# Onset to action, shared by tests/agent/test-onset.sh and
# bench/bench-onset.sh (sourced, bash): a fedmon-agent sampling every
# second with a hook rule on the anomaly alarm, trained on this host at
# rest, then stress-ng started and the time until the hook's marker.
#
# onset_train starts a new agent on an empty state directory and waits
# for its first training (min_train_seconds of this host at rest);
# onset_once then measures one onset on it and stops the load as soon as
# the hook ran, so that a few seconds of load are all the agent's
# history holds of it: the level-shift guard (a median over days) and
# the gated baseline do not move, and the next onset on the same agent
# measures the same detector.
#
# The hook writes the marker atomically: its own CLOCK_REALTIME
# (date +%s.%N) on the first line, then its FEDMON_* environment.
#
# Every wait polls at one steady rhythm (onset_tick: one sleep(1) process
# every 0.1 s, the rest bash builtins) from the agent's start to the
# hook: on a quiet machine this harness is much of what the agent sees,
# and a loop that forked grep ten times a second while the agent trained
# and date once a second afterwards was itself an anomaly (forks and
# context switches far from their trained level) that fired the hook
# before any load.
#
# Set before calling: ONSET_DIR (an empty temporary directory). The
# functions set ONSET_AGENT_PID and ONSET_STRESS_PID (cleared when
# stopped); onset_cleanup kills what is left.

ONSET_AGENT_PID=
ONSET_STRESS_PID=
ONSET_QUIET_SINCE=0

# onset_config ALARM_SAMPLES COOLDOWN_SECONDS [TRAIN_SECONDS]: writes
# the agent's config and the hook into ONSET_DIR; min_train_seconds is
# TRAIN_SECONDS, 64 (the least the detector takes) when left out.
onset_config() {
	local alarm=$1 cooldown=$2 train=${3:-64} d=$ONSET_DIR
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
min_train_seconds = $train
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
	ONSET_QUIET_SINCE=$EPOCHSECONDS
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

# onset_tick: the one pause of every wait (see above).
onset_tick() { sleep 0.1; }

# onset_logged TEXT: whether the agent's log has a line holding TEXT
# (builtins only).
onset_logged() {
	local line
	[ -r "$ONSET_DIR/agent.log" ] || return 1
	while IFS= read -r line; do
		[[ $line == *"$1"* ]] && return 0
	done <"$ONSET_DIR/agent.log"
	return 1
}

# onset_wait_trained SECONDS: until the agent logs its first training.
onset_wait_trained() {
	local deadline=$((SECONDS + $1))
	while [ $SECONDS -lt $deadline ]; do
		onset_logged 'Trained the models' && return 0
		onset_agent_alive || return 1
		onset_tick
	done
	return 1
}

# onset_wait_quiet SECONDS TIMEOUT: until the hook has not fired for
# SECONDS (the alarm cleared; and the agent ran that long), at most
# TIMEOUT seconds; then removes the marker.
onset_wait_quiet() {
	local quiet=$1 deadline=$((SECONDS + $2)) last
	while [ $SECONDS -lt $deadline ]; do
		last=$ONSET_QUIET_SINCE
		if [ -s "$ONSET_DIR/marker" ]; then
			read -r last <"$ONSET_DIR/marker"
			last=${last%%.*}
		fi
		if [ $((EPOCHSECONDS - last)) -ge "$quiet" ]; then
			rm -f "$ONSET_DIR/marker"
			return 0
		fi
		onset_tick
	done
	return 1
}

# onset_stress_start SECONDS: starts stress-ng on every CPU (and one
# memory worker), recording its start time in ONSET_T0.
onset_stress_start() {
	ONSET_T0=$EPOCHREALTIME
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
		onset_tick
	done
	return 1
}

# onset_train AGENT TIMEOUT: starts a new agent on an empty state
# directory (left running, its log in ONSET_DIR/agent.log) and waits
# for its first training. Fails, with why in ONSET_WHY, after TIMEOUT
# seconds. Not in a subshell: it sets the PID cleanup needs.
onset_train() {
	local agent=$1 timeout=$2
	rm -rf "$ONSET_DIR/state" "$ONSET_DIR/marker" "$ONSET_DIR/agent.log"
	mkdir -p "$ONSET_DIR/state" || return 1
	onset_agent_start "$agent"
	ONSET_WHY="no training within $timeout s"
	onset_wait_trained "$timeout"
}

# onset_once TIMEOUT: on the trained agent, waits for 10 quiet seconds,
# starts the load (60 s at most) and sets ONSET_LATENCY once the hook
# ran, then stops the load. Fails, with why in ONSET_WHY, when a step
# takes longer than TIMEOUT seconds.
onset_once() {
	local timeout=$1
	# An alarm from other work on this machine is not the onset: 10 s
	# scored without one (the detector's smoothing settles, and a score
	# already over the threshold would count towards alarm_samples).
	ONSET_QUIET_SINCE=$EPOCHSECONDS
	ONSET_WHY="no 10 quiet seconds within $timeout s"
	onset_wait_quiet 10 "$timeout" || return 1
	# the quiet wait ends on a whole second, and so may the agent's
	# sampling: a random phase keeps the two from locking together
	sleep "$(printf '0.%03d' $((RANDOM % 1000)))"
	onset_stress_start 60
	ONSET_WHY="no action during the load (60 s)"
	onset_wait_marker 70
	local r=$?
	onset_stress_stop
	[ $r -eq 0 ] || return 1
	ONSET_WHY="an alarm ${ONSET_LATENCY} s before the load"
	awk -v l="$ONSET_LATENCY" 'BEGIN { exit !(l >= 0) }'
}

# onset_run AGENT TIMEOUT: onset_train, then onset_once.
onset_run() {
	onset_train "$1" "$2" && onset_once "$2"
}

onset_cleanup() {
	onset_stress_stop
	onset_agent_stop
}
