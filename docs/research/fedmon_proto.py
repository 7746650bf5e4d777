#!/usr/bin/python3
"""fedmon detector prototype (final design, see REPORT.md). Dev-data research code.

usage: fedmon_proto.py [smd|asd|all] [key=value ...]   (writes out/<ds>/<machine>.txt as SCORE,ALARM
       and prints score.py figures per machine and the mean)
"""
import sys, os, json, subprocess
import numpy as np

HP = dict(
    floor=0.01,      # minimum per-feature scale (data are in [0,1])
    clip_in=10.0,    # clip normalised inputs to the model at +-clip_in
    win=5,           # rows in the temporal window (current + 4 previous)
    var=0.90,        # PCA: keep the smallest k explaining >= var of the window variance
    rho_floor=1e-3,  # minimum residual scale
    C=100.0,         # cap of each per-feature squared term
    zw=1.0,          # weight of the z-score term relative to the residual term
    ema=10,          # EMA span in rows: alpha = 2/(ema+1)
    tau_b=3.0,       # baseline time constant in days: beta = 1/(tau_b*rows_per_day)
    g_b=3.0,         # baseline update gate: update only when s/b < g_b
    t0q=0.95,        # POT initial threshold quantile of the training relative scores
    q=0.02,          # POT risk
    on=3,            # rows above T needed to raise an alarm
    off=10,          # rows below h*T needed to clear it
    h=1.0,           # hysteresis factor for clearing
)


def fit(tr, rpd, hp):
    """Everything learned from the (unlabelled) training rows."""
    d = tr.shape[1]; L = hp["win"]
    m = tr.mean(0)
    s = np.maximum(tr.std(0), hp["floor"])
    z = (tr - m) / s
    W = window(np.clip(z, -hp["clip_in"], hp["clip_in"]), L)
    mu = W.mean(0)
    Xc = W - mu
    Cov = Xc.T @ Xc / len(W)                         # gemm (syrk)
    ev, V = np.linalg.eigh(Cov)                       # C: cyclic Jacobi / subspace iteration
    ev, V = ev[::-1], V[:, ::-1]
    k = int(np.searchsorted(np.cumsum(ev) / ev.sum(), hp["var"])) + 1
    V = V[:, :k].copy()
    R = (Xc - (Xc @ V) @ V.T)[:, :d]
    rho = np.maximum(np.sqrt((R ** 2).mean(0)), hp["rho_floor"])   # RMS residual of each feature
    model = dict(m=m, s=s, mu=mu, V=V, rho=rho, k=k, d=d)
    # training scores -> baseline and threshold
    raw, _ = raw_scores(tr, model, hp, prev=None)
    sm = ema(raw, hp["ema"], raw[0])
    b0 = float(sm.mean())
    rel, b_end = relative(sm, b0, hp, rpd)
    T = pot(rel, hp["q"], hp["t0q"])
    model.update(b0=b0, T=T, b_end=b_end, tr_tail=tr[-(L - 1):] if L > 1 else tr[:0], sm_end=sm[-1])
    return model


def window(z, L, prev=None):
    """row t -> [z_t, z_{t-1}, ..., z_{t-L+1}]; before the first row, repeat it (or use prev rows)."""
    if prev is not None and len(prev):
        zz = np.vstack([prev, z]); off = len(prev)
    else:
        zz = np.vstack([np.repeat(z[:1], L - 1, 0), z]); off = L - 1
    return np.hstack([zz[off - j: off - j + len(z)] for j in range(L)])


def raw_scores(x, M, hp, prev=None):
    """Per-row raw score and per-feature contributions (stateless given the previous L-1 rows)."""
    z = (x - M["m"]) / M["s"]
    zc = np.clip(z, -hp["clip_in"], hp["clip_in"])
    pz = None
    if prev is not None and len(prev):
        pz = np.clip((prev - M["m"]) / M["s"], -hp["clip_in"], hp["clip_in"])
    W = window(zc, hp["win"], pz) - M["mu"]
    R = (W - (W @ M["V"]) @ M["V"].T)[:, :M["d"]]      # 2 gemv per row
    e = np.minimum((R / M["rho"]) ** 2, hp["C"])
    q = np.minimum(z ** 2, hp["C"])
    contrib = (e + hp["zw"] * q) / M["d"]
    return contrib.sum(1), contrib


def ema(x, span, init):
    a = 2.0 / (span + 1); out = np.empty_like(x); v = init
    for i, xi in enumerate(x):
        v = a * xi + (1 - a) * v; out[i] = v
    return out


def relative(sm, b, hp, rpd):
    beta = 1.0 / (hp["tau_b"] * rpd); out = np.empty_like(sm)
    for i, v in enumerate(sm):
        r = v / b; out[i] = r
        if r < hp["g_b"]:
            b += beta * (v - b)
    return out, b


def pot(x, q, t0q):
    """Peaks-over-threshold: GPD fitted to excesses over the t0q quantile by the method of moments."""
    t0 = float(np.quantile(x, t0q)); y = x[x > t0] - t0
    mean, var = y.mean(), y.var()
    g = 0.5 * (1 - mean * mean / var); sig = 0.5 * mean * (mean * mean / var + 1)
    r = q * len(x) / len(y)
    return t0 + (sig / g) * (r ** (-g) - 1) if abs(g) > 1e-6 else t0 - sig * np.log(r)


def alarms(r, T, hp):
    a = np.zeros(len(r), np.int8); on = False; cu = cd = 0
    for i, v in enumerate(r):
        if not on:
            cu = cu + 1 if v >= T else 0
            if cu >= hp["on"]: on = True; cd = 0
        else:
            cd = cd + 1 if v < hp["h"] * T else 0
            if cd >= hp["off"]: on = False; cu = 0
        a[i] = on
    return a


def detect(tr, te, rpd, hp):
    M = fit(tr, rpd, hp)
    raw, contrib = raw_scores(te, M, hp, prev=M["tr_tail"])
    sm = ema(raw, hp["ema"], M["sm_end"])
    # the baseline continues from where training left it
    rel, _ = relative(sm, M["b_end"], hp, rpd)
    a = alarms(rel, M["T"], hp)
    return rel, a, contrib, M


SETS = {"smd": ("smd-dev", [f"machine-1-{i}" for i in range(2, 9)], 1),
        "asd": ("asd", [f"omi-{i}" for i in range(1, 13)], 5)}
D = "/work/shared/data"


def rd(p):
    return np.loadtxt(p, delimiter=",", dtype=np.float64, ndmin=2)


def interp_hits(ds, name, contrib, top=3):
    """Share of labelled segments whose top-`top` contributing features include a blamed metric."""
    p = f"{D}/{SETS[ds][0]}/interpretation_label/{name}.txt"
    hit = n = 0
    for line in open(p).read().split():
        seg, feats = line.split(":")
        a, b = map(int, seg.split("-"))
        if ds == "asd": b += 1
        blamed = {int(f) - 1 for f in feats.split(",")}
        c = contrib[a:b].mean(0)
        n += 1; hit += bool(blamed & set(np.argsort(-c)[:top].tolist()))
    return hit / max(n, 1)


def run(ds, hp, outdir="/tmp/research/out", quiet=False):
    dd, names, mpr = SETS[ds]; rpd = 1440 // mpr
    os.makedirs(f"{outdir}/{ds}", exist_ok=True)
    rows = []
    for name in names:
        tr = rd(f"{D}/{dd}/train/{name}.txt"); te = rd(f"{D}/{dd}/test/{name}.txt")
        rel, a, contrib, M = detect(tr, te, rpd, hp)
        f = f"{outdir}/{ds}/{name}.txt"
        with open(f, "w") as fh:
            fh.write("\n".join(f"{v:.6g},{int(x)}" for v, x in zip(rel, a)) + "\n")
        out = subprocess.run(["/usr/bin/python3", "/work/shared/eval/score.py", f"{D}/{dd}/test_label/{name}.txt", f,
                              f"--minutes-per-row={mpr}"], capture_output=True, text=True, check=True).stdout
        r = json.loads(out); r["machine"] = name; r["k"] = M["k"]; r["T"] = M["T"]
        r["top3_hit"] = interp_hits(ds, name, contrib)
        rows.append(r)
        if not quiet:
            o = r["own"]
            print(f"{ds} {name:12s} k={M['k']:3d} T={M['T']:.2f} bestF1 {r['best_f1']:.3f} AUCPR {r['auc_pr']:.3f} "
                  f"own F1 {o['f1']:.3f} (P {o['p']:.3f} R {o['r']:.3f}) FA/day {o['false_alarms_per_day']:.2f} "
                  f"top3-hit {r['top3_hit']:.2f}", flush=True)
    mean = {k: float(np.mean([r[k] for r in rows])) for k in ["best_f1", "auc_pr", "top3_hit"]}
    for k in ["f1", "p", "r", "false_alarms_per_day"]:
        mean["own_" + k] = float(np.mean([r["own"][k] for r in rows]))
    print(f"{ds} MEAN bestF1 {mean['best_f1']:.3f} AUCPR {mean['auc_pr']:.3f} own F1 {mean['own_f1']:.3f} "
          f"(P {mean['own_p']:.3f} R {mean['own_r']:.3f}) FA/day {mean['own_false_alarms_per_day']:.2f} "
          f"top3-hit {mean['top3_hit']:.2f}", flush=True)
    return mean, rows


if __name__ == "__main__":
    args = sys.argv[1:]
    which = [a for a in args if "=" not in a] or ["all"]
    hp = dict(HP)
    for a in args:
        if "=" in a:
            k, v = a.split("="); hp[k] = type(HP[k])(float(v)) if isinstance(HP[k], int) else float(v)
    for ds in (["smd", "asd"] if which[0] == "all" else which):
        run(ds, hp)
