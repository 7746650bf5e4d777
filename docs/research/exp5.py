import sys, numpy as np
from multiprocessing import Pool
from lab import evaluate, fmt
from exp1 import causal_mean
from exp2 import scale
from exp3 import W

def sat(x, C, kind):
    if C is None: return x
    if kind == "clip": return np.minimum(x, C)
    if kind == "log": return C * np.log1p(x / C)
    if kind == "tanh": return C * np.tanh(x / C)

def det(tr, te, rpd, floor=1e-2, var=0.9, smooth=5, win=5, zw=1.0, C=None, Cr=None, kind="clip", diff=False, dw=1.0):
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
    eb = sat((res(B) / rs) ** 2, Cr, kind).mean(1)
    zb = sat(b ** 2, C, kind).mean(1)
    sc = eb + zw * zb
    if diff:
        dt = np.diff(tr, axis=0); ds = np.maximum(dt.std(0), 1e-3)
        db = np.diff(te, axis=0, prepend=te[:1]) / ds
        sc = sc + dw * sat(db ** 2, C, kind).mean(1)
    return causal_mean(sc, smooth)

if __name__ == "__main__":
    pool = Pool(2)
    exps = [
        ("base", dict()),
        ("clip z2 100", dict(C=100)),
        ("clip z2 100 both", dict(C=100, Cr=100)),
        ("clip z2 25 both", dict(C=25, Cr=25)),
        ("clip z2 400 both", dict(C=400, Cr=400)),
        ("log 10 both", dict(C=10, Cr=10, kind="log")),
        ("log 100 both", dict(C=100, Cr=100, kind="log")),
        ("tanh 100 both", dict(C=100, Cr=100, kind="tanh")),
        ("diff", dict(diff=True)),
        ("diff .3", dict(diff=True, dw=0.3)),
        ("diff clip100", dict(diff=True, C=100, Cr=100)),
    ]
    for name, kw in exps:
        out = []
        for ds in ["smd", "asd"]:
            s, _ = evaluate(det, ds, kw, pool)
            out.append(f"{ds}: {fmt(s)}")
        print(f"{name:28s} " + " || ".join(out), flush=True)
