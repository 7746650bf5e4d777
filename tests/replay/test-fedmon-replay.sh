#!/bin/bash
# The fedmon-replay contract, end to end (TAP): output format, exit
# status 2 with FILE:LINE for malformed input, determinism under a seed,
# causality (a test file cut at row k reproduces the first k lines).
# usage: test-fedmon-replay.sh PATH/TO/fedmon-replay
set -u
REPLAY=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
n=0
failed=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { # check DESCRIPTION COMMAND...
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}

# Rows of a small synthetic host: 4 correlated features and a daily cycle.
gen() { # gen FIRST_ROW ROWS SEED [ANOMALY_FROM]
	awk -v t0="$1" -v n="$2" -v seed="$3" -v from="${4:-0}" 'BEGIN {
		srand(seed)
		for (t = t0; t < t0 + n; t++) {
			c = sin(6.283185 * t / 1440)
			a = 0.5 + 0.3 * c + 0.02 * (rand() - 0.5)
			b = 0.8 * a + 0.02 * (rand() - 0.5)
			if (from > 0 && t >= from && t < from + 30) b += 0.4
			printf "%.6f,%.6f,%.6f,%.6f\n", a, b, 0.3 + 0.05 * rand(), 0.1
		}
	}'
}

gen 0 2000 1 >"$T/train.csv"
gen 2000 400 2 2200 >"$T/test.csv"

# 1. format: one SCORE,ALARM line per test row, nothing else; exit 0
"$REPLAY" --train "$T/train.csv" --test "$T/test.csv" >"$T/out" 2>"$T/err"
check "exit status 0" test $? -eq 0
check "one line per test row" test "$(wc -l <"$T/out")" -eq 400
check "every line is SCORE,ALARM with a finite score and 0/1" \
	test "$(grep -cvE '^-?[0-9]+(\.[0-9]+)?(e[-+][0-9]+)?,[01]$' "$T/out")" -eq 0
check "the injected anomaly raises an alarm" grep -q ',1$' "$T/out"
check "rows before it do not" test "$(head -n 190 "$T/out" | grep -c ',1$')" -eq 0

# 2. determinism under a seed
"$REPLAY" --train "$T/train.csv" --test "$T/test.csv" >"$T/out2"
check "same seed, byte-identical output" cmp -s "$T/out" "$T/out2"
"$REPLAY" --train "$T/train.csv" --test "$T/test.csv" --seed 1 >"$T/out3"
check "the default seed is 1" cmp -s "$T/out" "$T/out3"
"$REPLAY" --train "$T/train.csv" --test "$T/test.csv" --seed 7 >"$T/out7"
check "another seed, another model" bash -c "! cmp -s '$T/out' '$T/out7'"

# 3. causality: cut at row k
for k in 1 5 123 399; do
	head -n $k "$T/test.csv" >"$T/cut.csv"
	"$REPLAY" --train "$T/train.csv" --test "$T/cut.csv" >"$T/cut.out"
	check "test cut at row $k reproduces the first $k lines" \
		cmp -s "$T/cut.out" <(head -n $k "$T/out")
done

# 4. CRLF line ends and blank lines are ignored
awk '{ printf "%s\r\n", $0; if (NR % 50 == 0) print "" }' "$T/test.csv" >"$T/crlf.csv"
"$REPLAY" --train "$T/train.csv" --test "$T/crlf.csv" >"$T/crlf.out"
check "CRLF and blank lines: same output" cmp -s "$T/out" "$T/crlf.out"

# 5. too few training rows: every row scores, no alarm, exit 0
head -n 10 "$T/train.csv" >"$T/short.csv"
"$REPLAY" --train "$T/short.csv" --test "$T/test.csv" >"$T/short.out" 2>/dev/null
check "too few training rows: exit 0" test $? -eq 0
check "too few training rows: 0,0 on every row" \
	test "$(grep -c '^0,0$' "$T/short.out")" -eq 400

# 6. malformed input: exit 2 and a message naming file and line
bad() { # bad DESCRIPTION EXPECTED_STDERR_PATTERN ARGS...
	local what=$1 pattern=$2
	shift 2
	"$REPLAY" "$@" >"$T/bad.out" 2>"$T/bad.err"
	local st=$?
	if [ $st -eq 2 ] && grep -qE -- "$pattern" "$T/bad.err" && [ ! -s "$T/bad.out" ]; then
		ok "$what"
	else
		not_ok "$what (exit $st, stderr: $(head -c 200 "$T/bad.err"))"
	fi
}
{ head -n 6 "$T/test.csv"; echo "0.5,0.4,0.3"; tail -n 5 "$T/test.csv"; } >"$T/ragged.csv"
bad "ragged row" "ragged.csv:7:" --train "$T/train.csv" --test "$T/ragged.csv"
{ head -n 2 "$T/test.csv"; echo "0.5,abc,0.3,0.1"; } >"$T/text.csv"
bad "non-numeric field" "text.csv:3:" --train "$T/train.csv" --test "$T/text.csv"
{ head -n 4 "$T/train.csv"; echo "0.5,nan,0.3,0.1"; } >"$T/nan.csv"
bad "NaN field" "nan.csv:5:" --train "$T/nan.csv" --test "$T/test.csv"
{ echo "0.5,inf,0.3,0.1"; } >"$T/inf.csv"
bad "infinite field" "inf.csv:1:" --train "$T/train.csv" --test "$T/inf.csv"
{ echo "0.5,1e999,0.3,0.1"; } >"$T/huge.csv"
bad "overflowing field" "huge.csv:1:" --train "$T/train.csv" --test "$T/huge.csv"
: >"$T/empty.csv"
bad "empty file" "empty.csv:1:" --train "$T/empty.csv" --test "$T/test.csv"
printf '\n\n' >"$T/blank.csv"
bad "only blank lines" "blank.csv:1:" --train "$T/train.csv" --test "$T/blank.csv"
bad "missing file" "nonexistent.csv:0:" --train "$T/nonexistent.csv" --test "$T/test.csv"
bad "a directory" "$T:0:" --train "$T" --test "$T/test.csv"
cut -d, -f1-3 "$T/test.csv" >"$T/three.csv"
bad "test columns differ from train" "three.csv:1:" --train "$T/train.csv" --test "$T/three.csv"
bad "unknown flag" "unknown flag|bad or incomplete flag" --train "$T/train.csv" --test "$T/test.csv" --bogus
bad "flag without its value" "bad or incomplete flag" --train "$T/train.csv" --test
bad "missing --test" "required" --train "$T/train.csv"
bad "bad --rows-per-day" "rows-per-day" --train "$T/train.csv" --test "$T/test.csv" --rows-per-day 0
bad "bad --seed" "seed" --train "$T/train.csv" --test "$T/test.csv" --seed -3
bad "stray argument" "unexpected argument" --train "$T/train.csv" --test "$T/test.csv" extra

echo "1..$n"
[ $failed -eq 0 ]
