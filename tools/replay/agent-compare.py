#!/usr/bin/env python3
"""How closely fedmon-replay --agent reproduces a recorded live run.

Usage: tools/replay/agent-compare.py RUN [--config AGENT_CONF]
                                     [--replay BIN] [--adopt recorded|next]
                                     [--tolerance S] [--keep FILE] [--json]

RUN is a run directory of bench/live-faults.py (its samples.csv, and the
agent.conf beside it) or a file recorded by `fedmonctl watch --csv` (then
--config names the agent.conf it ran with; without one, the built-in
defaults). It runs fedmon-replay --agent over the recording and compares
row by row, over the rows where both the live agent and the replay had a
trained model:

  alarm agreement   the fraction of those rows whose alarm is the same
  onsets            alarm onsets (the alarms counter rising) of each side
                    with one of the other side's within +-S seconds
                    (default 2)
  score             Pearson correlation of the scores, and of their
                    logarithms; the share of rows with the same printed
                    score
  ready, trainings  the rows where each side first had a model, and where
                    its trainings counter rose
  top feature       the share of rows in alarm on both sides naming the
                    same feature first
  probabilities     the share of rows with the same printed failure
                    probabilities (p_SOURCE)

What cannot match exactly is said in README.md, "Replay". Exit status: 0,
1 when the replay failed, 2 on bad usage.
"""

import argparse
import csv
import json
import math
import os
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def fnum(s):
    try:
        v = float(s)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def onsets(rows):
    """Times of the alarm onsets: where the alarms counter rises."""
    out, prev = [], None
    for r in rows:
        a = int(r["alarms"])
        if prev is not None and a > prev:
            out.append(float(r["time"]))
        prev = a
    return out


def rises(rows, key):
    out, prev = [], None
    for i, r in enumerate(rows):
        v = int(r[key])
        if prev is not None and v > prev:
            out.append(i)
        prev = v
    return out


def matched(a, b, tol):
    """How many times of a have one of b within tol."""
    return sum(1 for t in a if any(abs(t - u) <= tol for u in b))


def pearson(x, y):
    n = len(x)
    if n < 2:
        return None
    mx, my = sum(x) / n, sum(y) / n
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y))
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    if sxx == 0 or syy == 0:
        return None
    return sxy / math.sqrt(sxx * syy)


def first_top(r):
    t = r.get("top_features") or ""
    return t.split(";")[0].split("=")[0] if "=" in t else ""


def compare(live, rep, tol):
    if len(live) != len(rep):
        raise RuntimeError("the replay has %d rows, the recording %d"
                           % (len(rep), len(live)))
    both = [(a, b) for a, b in zip(live, rep)
            if a["ready"] == "1" and b["ready"] == "1"]
    same_alarm = sum(1 for a, b in both if a["alarm"] == b["alarm"])
    sa = [(fnum(a["score"]), fnum(b["score"])) for a, b in both]
    sa = [(x, y) for x, y in sa if x is not None and y is not None]
    lg = [(math.log(x), math.log(y)) for x, y in sa if x > 0 and y > 0]
    in_alarm = [(a, b) for a, b in both
                if a["alarm"] == "1" and b["alarm"] == "1"]
    lo = onsets([a for a, _ in both])
    ro = onsets([b for _, b in both])
    ready = [next((i for i, r in enumerate(rows) if r["ready"] == "1"),
                  None) for rows in (live, rep)]
    out = {
        "rows": len(live),
        "rows_both_ready": len(both),
        "alarm_agreement": same_alarm / len(both) if both else None,
        "live_alarm_rows": sum(1 for a, _ in both if a["alarm"] == "1"),
        "replay_alarm_rows": sum(1 for _, b in both if b["alarm"] == "1"),
        "live_onsets": len(lo),
        "replay_onsets": len(ro),
        "live_onsets_matched": matched(lo, ro, tol),
        "replay_onsets_matched": matched(ro, lo, tol),
        "score_pearson": pearson([x for x, _ in sa], [y for _, y in sa]),
        "log_score_pearson": pearson([x for x, _ in lg],
                                     [y for _, y in lg]),
        "score_identical": (sum(1 for a, b in both
                                if a["score"] == b["score"]) / len(both)
                            if both else None),
        "live_first_ready_row": ready[0],
        "replay_first_ready_row": ready[1],
        "live_training_rows": rises(live, "trainings"),
        "replay_training_rows": rises(rep, "trainings"),
        "probabilities_identical": (sum(
            1 for a, b in both if all(a[k] == b[k] for k in a
                                      if k.startswith("p_") and k in b))
            / len(both) if both else None),
        "top_feature_agreement": (sum(1 for a, b in in_alarm
                                      if first_top(a) == first_top(b))
                                  / len(in_alarm) if in_alarm else None),
        "tolerance_seconds": tol,
    }
    return out


def show(v):
    if v is None:
        return "-"
    if isinstance(v, float):
        return "%.4f" % v
    return str(v)


def main():
    p = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run")
    p.add_argument("--config")
    p.add_argument("--replay", default=os.path.join(
        REPO, "build", "tools", "replay", "fedmon-replay"))
    p.add_argument("--adopt", choices=["recorded", "next"],
                   default="recorded")
    p.add_argument("--tolerance", type=float, default=2.0)
    p.add_argument("--keep", help="also write the replay's rows here")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()

    path, config = a.run, a.config
    if os.path.isdir(a.run):
        path = os.path.join(a.run, "samples.csv")
        if config is None and os.path.exists(
                os.path.join(a.run, "agent.conf")):
            config = os.path.join(a.run, "agent.conf")
    if not os.path.isfile(path):
        print("agent-compare: no recording at %s" % path, file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        out = a.keep or os.path.join(tmp, "replay.csv")
        cmd = [a.replay, "--agent", path, "--out", out, "--adopt", a.adopt]
        if config:
            cmd += ["--config", config]
        res = subprocess.run(cmd, stderr=subprocess.PIPE, text=True)
        if res.returncode != 0:
            sys.stderr.write(res.stderr)
            return 1
        r = compare(read_rows(path), read_rows(out), a.tolerance)
    r["replay_summary"] = res.stderr.strip()
    if a.json:
        print(json.dumps(r, indent=1))
        return 0
    print("recording %s, config %s, --adopt %s" % (path, config or
                                                   "(defaults)", a.adopt))
    print(r["replay_summary"])
    for k in ("rows", "rows_both_ready", "alarm_agreement",
              "live_alarm_rows", "replay_alarm_rows", "live_onsets",
              "replay_onsets", "live_onsets_matched",
              "replay_onsets_matched", "score_pearson",
              "log_score_pearson", "score_identical",
              "live_first_ready_row", "replay_first_ready_row",
              "live_training_rows", "replay_training_rows",
              "top_feature_agreement", "probabilities_identical"):
        print("%-24s %s" % (k, show(r[k])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
