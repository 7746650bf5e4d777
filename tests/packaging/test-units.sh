#!/bin/sh
# The packaged systemd units, sysusers.d and tmpfiles.d files and polkit
# rule (packaging/), checked without running systemd or polkitd.
#
# Usage: test-units.sh PACKAGING_DIR FEDMON_AGENT FEDMON_AGGREGATOR
#
# systemd-analyze verify needs ExecStart= to exist, so each unit is
# verified as a copy running the built binary instead of /usr/sbin's.
# Output is TAP.
set -u

# absolute: ExecStart= needs it, and the tests change no directory
pkg=$(realpath "$1") || exit 1
agent=$(realpath "$2") || exit 1
aggregator=$(realpath "$3") || exit 1
# The highest overall exposure `systemd-analyze security` may report
# (0 = fully locked down, 10 = unprotected); packaging/README.md says
# what the units score.
max_exposure=3.0

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
diag() { sed 's/^/# /'; }
check() { # check DESCRIPTION COMMAND...: ok when COMMAND succeeds
	desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

tmp=$(mktemp -d /tmp/fm-units-XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT

# ---- units ----------------------------------------------------------------

# Directives both units must carry: the sandbox the issue asks for.
common_directives='Type=notify
NotifyAccess=main
WatchdogSec=30s
ExecReload=/bin/kill -HUP $MAINPID
Restart=on-failure
NoNewPrivileges=yes
CapabilityBoundingSet=
AmbientCapabilities=
ProtectSystem=strict
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
SystemCallArchitectures=native
SystemCallFilter=@system-service
Wants=network-online.target
After=network-online.target'

agent_directives='ExecStart=/usr/sbin/fedmon-agent
User=fedmon
Group=fedmon
StateDirectory=fedmon
StateDirectoryMode=0750
RuntimeDirectory=fedmon
RuntimeDirectoryMode=0755
UMask=0027
ProtectHome=read-only
ProtectProc=default'

aggregator_directives='ExecStart=/usr/sbin/fedmon-aggregator
User=fedmon-aggregator
Group=fedmon-aggregator
StateDirectory=fedmon-aggregator
StateDirectoryMode=0700
ProtectHome=yes
ProtectProc=invisible'

# has_lines FILE LINES: every line of LINES is a whole line of FILE.
has_lines() {
	missing=$(printf '%s\n' "$2" | while IFS= read -r line; do
		grep -qxF -- "$line" "$1" || echo "$line"
	done)
	[ -z "$missing" ] && return 0
	echo "$missing" | sed 's/^/missing: /' | diag
	return 1
}

for unit in fedmon-agent fedmon-aggregator; do
	src=$pkg/systemd/$unit.service
	copy=$tmp/$unit.service
	case $unit in
	fedmon-agent)
		bin=$agent
		extra=$agent_directives
		;;
	*)
		bin=$aggregator
		extra=$aggregator_directives
		;;
	esac

	check "$unit: hardening and service directives present" \
	    has_lines "$src" "$common_directives
$extra"
	# Nothing that would hide processes from the agent or give the
	# sandbox back.
	check "$unit: no ProcSubset=, PrivateNetwork=, PrivateUsers=" \
	    sh -c "! grep -E '^(ProcSubset|PrivateNetwork|PrivateUsers)=' '$src'"

	# Documentation=: the daemon's own manual page first, and only
	# manual pages that docs/man/ has (NAME.SECTION, or its .in
	# template).
	docs=$(sed -n 's/^Documentation=//p' "$src" | tr '\n' ' ' | sed 's/ $//')
	bad=""
	for d in $docs; do
		page=${d#man:}
		name=${page%"("*}
		section=${page#*"("}
		section=${section%")"}
		if [ "$page" = "$d" ] || { [ ! -f "$pkg/../docs/man/$name.$section" ] &&
		    [ ! -f "$pkg/../docs/man/$name.$section.in" ]; }; then
			bad="$bad $d"
		fi
	done
	if [ -z "$bad" ] && [ "${docs%% *}" = "man:$unit(8)" ]; then
		ok "$unit: Documentation= $docs"
	else
		not_ok "$unit: Documentation= names docs/man/'s pages, man:$unit(8) first"
		echo "Documentation= $docs; not a page of docs/man:$bad" | diag
	fi

	sed "s|^ExecStart=/usr/sbin/$unit\$|ExecStart=$bin|" "$src" >"$copy"
	if ! grep -qxF "ExecStart=$bin" "$copy"; then
		not_ok "$unit: ExecStart= rewritten to the built binary"
		continue
	fi
	out=$(systemd-analyze verify --man=no --generators=no "$copy" 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && [ -z "$out" ]; then
		ok "$unit: systemd-analyze verify prints nothing"
	else
		not_ok "$unit: systemd-analyze verify prints nothing (exit $rc)"
		printf '%s\n' "$out" | diag
	fi

	out=$(systemd-analyze security --offline=yes "$copy" 2>&1)
	level=$(printf '%s\n' "$out" |
	    sed -n 's/^.*Overall exposure level for [^:]*: \([0-9.]*\).*$/\1/p')
	if [ -n "$level" ] &&
	    awk -v l="$level" -v m="$max_exposure" 'BEGIN { exit !(l <= m) }'; then
		ok "$unit: exposure $level <= $max_exposure"
	else
		not_ok "$unit: exposure '${level}' <= $max_exposure"
		printf '%s\n' "$out" | tail -n 5 | diag
	fi
done

# ---- sysusers.d and tmpfiles.d ----------------------------------------------

root=$tmp/root
mkdir -p "$root/etc"
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"
if systemd-sysusers --root="$root" "$pkg/sysusers/fedmon.conf" \
    "$pkg/sysusers/fedmon-aggregator.conf" >"$tmp/sysusers.log" 2>&1; then
	ok "sysusers.d files apply"
else
	not_ok "sysusers.d files apply"
	diag <"$tmp/sysusers.log"
fi
# name:uid:gid:home:shell of a user in the test root
user_of() {
	awk -F: -v u="$1" '$1 == u { print $1 ":" $3 ":" $4 ":" $6 ":" $7 }' \
	    "$root/etc/passwd"
}
check "fedmon: a system user with its own group, home /var/lib/fedmon" \
    sh -c "printf '%s\n' '$(user_of fedmon)' |
	grep -qE '^fedmon:([0-9]+):\\1:/var/lib/fedmon:/usr/sbin/nologin\$'"
check "fedmon-aggregator: a user of its own, home in /var/lib" \
    sh -c "printf '%s\n' '$(user_of fedmon-aggregator)' |
	grep -qE '^fedmon-aggregator:([0-9]+):\\1:/var/lib/fedmon-aggregator:/usr/sbin/nologin\$'"
check "both groups exist" sh -c "grep -q '^fedmon:' '$root/etc/group' &&
	grep -q '^fedmon-aggregator:' '$root/etc/group'"

if systemd-tmpfiles --root="$root" --create "$pkg/tmpfiles/fedmon.conf" \
    "$pkg/tmpfiles/fedmon-aggregator.conf" >"$tmp/tmpfiles.log" 2>&1; then
	ok "tmpfiles.d files apply"
else
	not_ok "tmpfiles.d files apply"
	diag <"$tmp/tmpfiles.log"
fi
# mode:uid:gid of a directory in the test root
dir_of() { stat -c '%a:%u:%g' "$root/var/lib/$1" 2>/dev/null; }
uid_of() { awk -F: -v u="$1" '$1 == u { print $3 ":" $4 }' "$root/etc/passwd"; }
check "/var/lib/fedmon is 0750 fedmon:fedmon" \
    test "$(dir_of fedmon)" = "750:$(uid_of fedmon)"
check "/var/lib/fedmon-aggregator is 0700 fedmon-aggregator" \
    test "$(dir_of fedmon-aggregator)" = "700:$(uid_of fedmon-aggregator)"

# ---- polkit rule --------------------------------------------------------------

rules=$pkg/polkit/50-fedmon.rules
if command -v node >/dev/null 2>&1; then
	cp "$rules" "$tmp/rules.js"
	if node --check "$tmp/rules.js" 2>"$tmp/node.log"; then
		ok "polkit rule: JavaScript syntax (node --check)"
	else
		not_ok "polkit rule: JavaScript syntax (node --check)"
		diag <"$tmp/node.log"
	fi
else
	skip "polkit rule: JavaScript syntax" "no node"
fi
check "polkit rule: only manage-units, verb restart, user fedmon, helper" \
    has_lines "$rules" '    if (action.id !== "org.freedesktop.systemd1.manage-units" ||
        subject.user !== "fedmon" ||
        action.lookup("verb") !== "restart")
        polkit.spawn(["/usr/sbin/fedmon-agent", "--may-restart", unit]);
        return polkit.Result.NOT_HANDLED;
    return polkit.Result.YES;'
check "polkit rule: YES only once, after the helper" \
    test "$(grep -c 'polkit.Result.YES' "$rules")" -eq 1

# ---- fedmon-agent --may-restart: what the polkit rule asks -------------------

cat >"$tmp/agent.conf" <<EOF
[agent]
state_dir = $tmp/state
runtime_dir = $tmp/run

[action restart-foo]
when = anomaly
kind = restart
unit = foo.service
EOF
may_restart() { # may_restart CONFIG UNIT EXPECTED_STATUS
	"$agent" -c "$1" --may-restart "$2" >"$tmp/may.log" 2>&1
	rc=$?
	if [ $rc -eq "$3" ]; then
		ok "--may-restart $2 exits $3"
	else
		not_ok "--may-restart $2 exits $3 (got $rc)"
		diag <"$tmp/may.log"
	fi
}
may_restart "$tmp/agent.conf" foo.service 0
may_restart "$tmp/agent.conf" bar.service 1
may_restart "$tmp/agent.conf" foo.socket 1
may_restart "$tmp/agent.conf" foo 1
printf '[agent]\nno_such_key = 1\n' >"$tmp/broken.conf"
may_restart "$tmp/broken.conf" foo.service 2
may_restart "$tmp/missing.conf" foo.service 2
check "--may-restart leaves the state and runtime directories alone" \
    test ! -e "$tmp/state" -a ! -e "$tmp/run"

echo "1..$n"
exit $failed
