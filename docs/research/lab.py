"""Evaluation harness (dev data only). Data is read in place from /work/shared/data, never copied."""
import sys, os, json, time
import numpy as np
sys.path.insert(0, "/work/shared/eval")
from score import score as _score

D = "/work/shared/data"
SETS = {
    "smd": ("smd-dev", [f"machine-1-{i}" for i in range(2, 9)], 1.0),
    "asd": ("asd", [f"omi-{i}" for i in range(1, 13)], 5.0),
}


def rd(p):
    return np.loadtxt(p, delimiter=",", dtype=np.float64, ndmin=2)


_cache = {}


def load(ds, m):
    k = (ds, m)
    if k not in _cache:
        d = SETS[ds][0]
        _cache[k] = (rd(f"{D}/{d}/train/{m}.txt"), rd(f"{D}/{d}/test/{m}.txt"),
                     np.loadtxt(f"{D}/{d}/test_label/{m}.txt"))
    return _cache[k]


def run_one(args):
    fn, ds, m, kw = args
    tr, te, y = load(ds, m)
    mpr = SETS[ds][2]
    rpd = int(round(1440 / mpr))
    t = time.time()
    r = fn(tr, te, rpd, **kw)
    al = None
    if isinstance(r, tuple):
        r, al = r
    res = _score(y, r, al, mpr)
    res["secs"] = time.time() - t
    res["machine"] = m
    return res


def evaluate(fn, ds, kw=None, pool=None, verbose=False):
    kw = kw or {}
    ms = SETS[ds][1]
    jobs = [(fn, ds, m, kw) for m in ms]
    rs = list(pool.map(run_one, jobs)) if pool else [run_one(j) for j in jobs]
    keys = ["best_f1", "auc_pr", "best_f1_composite", "event_recall_at_fpr1"]
    summ = {k: float(np.mean([r[k] for r in rs])) for k in keys}
    if "own" in rs[0]:
        for k in ["f1", "p", "r", "false_alarms_per_day", "event_recall"]:
            summ["own_" + k] = float(np.mean([r["own"][k] for r in rs]))
    if verbose:
        for r in rs:
            s = f"  {r['machine']:12s} bF1 {r['best_f1']:.3f} AUCPR {r['auc_pr']:.3f}"
            if "own" in r:
                o = r["own"]
                s += f" own F1 {o['f1']:.3f} P {o['p']:.3f} R {o['r']:.3f} FA/d {o['false_alarms_per_day']:.2f}"
            print(s)
    return summ, rs


def fmt(summ):
    s = f"bF1 {summ['best_f1']:.3f} AUCPR {summ['auc_pr']:.3f}"
    if "own_f1" in summ:
        s += f" | own F1 {summ['own_f1']:.3f} P {summ['own_p']:.3f} R {summ['own_r']:.3f} FA/d {summ['own_false_alarms_per_day']:.2f}"
    return s
