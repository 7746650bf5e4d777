#!/bin/bash
# fedmon-replay --agent on a real recorded run (tests/fixtures/agent-replay:
# the first rows of `fedmonctl watch --csv` beside a live fedmon-agent, and
# its agent.conf), TAP: the output is byte-identical from run to run and
# has watch's columns; its alarm column follows the detector's state
# machine on its own score and threshold; the first training scores from
# the row after min_train_seconds of samples, the retrainings every
# retrain_seconds of the file's clock (--adopt next), or at the rows where
# the recording's trainings counter rose (--adopt recorded); samples the
# recording missed are filled in; label onsets come from the events_
# columns or, without them, from the features; malformed input exits 2.
#
# The live agent's own verdicts in the fixture are not asserted: they are
# those of the learner of the day it was recorded, and learner changes
# rightly change them (tools/replay/agent-compare.py measures agreement).
#
# usage: test-agent-replay.sh PATH/TO/fedmon-replay FIXTURE_DIR
set -u
REPLAY=$1
FIX=$2
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
run() { # run OUT [ARGS...]: replays the fixture (or ARGS' --agent)
	local out=$1
	shift
	"$REPLAY" --config "$FIX/agent.conf" --out "$out" "$@" 2>"$out.err"
}
conf() { # conf KEY: a value of the fixture's agent.conf
	sed -nE "s/^$1 *= *([0-9]+).*/\1/p" "$FIX/agent.conf" | head -n 1
}

rows=$(($(wc -l <"$FIX/samples.csv") - 1))
interval=$(conf interval_ms)
min_rows=$(($(conf min_train_seconds) * 1000 / interval))
retrain=$(conf retrain_seconds)

# 1. runs, deterministically, one row per recorded sample
run "$T/a.csv" --agent "$FIX/samples.csv"
check "exit status 0" test $? -eq 0
run "$T/b.csv" --agent "$FIX/samples.csv"
check "byte-identical output from run to run" cmp -s "$T/a.csv" "$T/b.csv"
check "one row per recorded sample, and a header" \
	test "$(wc -l <"$T/a.csv")" -eq $((rows + 1))
check "a summary on stderr" grep -q "^fedmon-replay: $rows rows" "$T/a.csv.err"
"$REPLAY" --agent "$FIX/samples.csv" --config "$FIX/agent.conf" \
	>"$T/stdout.csv" 2>/dev/null
check "without --out, the same rows on stdout" cmp -s "$T/a.csv" "$T/stdout.csv"

# 2. watch's columns, and a sane alarm column
check "watch's columns, the recorded times and sample numbers" python3 -c '
import csv, sys
rec = list(csv.DictReader(open(sys.argv[1])))
out = list(csv.reader(open(sys.argv[2])))
head, out = out[0], out[1:]
assert head == ["time", "sample", "ready", "score", "threshold", "alarm",
    "alarms", "events", "trainings", "top_features", "p_oom", "events_oom",
    "p_fs_full", "events_fs_full", "p_health", "events_health",
    "p_manual", "events_manual"], head
for r, o in zip(rec, out):
    assert len(o) == len(head), o
    assert o[0] == r["time"] and o[1] == r["sample"], (o[:2], r["time"])
    assert o[2] in ("0", "1") and o[5] in ("0", "1"), o
    if o[2] == "1":
        assert float(o[3]) >= 0 and float(o[4]) > 0, o
        assert all("=" in t for t in o[9].split(";") if t), o[9]
    else:
        assert o[3] == o[4] == "" and o[5] == "0", o
' "$FIX/samples.csv" "$T/a.csv"
# machine FILE MIN_CHANGES: the alarm column follows the detector's state
# machine on the row's score and threshold (raised by `alarm_samples`
# rows at or above it, or at once by the onset path; cleared by
# `clear_samples` rows below it), the alarms counter counts the raises,
# and there are at least MIN_CHANGES raises and as many clears
machine() {
	python3 -c '
import csv, sys
on, off, least = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r["ready"] == "1"]
assert rows, "never ready"
s = [float(r["score"]) for r in rows]
th = [float(r["threshold"]) for r in rows]
al = [r["alarm"] == "1" for r in rows]
n = [int(r["alarms"]) for r in rows]
# a failure the labels saw (not the manual one) raises the alarm whatever
# the score
lab = [False] + [any(int(rows[k][c] or 0) > int(rows[k - 1][c] or 0)
                     for c in ("events_oom", "events_fs_full",
                               "events_health"))
                 for k in range(1, len(rows))]
eps = 1e-5
above = [s[k] >= th[k] * (1 + eps) for k in range(len(rows))]
below = [s[k] < th[k] * (1 - eps) for k in range(len(rows))]
raised = cleared = 0
for i in range(1, len(rows)):
    if al[i] and not al[i - 1]:
        raised += 1
        assert lab[i] or s[i] >= th[i] * (1 - eps), ("raised below", i)
        assert n[i] == n[i - 1] + 1, ("alarms counter", i)
    else:
        assert n[i] == n[i - 1], ("alarms counter", i)
    if al[i - 1] and not al[i]:
        cleared += 1
        assert i >= off and not any(above[i - off + 1:i + 1]), \
            ("cleared early", i)
    if i >= on - 1 and not any(al[i - on + 1:i + 1]):
        assert not all(above[i - on + 1:i + 1]), ("not raised", i)
    if i >= off and all(al[i - off:i]) and all(below[i - off + 1:i + 1]):
        assert not al[i], ("not cleared", i)
assert raised >= least and cleared >= least, (raised, cleared)
' "$1" "$(conf alarm_samples)" "$(conf clear_samples)" "$2"
}
check "alarm follows the state machine on score and threshold" \
	machine "$T/a.csv" 0
# the recording's rows again in another order: the quiet rows the first
# model trained on after its first alarm, then a CPU burst again, so that
# alarms clear and rise again
python3 - "$FIX/samples.csv" "$T/cycle.csv" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
head = [h for h in rows[0] if not h.startswith("events_")]
pick = rows[:100] + rows[:70] * 2 + rows[145:175] + rows[:70]
t0 = int(rows[0]["time"].replace(".", ""))
with open(sys.argv[2], "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=head, extrasaction="ignore")
    w.writeheader()
    for i, r in enumerate(pick):
        ms = t0 + 1000 * i
        r = dict(r, time="%d.%03d" % (ms // 1000, ms % 1000),
                 sample=str(i + 1))
        w.writerow(r)
EOF
run "$T/cycle.out" --agent "$T/cycle.csv" --adopt next
check "rows replayed out of order: exit 0" test $? -eq 0
check "alarms that clear and rise again follow the state machine" \
	machine "$T/cycle.out" 2

# 3. the training schedule
run "$T/next.csv" --agent "$FIX/samples.csv" --adopt next
check "--adopt next: exit 0" test $? -eq 0
check "--adopt next: ready from row $min_rows, retrained every ${retrain} s of the file's clock" python3 -c '
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
min_rows, retrain = int(sys.argv[2]), float(sys.argv[3])
ready = [i for i, r in enumerate(rows) if r["ready"] == "1"]
assert ready[0] == min_rows, (ready[0], min_rows)
# a training starts at the row holding min_rows samples, then at the
# first row retrain seconds after the last start; the next row adopts it
want, start = [min_rows], min_rows - 1
ms = [int(r["time"].replace(".", "")) for r in rows]  # %.3f: exact
for i in range(start + 1, len(rows) - 1):
    if ms[i] - ms[start] >= retrain * 1000:
        want.append(i + 1)
        start = i
got = [i for i in range(1, len(rows))
       if int(rows[i]["trainings"]) > int(rows[i - 1]["trainings"])]
assert len(want) >= 2, want
assert got == want, (got, want)
' "$T/next.csv" "$min_rows" "$retrain"
check "--adopt recorded: the models score from the recorded rows" python3 -c '
import csv, sys
def rises(path):
    rows = list(csv.DictReader(open(path)))
    return [i for i in range(1, len(rows))
            if int(rows[i]["trainings"]) > int(rows[i - 1]["trainings"])]
rec, out = rises(sys.argv[1]), rises(sys.argv[2])
assert rec and out == rec, (out, rec)
' "$FIX/samples.csv" "$T/a.csv"

# a live training that took 5 samples: the recording's counter rises 5
# rows later, and so do the replay's (the models held meanwhile)
python3 - "$FIX/samples.csv" "$T/slow.csv" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
tr = [int(r["trainings"]) for r in rows]
for i, r in enumerate(rows):
    r["trainings"] = str(tr[i - 5] if i >= 5 else 0)
    r["ready"] = "1" if int(r["trainings"]) > 0 else "0"
with open(sys.argv[2], "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
EOF
run "$T/slow.out" --agent "$T/slow.csv"
check "--adopt recorded, a slow live training: held until the recorded rows" \
	python3 -c '
import csv, sys
def rises(path):
    rows = list(csv.DictReader(open(path)))
    return [i for i in range(1, len(rows))
            if int(rows[i]["trainings"]) > int(rows[i - 1]["trainings"])]
rec, out, nxt = rises(sys.argv[1]), rises(sys.argv[2]), rises(sys.argv[3])
assert out == rec and all(a >= b + 4 for a, b in zip(out, nxt)), \
    (out, rec, nxt)
' "$T/slow.csv" "$T/slow.out" "$T/next.csv"
check "--adopt recorded, a slow live training: counted as matched" \
	grep -q "models adopted at the recorded row, 0 not" "$T/slow.out.err"

# 4. samples the recording missed are filled in: the rows after a gap
# before the first training keep their sample numbers' schedule
awk -F, 'NR == 1 || $2 < 10 || $2 > 12' "$FIX/samples.csv" >"$T/gap.csv"
run "$T/gap.out" --agent "$T/gap.csv" --adopt next
check "a gap of 3 samples: exit 0, 3 rows fewer" \
	test $? -eq 0 -a "$(wc -l <"$T/gap.out")" -eq $((rows - 2))
check "a gap of 3 samples: ready at the same sample number" \
	test "$(awk -F, '$3 == 1 { print $2; exit }' "$T/gap.out")" = \
	"$(awk -F, '$3 == 1 { print $2; exit }' "$T/next.csv")"
check "the summary counts the 3 filled in" \
	grep -q "(3 missed samples filled in)" "$T/gap.out.err"

# 5. label onsets: recorded (an events_ counter rising), or from the
# features (OOM kills) without the events_ columns
python3 - "$FIX/samples.csv" "$T" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
head = list(rows[0])
for i, r in enumerate(rows):
    r["events_manual"] = str(int(r["events_manual"]) + (i >= 30))
    r["mem.oom_kills"] = "0.2" if 40 <= i < 43 else "0"
def write(path, fields):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
write(sys.argv[2] + "/manual.csv", head)
write(sys.argv[2] + "/oom.csv", [h for h in head
                                 if not h.startswith("events_")])
EOF
first_rise() { # first_rise FILE COLUMN: the data row where it first rises
	python3 -c '
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print(next(i for i in range(1, len(rows))
           if int(rows[i][sys.argv[2]]) > int(rows[i - 1][sys.argv[2]])))
' "$1" "$2"
}
run "$T/manual.out" --agent "$T/manual.csv"
check "a recorded manual label: an onset at its row" \
	test "$(first_rise "$T/manual.out" events_manual)" = 30
check "recorded labels: said so" grep -q "labels as recorded" "$T/manual.out.err"
run "$T/oom.out" --agent "$T/oom.csv"
check "no events_ columns: the OOM onset from mem.oom_kills" \
	test "$(first_rise "$T/oom.out" events_oom)" = 40
check "one onset for a run of kills" \
	test "$(tail -n 1 "$T/oom.out" | cut -d, -f12)" = 1
check "labels from the features: said so" \
	grep -q "labels from the features" "$T/oom.out.err"

# 6. malformed input and bad flags: exit 2
bad() { # bad DESCRIPTION PATTERN FILE: exit 2 with PATTERN on stderr
	"$REPLAY" --agent "$3" --config "$FIX/agent.conf" >/dev/null 2>"$T/err"
	local rc=$?
	check "$1: exit 2" test $rc -eq 2
	check "$1: says '$2'" grep -q -- "$2" "$T/err"
}
cut -d, -f2- "$FIX/samples.csv" >"$T/notime.csv"
bad "no time column" "notime.csv:1: no 'time' column" "$T/notime.csv"
sed '5s/^\([^,]*,[^,]*,[^,]*,[^,]*,[^,]*,[^,]*,[^,]*,[^,]*,[^,]*\),[^,]*/\1,x/' \
	"$FIX/samples.csv" >"$T/nan.csv"
bad "a non-numeric feature" "nan.csv:5: field 10 is not a number" "$T/nan.csv"
sed '7s/,[^,]*$//' "$FIX/samples.csv" >"$T/ragged.csv"
bad "a short row" "ragged.csv:7: expected" "$T/ragged.csv"
sed '3{h;d};4{G}' "$FIX/samples.csv" >"$T/back.csv"
bad "time going back" "back.csv:4: time" "$T/back.csv"
: >"$T/empty.csv"
bad "an empty file" "empty.csv:1: no header" "$T/empty.csv"
bad "a missing file" "cannot read" "$T/none.csv"
"$REPLAY" --agent "$FIX/samples.csv" --seed 3 >/dev/null 2>&1
check "--agent with --seed: exit 2" test $? -eq 2
"$REPLAY" --train "$FIX/samples.csv" --test "$FIX/samples.csv" \
	--adopt next >/dev/null 2>&1
check "--adopt without --agent: exit 2" test $? -eq 2
"$REPLAY" --agent "$FIX/samples.csv" --adopt sometimes >/dev/null 2>&1
check "--adopt sometimes: exit 2" test $? -eq 2
sed 's/^enabled = yes/enabled = no/' "$FIX/agent.conf" >"$T/off.conf"
"$REPLAY" --agent "$FIX/samples.csv" --config "$T/off.conf" >/dev/null \
	2>"$T/err"
check "[learn] enabled = no: exit 2" test $? -eq 2
check "[learn] enabled = no: said so" grep -q "no learner to replay" "$T/err"

echo "1..$n"
exit $((failed > 0))
