#!/usr/bin/env python3
"""bench/live-faults.py --analyse on a small synthetic run (no root, no
agent): the failure predictions' Brier score and reliability table, and
p(oom)'s lead ahead of the leak's first OOM kill and its fall back.

The run: 1,600 one-second samples, horizon 2 minutes (agent.conf), an
oom-leak fault from 1000 s to 1300 s with OOM kills at 1100 s and 1200 s
(events_oom rising), p(oom) 0.1, then 0.6 from 1050 s, 0.3 from 1250 s, 0.1
from 1320 s; p(fs_full) 0 throughout with no onset. By hand: the samples
from 980 s to 1199 s have an onset within the horizon (220), those after
1479 s are left out (the run ends within their horizon, no onset follows),
so 1,480 samples, Brier (980 x 0.01 + 70 x 0.81 + 150 x 0.16 + 50 x 0.36
+ 70 x 0.09 + 160 x 0.01) / 1480 = 0.07865; the lead is 1100 - 1050 =
50 s; p(oom) falls below 0.2 20 s after the leak's end.
"""
import csv
import importlib.util
import io
import json
import os
import sys
import tempfile
from contextlib import redirect_stdout

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def load_bench():
    spec = importlib.util.spec_from_file_location(
        "live_faults", os.path.join(ROOT, "bench", "live-faults.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def p_oom(t):
    if t < 1050:
        return 0.1
    if t < 1250:
        return 0.6
    if t < 1320:
        return 0.3
    return 0.1


def make_run(outdir):
    rundir = os.path.join(outdir, "run-1")
    os.makedirs(rundir)
    with open(os.path.join(rundir, "agent.conf"), "w") as f:
        f.write("[learn]\n# a comment\nhorizon_minutes = 2\n"
                "[labels]\nhorizon_minutes = 99\n")
    head = ["time", "sample", "ready", "score", "threshold", "alarm",
            "alarms", "trainings", "top_features", "p_oom", "events_oom",
            "p_fs_full", "events_fs_full", "regime", "faults", "expected"]
    with open(os.path.join(rundir, "samples.csv"), "w") as f:
        w = csv.writer(f)
        w.writerow(head)
        for t in range(1600):
            ev = (t >= 1100) + (t >= 1200)
            w.writerow(["%.3f" % t, t + 1, 1, "0.5", "1", 0, 0, 1, "",
                        "%g" % p_oom(t), ev, "0", 0, "idle",
                        "oom-leak" if 1000 <= t < 1300 else "", ""])
    with open(os.path.join(rundir, "faults.csv"), "w") as f:
        w = csv.writer(f)
        w.writerow(["name", "kind", "start", "end", "alarm_at_start",
                    "expected", "what"])
        w.writerow(["oom-leak", "oom-leak", "1000.000", "1300.000", 0,
                    "mem.oom_kills", "a leak"])
    with open(os.path.join(outdir, "summary.json"), "w") as f:
        json.dump({"runs": [{"oom_kills": 2}]}, f)
    return rundir


def check(cond, what):
    if not cond:
        print("not ok - %s" % what)
        sys.exit(1)
    print("ok - %s" % what)


def main():
    bench = load_bench()
    with tempfile.TemporaryDirectory() as outdir:
        rundir = make_run(outdir)
        check(bench.run_horizon(rundir) == 120.0, "horizon from agent.conf")
        rows, labels = bench.load_run(rundir)
        res = bench.analyse(rows, labels, 2, bench.run_horizon(rundir))
        c = res["calibration"]["oom"]
        check(c["samples"] == 1480 and c["onsets"] == 2,
              "samples and onsets: %d, %d" % (c["samples"], c["onsets"]))
        check(abs(c["positive_rate"] - 220 / 1480) < 1e-4,
              "positive rate %.4f" % c["positive_rate"])
        check(abs(c["brier"] - 116.4 / 1480) < 1e-5,
              "Brier %.5f" % c["brier"])
        table = {tuple(b["bin"]): (b["n"], b["mean_p"], b["observed"])
                 for b in c["table"]}
        check(len(table) == 3, "three bins used")
        n, mp, obs = table[(0.1, 0.2)]
        check(n == 1210 and abs(mp - 0.1) < 1e-9 and
              abs(obs - 70 / 1210) < 1e-4, "bin 0.1-0.2")
        check(table[(0.3, 0.4)][0] == 70 and table[(0.3, 0.4)][2] == 0,
              "bin 0.3-0.4")
        check(table[(0.6, 0.7)][0] == 200 and table[(0.6, 0.7)][2] == 0.75,
              "bin 0.6-0.7")
        f = res["calibration"]["fs_full"]
        check(f["brier"] == 0 and f["onsets"] == 0 and
              f["table"][0]["n"] == 1480, "p(fs_full) 0, nothing filling")
        lead = res["oom_lead"]
        check(lead["first_oom"] == 100.0, "first OOM kill 100 s in")
        check(lead["lead"] == 50.0, "lead %s s" % lead["lead"])
        check(lead["fell_back"] and lead["fall_time"] == 20.0,
              "fell back after %s s" % lead["fall_time"])
        # the whole --analyse path prints them
        out = io.StringIO()
        with redirect_stdout(out):
            r = bench.reanalyse(outdir)
        text = out.getvalue()
        check(r == 0, "--analyse exits 0")
        check("Brier 0.07865" in text, "--analyse prints the Brier score")
        check("p >= 0.5 50 s ahead" in text and "after 20 s" in text,
              "--analyse prints the lead and the fall back")
        check("0.6-0.7" in text and "0.750" in text,
              "--analyse prints the reliability table")
    return 0


if __name__ == "__main__":
    sys.exit(main())
