import sys, numpy as np
from multiprocessing import Pool
from lab import evaluate, fmt
from exp1 import causal_mean
from exp2 import scale
from exp3 import W

def det(tr, te, rpd, floor=1e-2, var=0.9, smooth=5, win=5, zw=1.0, comb="raw", q=0.99, zmode="std", clipz=1e9):
    c, s = scale(tr, "std", floor)
    a = (tr - c) / s; b = (te - c) / s
    d = tr.shape[1]
    A = W(a, win); B = W(b, win)
    mu = A.mean(0)
    u, sv, vt = np.linalg.svd(A - mu, full_matrices=False)
    ev = sv ** 2 / (sv ** 2).sum(); k = int(np.searchsorted(np.cumsum(ev), var)) + 1
    v = vt[:k].T
    res = lambda X: ((X - mu) - (X - mu) @ v @ v.T)[:, :d]
    rt = res(A); rs = np.maximum(rt.std(0), 1e-3)
    et = ((rt / rs) ** 2).mean(1); eb = ((res(B) / rs) ** 2).mean(1)
    zt = np.minimum(a ** 2, clipz).mean(1); zb = np.minimum(b ** 2, clipz).mean(1)
    if comb == "raw":
        sc = eb + zw * zb
    elif comb == "q":
        sc = eb / np.quantile(et, q) + zw * zb / np.quantile(zt, q)
    elif comb == "max":
        sc = np.maximum(eb / np.quantile(et, q), zb / np.quantile(zt, q))
    return causal_mean(sc, smooth)

if __name__ == "__main__":
    pool = Pool(2)
    exps = [
        ("rn+z w1", dict()),
        ("rn+z w.3", dict(zw=0.3)),
        ("rn+z w3", dict(zw=3)),
        ("rn+z q.99", dict(comb="q")),
        ("rn+z q.5", dict(comb="q", q=0.5)),
        ("rn+z q.9", dict(comb="q", q=0.9)),
        ("rn+z q.999", dict(comb="q", q=0.999)),
        ("rn max q.99", dict(comb="max")),
        ("rn+z w1 win1", dict(win=1)),
        ("rn+z w1 win10", dict(win=10)),
        ("rn+z w1 var.95", dict(var=0.95)),
        ("rn+z w1 var.8", dict(var=0.8)),
        ("rn+z w1 sm10", dict(smooth=10)),
        ("rn+z w1 sm3", dict(smooth=3)),
        ("rn+z q.99 clipz100", dict(comb="q", clipz=100)),
    ]
    for name, kw in exps:
        out = []
        for ds in ["smd", "asd"]:
            s, _ = evaluate(det, ds, kw, pool)
            out.append(f"{ds}: {fmt(s)}")
        print(f"{name:28s} " + " || ".join(out), flush=True)
