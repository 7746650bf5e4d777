#!/usr/bin/python3
"""Federated detection quality through fedmon-replay --federate (dev data).

usage: tools/replay/fed-eval.py [--replay BIN] [--data DIR] [--seed N]
                                [--rounds R] [--targets K] [--cold-rows N]
                                [--modes M,M] [--no-cold] [smd|asd ...]

For each data set (smd-dev's 7 machines, asd's 12) runs the three modes of
fedmon-replay --federate -- local (each host alone), pooled (one model on
everyone's rows: a reference that breaks privacy) and federated (through the
real aggregator and agent code) -- with full history, then in cold start:
one target host keeps only its first day of training rows (1440 on smd, 288
on asd; --cold-rows N for less: a host with little history), every other
host its full history; K targets, one run each, the figure being the
target's. Scores with ../shared/eval/score.py (point-wise,
no point-adjust) and prints best-F1 per host and the means. Dev-data figures.
Exits 77 when the data or the scorer is absent.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# name: (folder, machines, minutes per row, rows in one day)
SETS = {
    "smd": ("smd-dev", [f"machine-1-{i}" for i in range(2, 9)], 1, 1440),
    "asd": ("asd", [f"omi-{i}" for i in range(1, 13)], 5, 288),
}
ALL_MODES = ("local", "pooled", "federated")


def clients_file(args, ds, path, target=None):
    folder, names, _, day = SETS[ds]
    base = os.path.join(args.data, folder)
    with open(path, "w") as fh:
        for n in names:
            cap = f"\t{args.cold_rows or day}" if n == target else ""
            fh.write(f"{n}\t{base}/train/{n}.txt\t{base}/test/{n}.txt{cap}\n")


def score(args, ds, name, path):
    folder, _, minutes, _ = SETS[ds]
    res = subprocess.run(["/usr/bin/python3", args.score,
                          os.path.join(args.data, folder, "test_label", f"{name}.txt"), path,
                          f"--minutes-per-row={minutes}"],
                         capture_output=True, text=True, check=True)
    return json.loads(res.stdout)


def replay(args, ds, mode, tmp, tag, target=None):
    out = os.path.join(tmp, f"{ds}-{mode}-{tag}")
    cl = out + ".clients"
    clients_file(args, ds, cl, target)
    subprocess.run([args.replay, "--federate", cl, "--out", out, "--mode", mode,
                    "--rounds", str(args.rounds),
                    "--rows-per-day", str(1440 // SETS[ds][2]), "--seed", str(args.seed)],
                   check=True)
    names = SETS[ds][1] if target is None else [target]
    return {n: score(args, ds, n, os.path.join(out, f"{n}.scores")) for n in names}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--replay", default=os.path.join(ROOT, "build/tools/replay/fedmon-replay"))
    p.add_argument("--data", default=os.path.join(os.path.dirname(ROOT), "shared/data"))
    p.add_argument("--score", default=None)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--targets", type=int, default=4, help="cold-start targets per set")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("--no-cold", action="store_true")
    p.add_argument("--cold-rows", type=int, default=0,
                   help="the cold-start target's train rows (default: one day)")
    p.add_argument("--modes", default=",".join(ALL_MODES),
                   help="comma-separated, of " + ", ".join(ALL_MODES))
    p.add_argument("sets", nargs="*", default=["smd", "asd"])
    args = p.parse_args()
    modes = tuple(m for m in args.modes.split(",") if m)
    if not modes or any(m not in ALL_MODES for m in modes):
        p.error(f"--modes: a comma-separated list of {', '.join(ALL_MODES)}")
    args.score = args.score or os.path.join(os.path.dirname(args.data), "eval/score.py")
    if not os.path.isdir(args.data) or not os.path.exists(args.score):
        print(f"skipped: no data in {args.data} or no scorer {args.score}")
        return 77
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(args.jobs) as ex:
        for ds in args.sets:
            names = SETS[ds][1]
            full = dict(zip(modes, ex.map(lambda m: replay(args, ds, m, tmp, "full"), modes)))
            for n in names:
                print(f"{ds} full {n:12s} " + " ".join(
                    f"{m} {full[m][n]['best_f1']:.3f}" for m in modes))
            print(f"{ds} full MEAN         " + " ".join(
                f"{m} {sum(r['best_f1'] for r in full[m].values()) / len(names):.3f}"
                for m in modes), flush=True)
            if args.no_cold:
                continue
            step = max(1, len(names) // args.targets)
            targets = names[::step][:args.targets]
            jobs = [(m, t) for t in targets for m in modes]
            res = list(ex.map(lambda mt: replay(args, ds, mt[0], tmp, f"cold-{mt[1]}", mt[1]), jobs))
            cold = {m: {} for m in modes}
            for (m, t), r in zip(jobs, res):
                cold[m][t] = r[t]["best_f1"]
            for t in targets:
                print(f"{ds} cold {t:12s} " + " ".join(f"{m} {cold[m][t]:.3f}" for m in modes))
            print(f"{ds} cold MEAN         " + " ".join(
                f"{m} {sum(cold[m].values()) / len(targets):.3f}" for m in modes), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
