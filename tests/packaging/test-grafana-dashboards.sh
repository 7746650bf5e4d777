#!/bin/bash
# The shipped Grafana dashboards (TAP): each of packaging/grafana/*.json
# parses, has the DS_PROMETHEUS datasource variable every query uses and
# the structure Grafana 9 imports (grafana-exprs.py), and every PromQL
# expression in it passes `promtool check rules` (put into a throwaway
# recording-rules file). Exit 77 (skipped) without promtool. That every
# fedmon_* series the dashboards name is one the daemons export is checked
# against live scrapes by tests/agent/test-metrics-promtool.sh.
# usage: test-grafana-dashboards.sh PACKAGING_DIR GRAFANA-EXPRS.PY
set -u
dir=$(realpath "$1/grafana") || exit 1
exprs=$2

if ! command -v promtool >/dev/null; then
	echo "1..0 # SKIP promtool is not installed"
	exit 77
fi

T=$(mktemp -d /tmp/fm-test-grafana-XXXXXX)
trap 'rm -rf "$T"' EXIT

n=0
failed=0
# check DESCRIPTION COMMAND...: ok when COMMAND succeeds (its output shown
# as TAP comments when it fails).
check() {
	local what=$1 out
	shift
	n=$((n + 1))
	if out=$("$@" 2>&1); then
		echo "ok $n - $what"
	else
		failed=$((failed + 1))
		echo "not ok $n - $what"
		echo "$out" | sed 's/^/# /'
	fi
}

for name in fedmon-host fedmon-fleet; do
	json=$dir/$name.json
	check "$name.json: parses, the datasource variable, panels" \
		bash -c 'python3 "$1" "$2" >"$3"' _ "$exprs" "$json" "$T/$name.yml"
	count=$(grep -c '^      - record: ' "$T/$name.yml")
	check "$name.json: promtool check rules on its $count expressions" \
		promtool check rules "$T/$name.yml"
	check "$name.json: at least 20 expressions" test "$count" -ge 20
done

echo "1..$n"
[ "$failed" -eq 0 ]
