#!/bin/sh
# The bash completion (packaging/bash-completion/fedmon), sourced in bash
# and asked as bash would ask it (COMP_WORDS, COMP_CWORD, then COMPREPLY):
# every option and command each program's --help lists is offered, and a
# few arguments complete as they should.
#
# Usage: test-completion.sh COMPLETION FEDMONCTL FEDMON_AGENT
#            FEDMON_AGGREGATOR FEDMON_REPLAY
# Output is TAP; skips (77) without bash.
if [ -z "${BASH_VERSION:-}" ]; then
	command -v bash >/dev/null 2>&1 || {
		echo "1..0 # SKIP no bash"
		exit 77
	}
	exec bash "$0" "$@"
fi
set -u

completion=$(realpath "$1") || exit 1
ctl=$2
agent=$3
aggregator=$4
replay=$5

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; }
diag() { sed 's/^/# /'; }

tmp=$(mktemp -d /tmp/fm-completion-XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT

if bash -n "$completion" 2>"$tmp/syntax"; then
	ok "bash -n: the syntax"
else
	not_ok "bash -n: the syntax"
	diag <"$tmp/syntax"
fi
# shellcheck source=/dev/null
. "$completion" || not_ok "sourcing it"

# complete_words WORD...: what completing the last WORD (the one under the
# cursor, "" for a new word) offers, one a line, sorted; as bash calls a
# completion function (COMMAND CUR PREV).
complete_words() {
	local fn
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE="$*"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	fn=$(complete -p "$1" 2>/dev/null | sed -n 's/^complete -F \([^ ]*\) .*$/\1/p')
	if [ -z "$fn" ]; then
		echo "(no completion for $1)"
		return
	fi
	"$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" \
	    "${COMP_WORDS[COMP_CWORD - 1]:-}" 2>"$tmp/stderr"
	[ -s "$tmp/stderr" ] && sed 's/^/(stderr) /' "$tmp/stderr"
	[ ${#COMPREPLY[@]} -gt 0 ] && printf '%s\n' "${COMPREPLY[@]}" | sort
}

# expect DESCRIPTION WANTED WORD...: completing WORD... offers exactly
# WANTED (words separated by blanks; "" for nothing).
expect() {
	local what=$1 wanted got
	wanted=$(printf '%s\n' $2 | sort)
	shift 2
	got=$(complete_words "$@")
	if [ "$got" = "$wanted" ]; then
		ok "$what"
	else
		not_ok "$what"
		echo "wanted: $(echo $wanted)" | diag
		echo "got:    $(echo $got)" | diag
	fi
}

# offers DESCRIPTION LIST WORD...: completing WORD... offers at least every
# word of LIST.
offers() {
	local what=$1 list=$2 got missing=
	shift 2
	got=$(complete_words "$@")
	for w in $list; do
		printf '%s\n' "$got" | grep -qxF -- "$w" || missing="$missing $w"
	done
	if [ -n "$list" ] && [ -z "$missing" ]; then
		ok "$what"
	else
		not_ok "$what"
		echo "not offered:${missing:- (--help lists nothing)}" | diag
	fi
}

# The options in the first column of a --help text's lines that start
# with an option ("  -c, --config FILE   ..." gives -c --config).
help_options() {
	sed -nE 's/^ +(-[^ ].*)$/\1/p' | sed -E 's/  .*$//' |
	    grep -oE -- '(^|[ ,[])--?[a-z][a-z-]*' | tr -d ' ,[' | sort -u
}

# ---- every option and command --help lists --------------------------------

for prog in "$agent" "$aggregator" "$replay"; do
	name=$(basename "$prog")
	opts=$("$prog" --help | help_options)
	offers "$name: every option of --help ($(echo $opts | wc -w))" \
	    "$opts" "$name" -
done

"$ctl" --help >"$tmp/ctl-help"
commands=$(sed -nE '/^Commands:/,/^$/ s/^  ([a-z]+).*$/\1/p' "$tmp/ctl-help")
offers "fedmonctl: every command of --help ($(echo $commands | wc -w))" \
    "$commands" fedmonctl ""
opts=$(sed -n '/^Options:/,/^$/p' "$tmp/ctl-help" | help_options)
offers "fedmonctl: every option of --help ($(echo $opts | wc -w))" \
    "$opts" fedmonctl -
for cmd in $commands; do
	# a command's own options: those on its line of the Commands list
	own=$(sed -nE "s/^  $cmd( .*)?$/\\1/p" "$tmp/ctl-help" |
	    sed -E 's/  .*$//' | grep -oE -- '--[a-z][a-z-]*' | sort -u)
	[ -n "$own" ] || continue
	offers "fedmonctl $cmd: its options ($(echo $own))" "$own" \
	    fedmonctl "$cmd" -
done

# ---- arguments ----------------------------------------------------------------

expect "fedmonctl st: status" status fedmonctl st
expect "fedmonctl --json l: label (options before the command)" label \
    fedmonctl --json l
expect "fedmonctl --timeout 5 f: the option's argument is no command" \
    features fedmonctl --timeout 5 f
expect "fedmonctl --timeout = 5 w: nor as --timeout=5" watch \
    fedmonctl --timeout = 5 w
expect "fedmonctl label: failure or ok" "failure ok" fedmonctl label ""
expect "fedmonctl label failure: nothing more" "" fedmonctl label failure ""
expect "fedmonctl watch --c: --count --csv" "--count --csv" \
    fedmonctl watch --c
expect "fedmonctl status --interval-ms: not status's" "" \
    fedmonctl status --interval-ms
expect "fedmonctl status: no operand" "" fedmonctl status ""
expect "fedmonctl keygen --f: --force" --force fedmonctl keygen --f
expect "fedmonctl --timeout: a number, nothing offered" "" \
    fedmonctl --timeout ""
expect "fedmon-agent --log-level: the levels" \
    "err warning notice info debug" fedmon-agent --log-level ""
expect "fedmon-agent --log-level=d: debug" debug \
    fedmon-agent --log-level = d
expect "fedmon-agent --dump: --dump-config" --dump-config \
    fedmon-agent --dump
expect "fedmon-aggregator --listen t: tcp://" tcp:// \
    fedmon-aggregator --listen t
expect "fedmon-aggregator -c: nothing but files" "" \
    fedmon-aggregator -c "$tmp/none"
expect "fedmon-replay --mode: federated local pooled" \
    "federated local pooled" fedmon-replay --mode ""

# Files and directories, from a directory of known contents.
mkdir -p "$tmp/d/sub dir"
touch "$tmp/d/agent.conf" "$tmp/d/agent.key"
expect "fedmon-agent -c DIR/a: the files" \
    "$tmp/d/agent.conf $tmp/d/agent.key" fedmon-agent -c "$tmp/d/a"
expect "fedmon-agent --config=DIR/agent.c: as --config DIR/agent.c" \
    "$tmp/d/agent.conf" fedmon-agent --config = "$tmp/d/agent.c"
got=$(complete_words fedmon-agent --state-dir "$tmp/d/")
if [ "$got" = "$tmp/d/sub dir" ]; then
	ok "fedmon-agent --state-dir DIR/: directories only, blanks kept"
else
	not_ok "fedmon-agent --state-dir DIR/: directories only, blanks kept"
	printf '%s\n' "$got" | diag
fi
expect "fedmonctl keygen DIR/agent.k: the file" "$tmp/d/agent.key" \
    fedmonctl keygen "$tmp/d/agent.k"
expect "fedmonctl keygen FILE: one FILE only" "" \
    fedmonctl keygen "$tmp/d/agent.key" "$tmp/d/a"

echo "1..$n"
exit $failed
