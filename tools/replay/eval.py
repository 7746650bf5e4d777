#!/usr/bin/python3
"""Detection quality through fedmon-replay on the labelled data in ../shared/data.

usage: tools/replay/eval.py [--replay BIN] [--data DIR] [--seed N] [--jobs N] [smd|asd ...]

Runs fedmon-replay on every machine of each data set, scores the output with
../shared/eval/score.py (point-wise, no point-adjust) and prints the figures
per machine and their mean. These are dev-data figures. Exits 77 (skipped)
when the data or scorer is absent.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SETS = {
    "smd": ("smd-dev", [f"machine-1-{i}" for i in range(2, 9)], 1),
    "asd": ("asd", [f"omi-{i}" for i in range(1, 13)], 5),
}


def run_one(args, ds, name, out_dir):
    folder, _, minutes = SETS[ds]
    base = os.path.join(args.data, folder)
    out = os.path.join(out_dir, f"{ds}-{name}.txt")
    with open(out, "w") as fh:
        subprocess.run([args.replay, "--train", f"{base}/train/{name}.txt",
                        "--test", f"{base}/test/{name}.txt",
                        "--rows-per-day", str(1440 // minutes), "--seed", str(args.seed)],
                       stdout=fh, check=True)
    res = subprocess.run(["/usr/bin/python3", args.score, f"{base}/test_label/{name}.txt", out,
                          f"--minutes-per-row={minutes}"], capture_output=True, text=True, check=True)
    return json.loads(res.stdout)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--replay", default=os.path.join(ROOT, "build/tools/replay/fedmon-replay"))
    p.add_argument("--data", default=os.path.join(os.path.dirname(ROOT), "shared/data"))
    p.add_argument("--score", default=None)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("sets", nargs="*", default=["smd", "asd"])
    args = p.parse_args()
    args.score = args.score or os.path.join(os.path.dirname(args.data), "eval/score.py")
    if not os.path.isdir(args.data) or not os.path.exists(args.score):
        print(f"skipped: no data in {args.data} or no scorer {args.score}")
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        for ds in args.sets:
            names = SETS[ds][1]
            with ThreadPoolExecutor(args.jobs) as ex:
                rows = list(ex.map(lambda n: run_one(args, ds, n, tmp), names))
            keys = ("best_f1", "auc_pr")
            own = ("f1", "p", "r", "false_alarms_per_day")
            for n, r in zip(names, rows):
                o = r["own"]
                print(f"{ds} {n:12s} best-F1 {r['best_f1']:.3f} AUC-PR {r['auc_pr']:.3f} "
                      f"own F1 {o['f1']:.3f} (P {o['p']:.3f} R {o['r']:.3f}) "
                      f"false alarms/day {o['false_alarms_per_day']:.2f}")
            mean = {k: sum(r[k] for r in rows) / len(rows) for k in keys}
            for k in own:
                mean[k] = sum(r["own"][k] for r in rows) / len(rows)
            print(f"{ds} MEAN         best-F1 {mean['best_f1']:.3f} AUC-PR {mean['auc_pr']:.3f} "
                  f"own F1 {mean['f1']:.3f} (P {mean['p']:.3f} R {mean['r']:.3f}) "
                  f"false alarms/day {mean['false_alarms_per_day']:.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
