#!/usr/bin/python3
"""Failure prediction quality through fedmon-replay --federate --failures (dev data).

usage: tools/replay/fail-eval.py [--replay BIN] [--data DIR] [--seed N]
                                 [--rounds R] [--targets K] [--jobs J]
                                 [--modes M,M] [smd|asd ...]

The dev data has no failure labels of its own, so the labelled anomaly
segments of each host's test half stand in for failures: a "failure" begins
where a labelled segment begins. Each host's test rows are cut in two: the
first half, with its labels, is the host's labelled history (what the agent
learns its failure predictor from), the second half is scored. The target of
row t is whether a failure begins within the horizon (30 minutes: 30 rows on
smd, 6 on asd), by the rule of fm_learn_predictor_labels(): rows inside a
failure and the last horizon rows are left out. Each host's detector trains on
its train rows as in fed-eval.py.

Scenarios, each in local (the host alone), pooled (one predictor on every
host's history: breaks privacy) and federated mode:
  full    every host keeps its labelled history; the mean over hosts;
  none    one target host has never failed (its history keeps no label: the
          rare-label case at its extreme), every other host its own; K
          targets, one run each, the figure being the target's;
  first   the target keeps only its first failure.
The figure is the average precision (AUC-PR) of the probabilities in
DIR/NAME.failures against those targets, beside the base rate (what a
predictor without skill scores). Dev-data figures. Exits 77 without data.
"""
import argparse
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# name: (folder, machines, rows per day, horizon in rows)
SETS = {
    "smd": ("smd-dev", [f"machine-1-{i}" for i in range(2, 9)], 1440, 30),
    "asd": ("asd", [f"omi-{i}" for i in range(1, 13)], 288, 6),
}
ALL_MODES = ("local", "pooled", "federated")
SCENARIOS = ("full", "none", "first")


def read_lines(path):
    with open(path) as fh:
        return [l for l in fh.read().split("\n") if l.strip()]


def targets(labels, horizon):
    """1/0 per row, None where left out (as fm_learn_predictor_labels)."""
    n = len(labels)
    onset = [labels[t] and (t == 0 or not labels[t - 1]) for t in range(n)]
    # next onset strictly after t
    nxt, out = [None] * n, []
    after = None
    for t in range(n - 1, -1, -1):
        nxt[t] = after
        if onset[t]:
            after = t
    for t in range(n):
        if nxt[t] is not None and nxt[t] <= t + horizon:
            out.append(1)
        elif labels[t] or t + horizon >= n:
            out.append(None)
        else:
            out.append(0)
    return out


def average_precision(scores, y):
    pairs = sorted(((s, t) for s, t in zip(scores, y) if t is not None), key=lambda p: -p[0])
    pos = sum(t for _, t in pairs)
    if pos == 0:
        return float("nan"), 0.0
    ap, tp, fp, i, last_recall = 0.0, 0, 0, 0, 0.0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:  # ties: one threshold
            tp += pairs[j][1]
            fp += 1 - pairs[j][1]
            j += 1
        recall = tp / pos
        ap += (recall - last_recall) * tp / (tp + fp)
        last_recall, i = recall, j
    return ap, pos / len(pairs)


def prepare(args, ds, tmp):
    """Cuts every host's test half in two; returns {name: (rows, events, test, truth)}."""
    folder, names, _, horizon = SETS[ds]
    base = os.path.join(args.data, folder)
    out = {}
    for n in names:
        rows = read_lines(f"{base}/test/{n}.txt")
        lab = [int(float(v)) for v in read_lines(f"{base}/test_label/{n}.txt")]
        h = len(rows) // 2
        paths = [os.path.join(tmp, f"{ds}-{n}.{k}") for k in ("rows", "events", "test")]
        for p, part in zip(paths, (rows[:h], [str(v) for v in lab[:h]], rows[h:])):
            with open(p, "w") as fh:
                fh.write("\n".join(part) + "\n")
        none = os.path.join(tmp, f"{ds}-{n}.events-none")
        with open(none, "w") as fh:
            fh.write("0\n" * h)
        first, seen_end = [], False
        for t, v in enumerate(lab[:h]):
            if t > 0 and lab[t - 1] and not v:
                seen_end = True
            first.append(0 if seen_end else v)
        fpath = os.path.join(tmp, f"{ds}-{n}.events-first")
        with open(fpath, "w") as fh:
            fh.write("\n".join(map(str, first)) + "\n")
        out[n] = paths + [targets(lab[h:], horizon), sum(
            1 for t in range(h) if lab[t] and (t == 0 or not lab[t - 1]))]
    return out


def replay(args, ds, parts, mode, tmp, scenario, target=None):
    folder, names, per_day, horizon = SETS[ds]
    tag = f"{ds}-{mode}-{scenario}-{target or 'all'}"
    out = os.path.join(tmp, tag)
    cl, fl = out + ".clients", out + ".failures"
    with open(cl, "w") as c, open(fl, "w") as f:
        for n in names:
            rows, events, test = parts[n][:3]
            c.write(f"{n}\t{args.data}/{folder}/train/{n}.txt\t{test}\n")
            if n == target:
                events += f"-{scenario}"
            f.write(f"{n}\t{rows}\t{events}\n")
    subprocess.run([args.replay, "--federate", cl, "--out", out, "--mode", mode,
                    "--rounds", str(args.rounds), "--rows-per-day", str(per_day),
                    "--seed", str(args.seed), "--failures", fl, "--horizon", str(horizon)],
                   check=True, stdout=subprocess.DEVNULL)
    res = {}
    for n in names if target is None else [target]:
        p = [float(v) for v in read_lines(os.path.join(out, f"{n}.failures"))]
        res[n] = average_precision(p, parts[n][3])
    return res


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--replay", default=os.path.join(ROOT, "build/tools/replay/fedmon-replay"))
    p.add_argument("--data", default=os.path.join(os.path.dirname(ROOT), "shared/data"))
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--targets", type=int, default=4, help="targets per set and scenario")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("--modes", default=",".join(ALL_MODES))
    p.add_argument("--scenarios", default=",".join(SCENARIOS))
    p.add_argument("sets", nargs="*", default=["smd", "asd"])
    args = p.parse_args()
    modes = tuple(m for m in args.modes.split(",") if m)
    scen = tuple(s for s in args.scenarios.split(",") if s)
    if not modes or any(m not in ALL_MODES for m in modes):
        p.error(f"--modes: a comma-separated list of {', '.join(ALL_MODES)}")
    if not scen or any(s not in SCENARIOS for s in scen):
        p.error(f"--scenarios: a comma-separated list of {', '.join(SCENARIOS)}")
    if not os.path.isdir(args.data):
        print(f"skipped: no data in {args.data}")
        return 77
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(args.jobs) as ex:
        for ds in args.sets:
            names = SETS[ds][1]
            parts = prepare(args, ds, tmp)
            print(f"{ds}: failures in the labelled halves: " + " ".join(
                f"{n} {parts[n][4]}" for n in names), flush=True)
            if "full" in scen:
                full = dict(zip(modes, ex.map(
                    lambda m: replay(args, ds, parts, m, tmp, "full"), modes)))
                for n in names:
                    print(f"{ds} full  {n:12s} base {full[modes[0]][n][1]:.4f} " + " ".join(
                        f"{m} {full[m][n][0]:.4f}" for m in modes))
                ok = [n for n in names if full[modes[0]][n][0] == full[modes[0]][n][0]]
                print(f"{ds} full  MEAN ({len(ok)} hosts) base "
                      f"{sum(full[modes[0]][n][1] for n in ok) / len(ok):.4f} " + " ".join(
                          f"{m} {sum(full[m][n][0] for n in ok) / len(ok):.4f}" for m in modes),
                      flush=True)
            step = max(1, len(names) // args.targets)
            tg = [n for n in names[::step] if parts[n][3].count(1) > 0][:args.targets]
            for sc in (s for s in scen if s != "full"):
                jobs = [(m, t) for t in tg for m in modes]
                res = list(ex.map(lambda mt: replay(args, ds, parts, mt[0], tmp, sc, mt[1]), jobs))
                got = {m: {} for m in modes}
                for (m, t), r in zip(jobs, res):
                    got[m][t] = r[t]
                for t in tg:
                    print(f"{ds} {sc:5s} {t:12s} base {got[modes[0]][t][1]:.4f} " + " ".join(
                        f"{m} {got[m][t][0]:.4f}" for m in modes))
                print(f"{ds} {sc:5s} MEAN ({len(tg)} targets) base "
                      f"{sum(got[modes[0]][t][1] for t in tg) / len(tg):.4f} " + " ".join(
                          f"{m} {sum(got[m][t][0] for t in tg) / len(tg):.4f}" for m in modes),
                      flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
