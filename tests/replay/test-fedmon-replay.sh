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

# 6. --federate: three clients through the real aggregator and agent code
gen 0 1500 11 >"$T/a.train"; gen 1500 300 12 1600 >"$T/a.test"
gen 0 1500 21 >"$T/b.train"; gen 1500 300 22 >"$T/b.test"
gen 0 1500 31 >"$T/c.train"; gen 1500 200 32 >"$T/c.test"
printf 'alpha\t%s\t%s\n# a comment\n\nbeta\t%s\t%s\ngamma\t%s\t%s\t40\n' \
	"$T/a.train" "$T/a.test" "$T/b.train" "$T/b.test" "$T/c.train" \
	"$T/c.test" >"$T/clients"
for mode in federated local pooled; do
	"$REPLAY" --federate "$T/clients" --out "$T/fed-$mode/sub" \
		--mode $mode --rounds 2 >"$T/fed.out" 2>"$T/fed.err"
	check "--federate --mode $mode: exit status 0" test $? -eq 0
	check "--federate --mode $mode: nothing on stdout" test ! -s "$T/fed.out"
	check "--federate --mode $mode: one SCORE,ALARM line per test row" \
		test "$(cat "$T/fed-$mode/sub/alpha.scores" | grep -cE '^-?[0-9]+(\.[0-9]+)?(e[-+][0-9]+)?,[01]$')" -eq 300 -a \
		"$(wc -l <"$T/fed-$mode/sub/beta.scores")" -eq 300 -a \
		"$(wc -l <"$T/fed-$mode/sub/gamma.scores")" -eq 200
done
check "--federate: a client cut to 40 train rows (MAX_TRAIN_ROWS) scores 0,0" \
	test "$(grep -vc '^0,0$' "$T/fed-federated/sub/gamma.scores")" -eq 0
check "--federate: the anomaly in alpha's test raises an alarm" \
	grep -q ',1$' "$T/fed-federated/sub/alpha.scores"
check "--federate: federated differs from local" \
	bash -c "! cmp -s '$T/fed-federated/sub/alpha.scores' '$T/fed-local/sub/alpha.scores'"
check "--federate --mode local equals the single mode" \
	cmp -s "$T/fed-local/sub/beta.scores" <("$REPLAY" --train "$T/b.train" --test "$T/b.test")
"$REPLAY" --federate "$T/clients" --out "$T/fed-again" --rounds 2 2>"$T/fed-again.err"
check "--federate: same seed, byte-identical output" \
	cmp -s "$T/fed-federated/sub/alpha.scores" "$T/fed-again/alpha.scores"
check "--federate: it says why gamma takes no part" \
	grep -q "client 'gamma' has 40 training rows" "$T/fed-again.err"
"$REPLAY" --federate "$T/clients" --out "$T/fed-seed" --rounds 2 --seed 5 2>/dev/null
check "--federate: another seed, another model" \
	bash -c "! cmp -s '$T/fed-again/beta.scores' '$T/fed-seed/beta.scores'"
"$REPLAY" --federate "$T/clients" --out "$T/fed-r1" --rounds 1 2>/dev/null
check "--federate: --rounds changes the result" \
	bash -c "! cmp -s '$T/fed-again/beta.scores' '$T/fed-r1/beta.scores'"

printf 'alpha\t%s\n' "$T/a.train" >"$T/cl-short"
bad "--federate: a line with 2 fields" "cl-short:1:" --federate "$T/cl-short" --out "$T/o"
printf 'alpha\t%s\t%s\nalpha\t%s\t%s\n' "$T/a.train" "$T/a.test" "$T/b.train" "$T/b.test" >"$T/cl-dup"
bad "--federate: a name twice" "cl-dup:2:" --federate "$T/cl-dup" --out "$T/o"
printf 'al/pha\t%s\t%s\n' "$T/a.train" "$T/a.test" >"$T/cl-slash"
bad "--federate: a name with a slash" "cl-slash:1:" --federate "$T/cl-slash" --out "$T/o"
printf 'alpha\t%s\t%s\tmany\n' "$T/a.train" "$T/a.test" >"$T/cl-max"
bad "--federate: a bad MAX_TRAIN_ROWS" "cl-max:1:" --federate "$T/cl-max" --out "$T/o"
printf 'alpha\t%s\t%s\nbeta\t%s\t%s\n' "$T/a.train" "$T/a.test" "$T/three.csv" "$T/three.csv" >"$T/cl-cols"
bad "--federate: clients with other column counts" "cl-cols:2:" --federate "$T/cl-cols" --out "$T/o"
printf 'alpha\t%s\t%s\n' "$T/ragged.csv" "$T/a.test" >"$T/cl-ragged"
bad "--federate: a malformed CSV" "ragged.csv:7:" --federate "$T/cl-ragged" --out "$T/o"
printf '# nobody\n' >"$T/cl-none"
bad "--federate: no clients" "cl-none:1:" --federate "$T/cl-none" --out "$T/o"
bad "--federate: a missing clients file" "nope:0:" --federate "$T/nope" --out "$T/o"
bad "--federate without --out" "needs --out" --federate "$T/clients"
bad "--federate with --train" "takes no" --federate "$T/clients" --out "$T/o" --train "$T/a.train"
bad "--mode without --federate" "go with --federate" --train "$T/a.train" --test "$T/a.test" --mode local
bad "--federate: an unknown mode" "federated, local or pooled" --federate "$T/clients" --out "$T/o" --mode solo
bad "--federate: bad --rounds" "rounds" --federate "$T/clients" --out "$T/o" --rounds 0
: >"$T/a-file"
bad "--federate: --out is a file" "cannot create" --federate "$T/clients" --out "$T/a-file"

# 7. --failures: the failure predictor learns from a labelled history and,
# federated, reaches a client that has none. Every 150 rows a failure of 10
# rows begins at row 100 of the block, after 30 rows in which feature 3
# climbs (the precursor the predictor can learn).
genfail() { # genfail FIRST_ROW ROWS SEED ROWS_FILE EVENTS_FILE
	awk -v t0="$1" -v n="$2" -v seed="$3" -v rf="$4" -v ef="$5" 'BEGIN {
		srand(seed)
		for (t = t0; t < t0 + n; t++) {
			k = t % 150
			a = 0.5 + 0.02 * (rand() - 0.5)
			b = 0.8 * a + 0.02 * (rand() - 0.5)
			c = 0.3 + 0.02 * rand()
			if (k >= 70 && k < 100) c += 0.02 * (k - 70)
			if (k >= 100 && k < 110) b += 0.4
			printf "%.6f,%.6f,%.6f,%.6f\n", a, b, c, 0.1 >rf
			print (k >= 100 && k < 110) ? 1 : 0 >ef
		}
	}'
}
genfail 1500 900 13 "$T/a.hist" "$T/a.events"
genfail 1500 300 23 "$T/b.fail" "$T/b.none"
printf 'alpha\t%s\t%s\n' "$T/a.train" "$T/a.hist" >"$T/cl-fail"
printf 'beta\t%s\t%s\n' "$T/b.train" "$T/b.fail" >>"$T/cl-fail"
printf 'alpha\t%s\t%s\n' "$T/a.hist" "$T/a.events" >"$T/failures"
for mode in federated local pooled; do
	"$REPLAY" --federate "$T/cl-fail" --out "$T/fail-$mode" --mode $mode \
		--rounds 2 --failures "$T/failures" --horizon 20 >"$T/fail.out" 2>"$T/fail.err"
	check "--failures --mode $mode: exit status 0" test $? -eq 0
	check "--failures --mode $mode: one probability in [0, 1] per test row" \
		test "$(awk '$1 >= 0 && $1 <= 1' "$T/fail-$mode/beta.failures" | wc -l)" -eq 300 -a \
		"$(wc -l <"$T/fail-$mode/beta.failures")" -eq 300 -a \
		"$(wc -l <"$T/fail-$mode/alpha.failures")" -eq 900
done
# mean probability in the 20 rows before each failure against the rest
lift() { # lift FILE: prints 1 when the rows before failures score higher
	awk '{ k = (NR - 1 + 1500) % 150; if (k >= 80 && k < 100) { s1 += $1; n1++ }
		else if (k < 70 || k >= 110) { s0 += $1; n0++ } }
		END { print (n1 && s1 / n1 > 2 * (s0 / n0) + 0.01) ? 1 : 0 }' "$1"
}
check "--failures: alpha's own predictor rises before its failures" \
	test "$(lift "$T/fail-local/alpha.failures")" -eq 1
check "--failures --mode local: beta, never failed, predicts 0" \
	test "$(grep -vc '^0$' "$T/fail-local/beta.failures")" -eq 0
check "--failures --mode federated: beta takes the fleet's predictor, which rises before failures" \
	test "$(lift "$T/fail-federated/beta.failures")" -eq 1
check "--failures --mode pooled: so does the pooled one" \
	test "$(lift "$T/fail-pooled/beta.failures")" -eq 1
"$REPLAY" --federate "$T/cl-fail" --out "$T/fail-nofail" --mode local --rounds 2 2>/dev/null
check "--failures leaves the detector's scores as they were" \
	cmp -s "$T/fail-local/alpha.scores" "$T/fail-nofail/alpha.scores"
"$REPLAY" --federate "$T/cl-fail" --out "$T/fail-again" --rounds 2 \
	--failures "$T/failures" --horizon 20 2>/dev/null
check "--failures: same seed, byte-identical probabilities" \
	cmp -s "$T/fail-federated/beta.failures" "$T/fail-again/beta.failures"
printf 'omega\t%s\t%s\n' "$T/a.hist" "$T/a.events" >"$T/f-who"
bad "--failures: an unknown client" "f-who:1: no client 'omega'" \
	--federate "$T/cl-fail" --out "$T/o" --failures "$T/f-who"
sed 's/^1$/2/' "$T/a.events" >"$T/a.events2"
printf 'alpha\t%s\t%s\n' "$T/a.hist" "$T/a.events2" >"$T/f-two"
bad "--failures: an event flag other than 0 or 1" "f-two:1:.*other than 0 or 1" \
	--federate "$T/cl-fail" --out "$T/o" --failures "$T/f-two"
head -n 10 "$T/a.events" >"$T/a.events10"
printf 'alpha\t%s\t%s\n' "$T/a.hist" "$T/a.events10" >"$T/f-len"
bad "--failures: fewer flags than rows" "f-len:1:.*one 0/1 a line" \
	--federate "$T/cl-fail" --out "$T/o" --failures "$T/f-len"
printf 'alpha\t%s\n' "$T/a.hist" >"$T/f-short"
bad "--failures: a line with 2 fields" "f-short:1:" \
	--federate "$T/cl-fail" --out "$T/o" --failures "$T/f-short"
printf 'alpha\t%s\t%s\nalpha\t%s\t%s\n' "$T/a.hist" "$T/a.events" "$T/a.hist" "$T/a.events" >"$T/f-dup"
bad "--failures: a client named twice" "f-dup:2:" \
	--federate "$T/cl-fail" --out "$T/o" --failures "$T/f-dup"
printf 'alpha\t%s\t%s\n' "$T/three.csv" "$T/a.events" >"$T/f-cols"
bad "--failures: rows with another column count" "f-cols:1:" \
	--federate "$T/cl-fail" --out "$T/o" --failures "$T/f-cols"
bad "--horizon without --failures" "goes with --failures" \
	--federate "$T/cl-fail" --out "$T/o" --horizon 5
bad "--failures: bad --horizon" "horizon" \
	--federate "$T/cl-fail" --out "$T/o" --failures "$T/failures" --horizon 0
bad "--failures without --federate" "go with --federate" \
	--train "$T/a.train" --test "$T/a.test" --failures "$T/failures"

echo "1..$n"
[ $failed -eq 0 ]
