#!/bin/bash
# The shipped Prometheus alerting rules (TAP): `promtool check rules` on
# packaging/prometheus/fedmon.rules.yml, then its unit tests, `promtool
# test rules` on fedmon.rules.test.yml (each alert fires on the series
# that should raise it and not on its neighbours'). Exit 77 (skipped)
# without promtool. That every series the rules name is one the daemons
# export is checked against live scrapes by test-metrics-promtool.sh.
# usage: test-prometheus-rules.sh PACKAGING_DIR
set -u
dir=$(realpath "$1/prometheus") || exit 1

if ! command -v promtool >/dev/null; then
	echo "1..0 # SKIP promtool is not installed"
	exit 77
fi

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

check "promtool check rules fedmon.rules.yml" \
	promtool check rules "$dir/fedmon.rules.yml"
# (rule_files in the tests file are relative to it)
check "promtool test rules fedmon.rules.test.yml" \
	bash -c 'cd "$1" && promtool test rules fedmon.rules.test.yml' _ "$dir"
rules=$(grep -c '^      - alert: ' "$dir/fedmon.rules.yml")
tested=$(grep -E '^ +alertname: ' "$dir/fedmon.rules.test.yml" |
	awk '{print $2}' | sort -u | wc -l)
check "every alert has a unit test ($tested of $rules)" \
	test "$rules" -eq "$tested" -a "$rules" -ge 8

echo "1..$n"
[ "$failed" -eq 0 ]
