#!/bin/bash
# The packages, end to end on this machine (TAP):
#  1. builds the debs from a copy of the source tree with packaging/debian
#     as debian/ (DEB_BUILD_OPTIONS=nocheck) and runs lintian on them;
#  2. builds the rpms from fedmon.tar.gz (top folder fedmon/) with
#     rpmbuild -bb --nodeps and compares their files with the debs';
#  3. installs the debs with dpkg -i and checks users, owners, modes, keys,
#     conffiles and enabled units;
#  4. runs the installed agent as root with no arguments (PID 1 is not
#     systemd here) and asks it `fedmonctl status` with no arguments;
#  5. enrols it as README.md says, reinstalls the debs (the upgrade path:
#     edited configs and keys must survive), runs both daemons as their
#     users, as the units would, and checks that they federate;
#  6. purges, and checks the machine is left as it was found.
# Whatever fails, the exit trap stops the daemons, purges the packages and
# removes the users, files and directories the test created.
#
# Usage: test-packages.sh SOURCE_DIR
# Skips (77) unless root, when a build tool is missing, or when fedmon is
# already installed here (not this test's to remove).
set -uo pipefail

src=${1:?usage: test-packages.sh SOURCE_DIR}
src=$(cd "$src" && pwd)
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check() { # check DESCRIPTION COMMAND...
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}
diag() { printf '# %s\n' "$@"; }
skip_all() { echo "1..0 # SKIP $*"; exit 77; }
# Shows the last lines of a log as TAP diagnostics.
show() { [ -f "$1" ] && tail -n "${2:-30}" "$1" | sed 's/^/#   /'; }

[ "$(id -u)" -eq 0 ] || skip_all "needs root (dpkg -i)"
for tool in dpkg-buildpackage dh lintian rpmbuild setpriv python3; do
	command -v "$tool" >/dev/null || skip_all "$tool is missing"
done
for p in fedmon-common fedmon-agent fedmon-aggregator; do
	if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q installed; then
		skip_all "$p is installed on this machine"
	fi
done
for d in /etc/fedmon /var/lib/fedmon /var/lib/fedmon-aggregator; do
	[ -e "$d" ] && skip_all "$d exists on this machine"
done

# What the machine looks like before; the end must match it.
snapshot() {
	find /etc /lib /usr /var/lib /run -xdev -name '*fedmon*' 2>/dev/null |
		grep -v -e '^/var/lib/dpkg/' | sort
	for u in fedmon fedmon-aggregator; do
		getent passwd "$u" >/dev/null && echo "user $u"
		getent group "$u" >/dev/null && echo "group $u"
	done
}
work=$(mktemp -d "${TMPDIR:-/tmp}/fedmon-packages.XXXXXX")
before=$(snapshot)
made_users=""
for u in fedmon fedmon-aggregator; do
	getent passwd "$u" >/dev/null || made_users="$made_users $u"
done
had_run=no
[ -e /run/fedmon ] && had_run=yes

pids=()
stop_daemons() {
	local p
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do
		for _ in $(seq 100); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	pids=()
}
cleaned=no
cleanup() {
	[ "$cleaned" = yes ] && return
	cleaned=yes
	stop_daemons
	for p in fedmon-agent fedmon-aggregator fedmon-common; do
		if dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q -v 'not-installed'; then
			dpkg --purge "$p" >>"$work/purge.log" 2>&1 ||
				echo "# cleanup: dpkg --purge $p failed"
		fi
	done
	for u in $made_users; do
		getent passwd "$u" >/dev/null && userdel "$u"
		getent group "$u" >/dev/null && groupdel "$u"
	done
	[ "$had_run" = no ] && rm -rf /run/fedmon
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ---- 1. debs -----------------------------------------------------------
tree="$work/fedmon"
mkdir -p "$tree"
# The source tree as a release would ship it: tracked and new files, no
# build directories.
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
	git -C "$src" ls-files -z --cached --others --exclude-standard |
		(cd "$src" && tar --null -T - -cf -) | tar -xf - -C "$tree"
else
	(cd "$src" && tar --exclude='./build*' -cf - .) | tar -xf - -C "$tree"
fi
ln -s packaging/debian "$tree/debian"
start=$SECONDS
if (cd "$tree" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" \
    dpkg-buildpackage -b -us -uc) >"$work/deb.log" 2>&1; then
	ok "dpkg-buildpackage -b -us -uc ($((SECONDS - start)) s)"
else
	not_ok "dpkg-buildpackage -b -us -uc"
	show "$work/deb.log" 40
	echo "1..$n"
	exit 1
fi
ver=$(cd "$tree" && dpkg-parsechangelog -S Version)
arch=$(dpkg --print-architecture)
debs=()
for p in fedmon-common fedmon-agent fedmon-aggregator; do
	debs+=("$work/${p}_${ver}_${arch}.deb")
done
check "three packages: fedmon-common, fedmon-agent, fedmon-aggregator" \
	test -f "${debs[0]}" -a -f "${debs[1]}" -a -f "${debs[2]}"

if lintian --fail-on error "$work/fedmon_${ver}_${arch}.changes" >"$work/lintian.log" 2>&1; then
	ok "lintian reports no errors"
else
	not_ok "lintian reports no errors"
fi
# Warnings and information are listed, not failed on.
grep -v -e 'running with root privileges' "$work/lintian.log" | sed 's/^/# lintian: /'

# ---- 2. rpms -----------------------------------------------------------
top="$work/rpmbuild"
mkdir -p "$top/SOURCES"
(cd "$work" && tar --exclude=fedmon/debian -czf "$top/SOURCES/fedmon.tar.gz" fedmon)
start=$SECONDS
if rpmbuild -bb --nodeps --define "_topdir $top" \
    "$tree/packaging/rpm/fedmon.spec" >"$work/rpm.log" 2>&1; then
	ok "rpmbuild -bb --nodeps packaging/rpm/fedmon.spec ($((SECONDS - start)) s)"
else
	not_ok "rpmbuild -bb --nodeps packaging/rpm/fedmon.spec"
	show "$work/rpm.log" 40
fi
# Binaries, units, configs, users, tmpfiles, polkit rule, manual pages,
# bash completions and documents, per package: /lib and /usr/lib are one
# place; man pages (and long documents) are compressed in the debs only.
interesting='^/usr/s?bin/|^/etc/|\.service$|/sysusers\.d/|/tmpfiles\.d/|/polkit-1/|/man/|/bash-completion/|^/usr/share/fedmon/|^/usr/share/doc/fedmon-[a-z]+/[^/]+\.md$'
deb_files() {
	dpkg-deb -c "$1" | awk '$1 ~ /^-/ { print $6 }' | sed -e 's,^\.,,' \
		-e 's,^/lib/,/usr/lib/,' -e 's,\.gz$,,' | grep -E "$interesting" | sort
}
rpm_files() {
	rpm -qp --qf '[%{FILEMODES:perms} %{FILENAMES}\n]' "$1" 2>/dev/null |
		awk '$1 ~ /^-/ { print $2 }' | sed -e 's,\.gz$,,' |
		grep -E "$interesting" | sort
}
for p in fedmon-common fedmon-agent fedmon-aggregator; do
	rpm=$(find "$top/RPMS" -name "$p-[0-9]*.rpm" 2>/dev/null | head -1)
	if [ -z "$rpm" ]; then
		not_ok "$p: an rpm was built"
		continue
	fi
	deb_files "$work/${p}_${ver}_${arch}.deb" >"$work/$p.deb-files"
	rpm_files "$rpm" >"$work/$p.rpm-files"
	if [ -s "$work/$p.deb-files" ] &&
	    diff -u "$work/$p.deb-files" "$work/$p.rpm-files" >"$work/$p.diff"; then
		ok "$p: the rpm and the deb install the same $(wc -l <"$work/$p.deb-files") binaries, units and configs"
	else
		not_ok "$p: the rpm and the deb install the same binaries, units and configs"
		show "$work/$p.diff"
	fi
done
rpm=$(find "$top/RPMS" -name 'fedmon-agent-[0-9]*.rpm' | head -1)
if [ -n "$rpm" ]; then
	rpm -qp --scripts "$rpm" >"$work/scripts" 2>/dev/null
	check "fedmon-agent.rpm has pre/post/preun/postun scriptlets for the unit" \
		grep -q -e 'fedmon-agent.service' "$work/scripts"
	check "fedmon-agent.rpm's %pre creates the user" \
		grep -q 'useradd -r -g fedmon' "$work/scripts"
	check "the spec names the licence" \
		test "$(rpm -qp --qf '%{LICENSE}' "$rpm" 2>/dev/null)" = Apache-2.0
fi
check "debian/copyright names the licence" \
	grep -q '^License: Apache-2.0$' "$tree/packaging/debian/copyright"

# ---- 3. install --------------------------------------------------------
# dpkg -i the three debs, no terminal: a conffile prompt fails it.
install_debs() { # install_debs DESCRIPTION LOG
	if DEBIAN_FRONTEND=noninteractive dpkg -i "${debs[@]}" </dev/null \
	    >"$2" 2>&1; then
		ok "$1"
	else
		not_ok "$1"
		show "$2"
		return 1
	fi
}
if ! install_debs "dpkg -i fedmon-common fedmon-agent fedmon-aggregator" \
    "$work/install.log"; then
	echo "1..$n"
	exit 1
fi
sed 's/^/# dpkg: /' "$work/install.log" | grep -i -e generated -e 'authorized_agents:' -e 'aggregator_key' || true

user_exists() { getent passwd "$1" >/dev/null; }
owner_mode() { stat -c '%U:%G %a' "$1" 2>/dev/null; }
expect() { # expect WHAT ACTUAL WANTED
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1: '$2', wanted '$3'"; fi
}
for u in fedmon fedmon-aggregator; do
	expect "user $u: a system user without a login shell" \
		"$(getent passwd "$u" | awk -F: '{ print ($3 < 1000) ":" $7 }')" \
		"1:/usr/sbin/nologin"
done
expect "/var/lib/fedmon" "$(owner_mode /var/lib/fedmon)" "fedmon:fedmon 750"
expect "/var/lib/fedmon/agent.key" "$(owner_mode /var/lib/fedmon/agent.key)" "fedmon:fedmon 600"
expect "/var/lib/fedmon/agent.key.pub" "$(owner_mode /var/lib/fedmon/agent.key.pub)" "fedmon:fedmon 644"
expect "/var/lib/fedmon-aggregator" "$(owner_mode /var/lib/fedmon-aggregator)" \
	"fedmon-aggregator:fedmon-aggregator 700"
expect "/etc/fedmon/aggregator.key" "$(owner_mode /etc/fedmon/aggregator.key)" \
	"fedmon-aggregator:fedmon-aggregator 600"
expect "/etc/fedmon/aggregator.key.pub" "$(owner_mode /etc/fedmon/aggregator.key.pub)" "root:root 644"
expect "/etc/fedmon" "$(owner_mode /etc/fedmon)" "root:root 755"
for f in agent.conf aggregator.conf authorized_agents; do
	expect "/etc/fedmon/$f" "$(owner_mode "/etc/fedmon/$f")" "root:root 644"
done
conffiles=$(dpkg-query -W -f='${Conffiles}\n' fedmon-agent fedmon-aggregator |
	awk 'NF { print $1 }' | sort | tr '\n' ' ')
expect "conffiles" "$conffiles" \
	"/etc/fedmon/agent.conf /etc/fedmon/aggregator.conf /etc/fedmon/authorized_agents "
for unit in fedmon-agent fedmon-aggregator; do
	check "$unit.service installed and enabled (multi-user.target)" \
		test -f "/lib/systemd/system/$unit.service" -a \
		-L "/etc/systemd/system/multi-user.target.wants/$unit.service"
done
agent_key=$(sha256sum /var/lib/fedmon/agent.key | cut -d' ' -f1)
agg_key=$(sha256sum /etc/fedmon/aggregator.key | cut -d' ' -f1)

# ---- 4. the installed agent as root, no arguments --------------------------
port_free() {
	python3 -c 'import socket,sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)' "$1"
}
# The default ports, unless something on this machine holds them.
if ! port_free 9741; then
	diag "127.0.0.1:9741 is taken here: the agent's metrics_listen becomes port 0"
	sed -i 's/^metrics_listen = 127.0.0.1:9741$/metrics_listen = 127.0.0.1:0/' \
		/etc/fedmon/agent.conf
fi
agg_args=()
agg_port=7300
if ! port_free 7300; then
	agg_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	agg_args+=(--listen "tcp://127.0.0.1:$agg_port")
	diag "port 7300 is taken here: the aggregator listens on $agg_port"
fi
port_free 9742 || agg_args+=(--metrics-listen 127.0.0.1:0)

# Waits up to $1 s for `fedmonctl status ARGS...` to exit 0 or 1
# (running); its output is left in $work/status.
wait_status() {
	local secs=$1 rc
	shift
	for _ in $(seq $((secs * 4))); do
		fedmonctl status "$@" >"$work/status" 2>&1
		rc=$?
		[ $rc -le 1 ] && return 0
		sleep 0.25
	done
	return 1
}
/usr/sbin/fedmon-agent >"$work/agent-root.log" 2>&1 &
pids+=($!)
if wait_status 30; then
	ok "root, no arguments: fedmonctl status (no arguments) reaches the agent"
	sed 's/^/#   /' "$work/status"
else
	not_ok "root, no arguments: fedmonctl status (no arguments) reaches the agent"
	show "$work/status"
	show "$work/agent-root.log"
fi
check "the agent made /run/fedmon/control.sock" test -S /run/fedmon/control.sock
fedmonctl status --json >"$work/status.json" 2>/dev/null
url=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["metrics_url"] or "")' \
	"$work/status.json")
if python3 -c 'import sys, urllib.request
body = urllib.request.urlopen(sys.argv[1], timeout=10).read().decode()
sys.exit(0 if "fedmon_" in body else 1)' "$url" 2>/dev/null; then
	ok "/metrics served at $url"
else
	not_ok "/metrics served at '$url'"
fi
kill -TERM "${pids[0]}"
wait "${pids[0]}"
expect "SIGTERM: the agent exits 0" "$?" 0
pids=()
# Root's run leaves root-owned files in the service user's directory, as
# any root run would; the service runs as fedmon, so hand them back.
find /var/lib/fedmon -user root -exec chown -h fedmon:fedmon {} + 2>/dev/null

# ---- 5. enrol, upgrade, federate ---------------------------------------------
# README.md, "Enrol an agent": the host's public key into the
# aggregator's authorized_agents, the aggregator's address and public key
# into the agent's configuration.
echo "$(cat /var/lib/fedmon/agent.key.pub) packaging-test" >>/etc/fedmon/authorized_agents
sed -i -e "s|^aggregator =\$|aggregator = tcp://127.0.0.1:$agg_port|" \
	-e "s|^aggregator_key =\$|aggregator_key = $(cat /etc/fedmon/aggregator.key.pub)|" \
	/etc/fedmon/agent.conf
cp /etc/fedmon/agent.conf "$work/agent.conf.edited"
cp /etc/fedmon/authorized_agents "$work/authorized_agents.edited"
install_debs "dpkg -i again (upgrade path), no prompt" "$work/upgrade.log"
check "upgrade keeps the edited agent.conf" cmp -s /etc/fedmon/agent.conf "$work/agent.conf.edited"
check "upgrade keeps the edited authorized_agents" \
	cmp -s /etc/fedmon/authorized_agents "$work/authorized_agents.edited"
expect "upgrade keeps the agent's key" \
	"$(sha256sum /var/lib/fedmon/agent.key | cut -d' ' -f1)" "$agent_key"
expect "upgrade keeps the aggregator's key" \
	"$(sha256sum /etc/fedmon/aggregator.key | cut -d' ' -f1)" "$agg_key"
check "upgrade generates no key" \
	bash -c "! grep -q 'generated' '$work/upgrade.log'"

# The units' users, as the units would run them (RuntimeDirectory= makes
# /run/fedmon theirs).
setpriv --reuid=fedmon-aggregator --regid=fedmon-aggregator --init-groups \
	/usr/sbin/fedmon-aggregator "${agg_args[@]}" >"$work/aggregator.log" 2>&1 &
pids+=($!)
install -d -o fedmon -g fedmon -m 0755 /run/fedmon
chown -h fedmon:fedmon /run/fedmon/* 2>/dev/null
setpriv --reuid=fedmon --regid=fedmon --init-groups \
	/usr/sbin/fedmon-agent >"$work/agent.log" 2>&1 &
pids+=($!)
reachable=no
for _ in $(seq 120); do
	# (fedmonctl exits 0, learning, while the detector warms up)
	fedmonctl status --json >"$work/status.json" 2>/dev/null
	if python3 -c 'import json,sys
f = json.load(open(sys.argv[1]))["federation"]
sys.exit(0 if f["reachable"] and f["last_contact_time"] else 1)' \
	    "$work/status.json" 2>/dev/null; then
		reachable=yes
		break
	fi
	sleep 0.5
done
if [ $reachable = yes ]; then
	ok "as fedmon and fedmon-aggregator: the enrolled agent reaches the aggregator"
	fedmonctl status >"$work/status" 2>&1
	sed 's/^/#   /' "$work/status"
else
	not_ok "as fedmon and fedmon-aggregator: the enrolled agent reaches the aggregator"
	fedmonctl status >"$work/status" 2>&1
	show "$work/status"
	show "$work/agent.log"
	show "$work/aggregator.log"
fi
check "the aggregator refused nothing" \
	bash -c "! grep -q -i -e refus -e reject '$work/aggregator.log'"
for p in "${pids[@]}"; do
	kill -TERM "$p"
	wait "$p"
	expect "SIGTERM: daemon $p exits 0" "$?" 0
done
pids=()

# ---- 6. purge ------------------------------------------------------------
if dpkg --purge fedmon-agent fedmon-aggregator fedmon-common \
    >"$work/purge.log" 2>&1; then
	ok "dpkg --purge"
else
	not_ok "dpkg --purge"
	show "$work/purge.log"
fi
for d in /var/lib/fedmon /var/lib/fedmon-aggregator /etc/fedmon /run/fedmon \
    /etc/systemd/system/multi-user.target.wants/fedmon-agent.service; do
	check "purge removes $d" test ! -e "$d" -a ! -L "$d"
done
for u in fedmon fedmon-aggregator; do
	check "purge keeps the user $u (Debian policy)" user_exists "$u"
done
cleanup
trap - EXIT
after=$(snapshot)
if [ "$after" = "$before" ]; then
	ok "the machine is left as it was found"
else
	not_ok "the machine is left as it was found"
	diff -u <(printf '%s\n' "$before") <(printf '%s\n' "$after") | sed 's/^/#   /'
fi
echo "1..$n"
[ $failed -eq 0 ]
