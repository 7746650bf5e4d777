#!/usr/bin/python3
"""Threshold / alarm-rule experiments for the fedmon detector (dev data only).

usage: thr.py            # build the score cache (if missing) and print the variants table
       thr.py --rebuild  # rebuild the cache
       thr.py --final    # write SCORE,ALARM files of the recommended rule and run score.py on them

The scoring stage is fedmon_proto.py unchanged (imported read-only).  Only the threshold/alarm stage
changes.  Everything is deterministic (no randomness).  Cache and outputs go to /tmp/thr/.
"""
import sys, os, json, pickle, subprocess
sys.dont_write_bytecode = True
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, "/work/shared/eval")
import fedmon_proto as P          # noqa: E402
import score as SC                # noqa: E402  (the official scorer's functions)

OUT = "/tmp/thr"
CACHE = f"{OUT}/cache.pkl"
HOLD = 0.2                        # share of the training period held out for calibration


# ----------------------------------------------------------------------------------------------
# score cache
# ----------------------------------------------------------------------------------------------
def continue_scores(x, M, hp, rpd, prev, sm_prev, b):
    """score rows x with model M, continuing EMA/baseline state; returns rel, sm, b_end, contrib."""
    raw, contrib = P.raw_scores(x, M, hp, prev=prev)
    sm = P.ema(raw, hp["ema"], sm_prev)
    rel, b_end = P.relative(sm, b, hp, rpd)
    return rel, sm, b_end


def train_rel(tr, M, hp, rpd):
    raw, _ = P.raw_scores(tr, M, hp, prev=None)
    sm = P.ema(raw, hp["ema"], raw[0])
    rel, _ = P.relative(sm, M["b0"], hp, rpd)
    return rel


def build_cache(hp=P.HP):
    C = {}
    L = hp["win"]
    for ds, (dd, names, mpr) in P.SETS.items():
        rpd = 1440 // mpr
        for name in names:
            tr = P.rd(f"{P.D}/{dd}/train/{name}.txt"); te = P.rd(f"{P.D}/{dd}/test/{name}.txt")
            y = np.loadtxt(f"{P.D}/{dd}/test_label/{name}.txt").astype(bool)
            # full model (the prototype as is)
            M = P.fit(tr, rpd, hp)
            rel_tr = train_rel(tr, M, hp, rpd)
            rel_te, _, _ = continue_scores(te, M, hp, rpd, M["tr_tail"], M["sm_end"], M["b_end"])
            # model + normaliser fitted on the first (1-HOLD) of train; scores on the held-out tail
            n8 = int(round(len(tr) * (1 - HOLD)))
            M8 = P.fit(tr[:n8], rpd, hp)
            rel_ho, sm_ho, b_ho = continue_scores(tr[n8:], M8, hp, rpd, M8["tr_tail"], M8["sm_end"], M8["b_end"])
            rel_te8, _, _ = continue_scores(te, M8, hp, rpd, tr[-(L - 1):], sm_ho[-1], b_ho)
            C[(ds, name)] = dict(y=y, rel_tr=rel_tr, rel_te=rel_te, T_pot=M["T"], rel_tr8=train_rel(tr[:n8], M8, hp, rpd),
                                 rel_ho=rel_ho, rel_te8=rel_te8, rpd=rpd, mpr=mpr)
            print(f"cached {ds} {name}", flush=True)
    os.makedirs(OUT, exist_ok=True)
    with open(CACHE, "wb") as f:
        pickle.dump(C, f)
    return C


def load_cache():
    if "--rebuild" in sys.argv or not os.path.exists(CACHE):
        return build_cache()
    with open(CACHE, "rb") as f:
        return pickle.load(f)


# ----------------------------------------------------------------------------------------------
# evaluation (same formulas as /work/shared/eval/score.py, called in-process)
# ----------------------------------------------------------------------------------------------
_RANK = {}


def rank_metrics(key, y, s):
    """best-F1 and AUC-PR of a score sequence (cached: they do not depend on the alarm rule)."""
    if key not in _RANK:
        segs = SC.segments(y)
        _RANK[key] = (SC.best(y, s, segs, "f1")["f1"], SC.auc_pr(y, s))
    return _RANK[key]


def own_metrics(y, a, mpr):
    a = a.astype(bool)
    m = SC.metrics_at(y, a, SC.segments(y))
    fe = sum(1 for s0, e0 in SC.segments(a) if not y[s0:e0].any())
    return m["f1"], m["p"], m["r"], fe / (len(y) * mpr / 1440.0)


def evaluate(C, rule, ds, per_machine=False):
    """rule(c) -> (score sequence used for ranking, its cache key, 0/1 alarms).  Returns the mean row."""
    rows = []
    for (d, name), c in C.items():
        if d != ds:
            continue
        s, skey, a = rule(c)
        bf, ap = rank_metrics((skey, d, name), c["y"], s)
        f, p, r, fa = own_metrics(c["y"], a, c["mpr"])
        rows.append((bf, ap, f, p, r, fa))
        if per_machine:
            print(f"   {name:12s} bestF1 {bf:.3f} AUCPR {ap:.3f} own F1 {f:.3f} P {p:.3f} R {r:.3f} FA/d {fa:.2f}")
    return np.array(rows).mean(0)


# ----------------------------------------------------------------------------------------------
# alarm rules
# ----------------------------------------------------------------------------------------------
def sm(r, T, on=3, off=10, h=1.0):
    """the prototype's state machine, with a per-row threshold T (scalar or array)."""
    T = np.broadcast_to(np.asarray(T, float), r.shape)
    a = np.zeros(len(r), np.int8); st = False; cu = cd = 0
    for i, v in enumerate(r):
        if not st:
            cu = cu + 1 if v >= T[i] else 0
            if cu >= on: st = True; cd = 0
        else:
            cd = cd + 1 if v < h * T[i] else 0
            if cd >= off: st = False; cu = 0
        a[i] = st
    return a


def gpdT(t0, n, Nt, S1, S2, q):
    """POT threshold from running sums (method of moments), as in fedmon_proto.pot."""
    M = S1 / Nt; V = S2 / Nt - M * M
    g = 0.5 * (1 - M * M / V); sig = 0.5 * M * (M * M / V + 1); rr = q * n / Nt
    return t0 + (sig / g) * (rr ** (-g) - 1) if abs(g) > 1e-6 else t0 - sig * np.log(rr)


def dspot(c, q=0.02, t0q=0.95, on=3, off=10, gate="T", lam=0.0, src="rel_tr"):
    """(a) SPOT/DSPOT: t0 fixed from training; GPD moments updated online with the rows judged normal
    (gate 'T': R < T_t, gate 'state': alarm off); optional exponential forgetting lam per row."""
    x = c[src]; t0 = float(np.quantile(x, t0q)); y = x[x > t0] - t0
    n = float(len(x)); Nt = float(len(y)); S1 = float(y.sum()); S2 = float((y * y).sum())
    r = c["rel_te"]; a = np.zeros(len(r), np.int8); st = False; cu = cd = 0
    T = gpdT(t0, n, Nt, S1, S2, q)
    for i, v in enumerate(r):
        if not st:
            cu = cu + 1 if v >= T else 0
            if cu >= on: st = True; cd = 0
        else:
            cd = cd + 1 if v < T else 0
            if cd >= off: st = False; cu = 0
        a[i] = st
        if (v < T) if gate == "T" else (not st):
            if lam: n *= 1 - lam; Nt *= 1 - lam; S1 *= 1 - lam; S2 *= 1 - lam
            n += 1
            if v > t0: e = v - t0; Nt += 1; S1 += e; S2 += e * e
            T = gpdT(t0, n, Nt, S1, S2, q)
    return a


def budget_T(rh, rpd, X, on=3, off=10):
    """(d) smallest T (grid of held-out quantiles .90-1) whose alarms on the held-out rows give <= X events/day."""
    days = len(rh) / rpd
    for T in np.unique(np.quantile(rh, np.linspace(0.9, 1.0, 201))):
        a = sm(rh, T, on, off)
        if np.sum(np.diff(np.concatenate([[0], a])) == 1) / days <= X:
            return T
    return rh.max()


def two_level(c, Th, Tl, N, off=10):
    """(c) raise when R >= Th once, or R >= Tl for N consecutive rows; clear after `off` rows below Tl."""
    r = c["rel_te"]; a = np.zeros(len(r), np.int8); st = False; cu = cd = 0
    for i, v in enumerate(r):
        if not st:
            cu = cu + 1 if v >= Tl else 0
            if v >= Th or cu >= N: st = True; cd = 0
        else:
            cd = cd + 1 if v < Tl else 0
            if cd >= off: st = False; cu = 0
        a[i] = st
    return a


def gated_quantile(c, W, p, k, on=3, off=10, every=30):
    """(f1) T_t = max(T_pot, k * p-quantile of the last W relative scores of rows with the alarm OFF)
    (buffer starts with the last W training scores; refreshed every `every` rows). Self-referential."""
    from collections import deque
    r = c["rel_te"]; buf = deque(c["rel_tr"][-W:], maxlen=W); T0 = c["T_pot"]
    a = np.zeros(len(r), np.int8); st = False; cu = cd = 0
    T = max(T0, k * np.quantile(np.fromiter(buf, float), p))
    for i, v in enumerate(r):
        if not st:
            cu = cu + 1 if v >= T else 0
            if cu >= on: st = True; cd = 0
        else:
            cd = cd + 1 if v < T else 0
            if cd >= off: st = False; cu = 0
        a[i] = st
        if not st:
            buf.append(v)
        if i % every == 0:
            T = max(T0, k * np.quantile(np.fromiter(buf, float), p))
    return a


_RQ = {}


def rolling_q(c, W, p, every=30):
    """causal rolling p-quantile of ALL relative scores (ungated) over the W rows before row t
    (training tail first), refreshed every `every` rows."""
    key = (c["key"], W, p, every)
    if key not in _RQ:
        x = np.concatenate([c["rel_tr"][-W:], c["rel_te"]]); n = len(c["rel_te"]); out = np.empty(n)
        for i in range(0, n, every):
            out[i:i + every] = np.quantile(x[i:i + W], p)
        _RQ[key] = out
    return _RQ[key]


def median_guard(c, Wd=3, km=2.0, on=3, off=10, every=30, T0=None):
    """RECOMMENDED: T_t = max(T_pot, km * median of the relative scores of the last Wd days)."""
    T0 = c["T_pot"] if T0 is None else T0
    return sm(c["rel_te"], np.maximum(T0, km * rolling_q(c, int(Wd * c["rpd"]), 0.5, every)), on, off)


# ----------------------------------------------------------------------------------------------
# the variants table
# ----------------------------------------------------------------------------------------------
def F(c): return c["rel_te"], "full"
def F8(c): return c["rel_te8"], "m8"


def variants():
    V = []
    add = lambda lab, fn, sc=F: V.append((lab, lambda c, fn=fn, sc=sc: (*sc(c), fn(c))))
    add("prototype: POT(train, q=.02, t0q=.95), on3/off10", lambda c: sm(c["rel_te"], c["T_pot"]))
    add("prototype, on1/off1", lambda c: sm(c["rel_te"], c["T_pot"], 1, 1))
    for T in [3, 4, 5, 6, 8, 10, 12, 15]:
        add(f"constant T={T} for every host (on3/off10)", lambda c, T=T: sm(c["rel_te"], T))
    for T in [4, 6, 8, 10]:
        add(f"constant T={T}, on1/off1", lambda c, T=T: sm(c["rel_te"], T, 1, 1))
    # (b) held-out calibration
    for q in [0.02, 0.01, 0.005, 0.001]:
        add(f"(b) POT on held-out 20% (q={q}), full-train model", lambda c, q=q: sm(c["rel_te"], P.pot(c["rel_ho"], q, 0.95)))
        add(f"(b) POT on held-out 20% (q={q}), 80% model", lambda c, q=q: sm(c["rel_te8"], P.pot(c["rel_ho"], q, 0.95)), F8)
    for mg in [1.0, 1.5]:
        add(f"(f) held-out max x{mg}", lambda c, mg=mg: sm(c["rel_te"], mg * c["rel_ho"].max()))
    for p in [0.99, 0.999]:
        for mg in [1.5, 2, 3]:
            add(f"(f) held-out q{p} x{mg}", lambda c, p=p, mg=mg: sm(c["rel_te"], mg * np.quantile(c["rel_ho"], p)))
    # (d) FA budget
    for X in [0.25, 0.5, 1.0]:
        add(f"(d) FA budget {X}/day on held-out, full model", lambda c, X=X: sm(c["rel_te"], budget_T(c["rel_ho"], c["rpd"], X)))
        add(f"(d) FA budget {X}/day on held-out, 80% model", lambda c, X=X: sm(c["rel_te8"], budget_T(c["rel_ho"], c["rpd"], X)), F8)
    # (a) DSPOT
    for gate in ["T", "state"]:
        for lam in [0.0, 1e-4, 3e-4]:
            for q in [0.02, 0.01]:
                add(f"(a) DSPOT online GPD, gate={gate}, forget={lam}, q={q}", lambda c, g=gate, l=lam, q=q: dspot(c, q=q, gate=g, lam=l))
    add("(a) DSPOT, GPD initialised on held-out", lambda c: dspot(c, q=0.02, src="rel_ho"))
    # (c) two-level
    for mh in [2, 3]:
        for N in [10, 30]:
            add(f"(c) two-level: R>={mh}T once or R>=T for {N} rows", lambda c, mh=mh, N=N: two_level(c, mh * c["T_pot"], c["T_pot"], N))
    # (f1) gated running quantile (self-referential)
    for W in [0.5, 1, 2]:
        for p in [0.99, 0.995, 0.999, 1.0]:
            for k in [0.8, 1.0, 1.2]:
                add(f"(f1) max(T, {k}*q{p} of alarm-off R, last {W} d)",
                    lambda c, W=W, p=p, k=k: gated_quantile(c, int(W * c["rpd"]), p, k))
    for W in [4320]:
        for p, k in [(0.99, 1.0), (0.99, 1.5), (0.99, 2.0), (0.999, 1.0), (0.999, 1.5)]:
            add(f"(f1) max(T, {k}*q{p} of alarm-off R, last 3 d)",
                lambda c, p=p, k=k: gated_quantile(c, 3 * c["rpd"], p, k))
    # (f2) ungated rolling high quantile
    for km in [0, 2]:
        for p in [0.99, 0.995, 0.999]:
            for kq in [1.0, 1.5, 2.0]:
                add(f"(f2) max(T, {km}*med3d, {kq}*q{p} of all R last 3 d)",
                    lambda c, km=km, p=p, kq=kq: sm(c["rel_te"], np.maximum(c["T_pot"], np.maximum(
                        km * rolling_q(c, 3 * c["rpd"], 0.5), kq * rolling_q(c, 3 * c["rpd"], p)))))
    # (f3) median guard (recommended family)
    for Wd in [1, 2, 3, 4]:
        for km in [1.5, 2, 2.5, 3, 4]:
            add(f"(f3) median guard max(T, {km}*median(R, last {Wd} d))", lambda c, Wd=Wd, km=km: median_guard(c, Wd, km))
    add("(f3) median guard 3d x2, refreshed every row", lambda c: median_guard(c, 3, 2.0, every=1))
    for on, off in [(1, 1), (2, 5), (3, 5), (5, 10)]:
        add(f"(f3) median guard 3d x2, on{on}/off{off}", lambda c, on=on, off=off: median_guard(c, 3, 2.0, on, off))
    for q in [0.01, 0.005]:
        add(f"(f3) median guard 3d x2 with POT q={q}", lambda c, q=q: median_guard(c, 3, 2.0, T0=P.pot(c["rel_tr"], q, 0.95)))
    return V


def table(C):
    print("| variant (dev data) | smd own F1 | P | R | FA/day | asd own F1 | P | R | FA/day | smd bestF1 / AUC-PR | asd bestF1 / AUC-PR |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for lab, rule in variants():
        s = evaluate(C, rule, "smd"); a = evaluate(C, rule, "asd")
        print(f"| {lab} | {s[2]:.3f} | {s[3]:.3f} | {s[4]:.3f} | {s[5]:.2f} | {a[2]:.3f} | {a[3]:.3f} | {a[4]:.3f} | {a[5]:.2f} "
              f"| {s[0]:.3f} / {s[1]:.3f} | {a[0]:.3f} / {a[1]:.3f} |", flush=True)


def final(C):
    """write SCORE,ALARM files of the recommended rule and score them with the official score.py CLI."""
    res = {}
    for (ds, name), c in C.items():
        a = median_guard(c, 3, 2.0)
        d = f"{OUT}/final/{ds}"; os.makedirs(d, exist_ok=True); f = f"{d}/{name}.txt"
        with open(f, "w") as fh:
            fh.write("\n".join(f"{v:.6g},{int(x)}" for v, x in zip(c["rel_te"], a)) + "\n")
        dd, _, mpr = P.SETS[ds]
        r = json.loads(subprocess.run(["/usr/bin/python3", "/work/shared/eval/score.py", f"{P.D}/{dd}/test_label/{name}.txt", f,
                                       f"--minutes-per-row={mpr}"], capture_output=True, text=True, check=True).stdout)
        o = r["own"]
        print(f"{ds} {name:12s} bestF1 {r['best_f1']:.3f} AUCPR {r['auc_pr']:.3f} own F1 {o['f1']:.3f} (P {o['p']:.3f} "
              f"R {o['r']:.3f}) FA/day {o['false_alarms_per_day']:.2f}", flush=True)
        res.setdefault(ds, []).append([r["best_f1"], r["auc_pr"], o["f1"], o["p"], o["r"], o["false_alarms_per_day"]])
    for ds, rows in res.items():
        m = np.mean(rows, 0)
        print(f"{ds} MEAN bestF1 {m[0]:.3f} AUCPR {m[1]:.3f} own F1 {m[2]:.3f} (P {m[3]:.3f} R {m[4]:.3f}) FA/day {m[5]:.2f}")


if __name__ == "__main__":
    C = load_cache()
    for k, c in C.items():
        c["key"] = k
    if "--final" in sys.argv:
        final(C)
    elif "--oracle" in sys.argv:   # per-host best constant T on a grid, chosen with the test labels (a ceiling, not a rule)
        for ds in ["smd", "asd"]:
            best = [max(own_metrics(c["y"], sm(c["rel_te"], T), c["mpr"])[0] for T in [2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30])
                    for (d, n), c in C.items() if d == ds]
            print(f"{ds} oracle per-host constant T (on3/off10) mean own F1 {np.mean(best):.3f}")
    else:
        table(C)
