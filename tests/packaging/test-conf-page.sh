#!/bin/sh
# fedmon.conf(5) as built (docs/man/fedmon.conf.5.in, keys from
# tools/confdoc) against what the daemons themselves say: every key that
# `fedmon-agent --dump-config` and `fedmon-aggregator --dump-config` print
# is in the page, under its file and section, and nothing else is; each
# key's default and whether a reload applies it are the dump's. And the
# page is clean roff (groff -ww).
#
# Usage: test-conf-page.sh PAGE FEDMON_AGENT FEDMON_AGGREGATOR
# Output is TAP.
set -u

page=$1
agent=$2
aggregator=$3

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
diag() { sed 's/^/# /'; }

tmp=$(mktemp -d /tmp/fm-conf-page-XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT

if command -v groff >/dev/null 2>&1; then
	if groff -man -Tutf8 -ww -z "$page" >"$tmp/groff" 2>&1 &&
	    [ ! -s "$tmp/groff" ]; then
		ok "groff -man -ww: no warnings"
	else
		not_ok "groff -man -ww: no warnings"
		diag <"$tmp/groff"
	fi
else
	skip "groff -man -ww: no warnings" "no groff"
fi

# A number as awk prints it: the dump writes the shortest %g that reads
# back (clip_norm = 1e+02), the page the table's default (100).
number='function number(v) {
	return v ~ /^-?[0-9]+(\.[0-9]+)?(e[-+]?[0-9]+)?$/ ? v + 0 : v
}'

# The page's keys: FILE<TAB>SECTION<TAB>KEY<TAB>DEFAULT<TAB>RELOAD, the
# default unescaped ("" for none or empty), RELOAD "reload" or "restart".
awk -v OFS='\t' "$number"'
function unescape(s) {
	gsub(/\\f[BIR]/, "", s)
	gsub(/\\-/, "-", s)
	gsub(/\\&/, "", s)
	gsub(/\\e/, "\\", s)
	return s
}
/^\.SH / { file = $2 == "AGENT.CONF" ? "agent" : \
	$2 == "AGGREGATOR.CONF" ? "aggregator" : ""; sec = ""; next }
/^\.SS "\[/ { sec = $0; sub(/^\.SS "\[/, "", sec); sub(/( NAME)?\]"$/, "", sec)
	next }
/^\.SS / { sec = ""; next }
/^\.TP$/ { tp = 1; next }
tp && /^\.B / { key = unescape($2); def = "?"; tp = 0; next }
{ tp = 0 }
/^Default: / { def = $0; sub(/^Default: /, "", def); sub(/\.$/, "", def)
	def = def == "none" || def == "empty" ? "" : number(unescape(def))
	next }
/^A (reload|restart) applies it\.$/ {
	if (file != "" && sec != "")
		print file, sec, key, def, $2
}' "$page" | sort -u >"$tmp/page"

# The same from a dump: DUMP FILE prints the lines.
from_dump() {
	awk -v OFS='\t' -v file="$1" "$number"'
/^\[/ { sec = $0; sub(/^\[/, "", sec); sub(/[] ].*$/, "", sec); next }
/^# / { reload = $0 ~ /; a reload applies it\)$/ ? "reload" : "restart"
	next }
/^[a-z0-9_]+ =/ { key = $1; value = $0; sub(/^[a-z0-9_]+ = ?/, "", value)
	print file, sec, key, number(value), reload }'
}

# Rules of each kind and both conditions, so that every key of
# [action NAME] is in the dump.
cat >"$tmp/agent.conf" <<CONF
[action a-log]
when = anomaly
kind = log

[action a-hook]
when = failure:oom
probability = 0.5
kind = hook
command = /bin/true

[action a-restart]
when = anomaly
kind = restart
unit = foo.service
CONF
: >"$tmp/aggregator.conf"
for d in agent aggregator; do
	case $d in
	agent) bin=$agent ;;
	*) bin=$aggregator ;;
	esac
	if ! "$bin" -c "$tmp/$d.conf" --dump-config >"$tmp/$d.dump" \
	    2>"$tmp/$d.err"; then
		not_ok "$d: --dump-config"
		diag <"$tmp/$d.err"
		continue
	fi
	from_dump $d <"$tmp/$d.dump" | sort -u >"$tmp/$d.keys"
	nkeys=$(cut -f2,3 "$tmp/$d.keys" | sort -u | wc -l)
	# plain sections: key, default and reload; [action NAME] (values
	# set above, no defaults for some keys): key and reload
	grep -v "^$d	action	" "$tmp/$d.keys" >"$tmp/want"
	grep "^$d	action	" "$tmp/$d.keys" | cut -f1-3,5 | sort -u >>"$tmp/want"
	grep "^$d	" "$tmp/page" | grep -v "^$d	action	" >"$tmp/got"
	grep "^$d	action	" "$tmp/page" | cut -f1-3,5 | sort -u >>"$tmp/got"
	if [ "$nkeys" -gt 0 ] && cmp -s "$tmp/want" "$tmp/got"; then
		ok "$d: the page's keys, defaults and reloads are the dump's ($nkeys keys)"
	else
		not_ok "$d: the page's keys, defaults and reloads are the dump's"
		diff "$tmp/want" "$tmp/got" | sed 's/^</dump:/; s/^>/page:/' |
		    grep -E '^(dump|page):' | diag
	fi
done

echo "1..$n"
exit $failed
