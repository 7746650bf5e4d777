import sys, numpy as np
from multiprocessing import Pool
from lab import evaluate, fmt
from exp1 import causal_mean, ema
from exp3 import W
from exp5 import sat

def cm2(X, w):  # causal mean over rows of matrix
    c = np.cumsum(np.vstack([np.zeros((1, X.shape[1])), X]), 0)
    i = np.arange(1, len(X) + 1); lo = np.maximum(0, i - w)
    return (c[i] - c[lo]) / (i - lo)[:, None]

def det(tr, te, rpd, floor=1e-2, smooth=5, win=5, zw=1.0, C=100, clip_in=10.0, var=0.9, pre=0, post="mean", rw=1.0, ret_parts=False):
    m0 = tr.mean(0); s0 = np.maximum(tr.std(0), floor)
    a = (tr - m0) / s0; b = (te - m0) / s0
    d = tr.shape[1]
    A = np.clip(W(a, win), -clip_in, clip_in); B = np.clip(W(b, win), -clip_in, clip_in)
    mu = A.mean(0)
    u, sv, vt = np.linalg.svd(A - mu, full_matrices=False)
    ev = sv ** 2 / (sv ** 2).sum(); kk = int(np.searchsorted(np.cumsum(ev), var)) + 1
    V = vt[:kk].T
    res = lambda X: ((X - mu) - (X - mu) @ V @ V.T)[:, :d]
    rt = res(A); rs = np.maximum(rt.std(0), 1e-3)
    R = res(B) / rs; Z = b
    if pre > 1:
        R = cm2(R, pre) * np.sqrt(pre); Z = cm2(Z, pre) * np.sqrt(pre)  # keep unit variance under iid noise
    sc = rw * sat(R ** 2, C, "clip").mean(1) + zw * sat(Z ** 2, C, "clip").mean(1)
    if post == "mean": return causal_mean(sc, smooth)
    if post == "ema": return ema(sc, 2.0 / (smooth + 1))
    if post == "max": 
        from numpy.lib.stride_tricks import sliding_window_view
        p = np.concatenate([np.full(smooth - 1, sc[0]), sc]); return sliding_window_view(p, smooth).max(1)

if __name__ == "__main__":
    pool = Pool(2)
    exps = [
        ("sm1", dict(smooth=1)),
        ("sm3", dict(smooth=3)),
        ("sm5", dict()),
        ("sm10", dict(smooth=10)),
        ("sm20", dict(smooth=20)),
        ("ema5", dict(post="ema")),
        ("ema10", dict(post="ema", smooth=10)),
        ("pre5 sm1", dict(pre=5, smooth=1)),
        ("pre5 sm5", dict(pre=5)),
        ("pre3 sm5", dict(pre=3)),
        ("pre10 sm1", dict(pre=10, smooth=1)),
    ]
    for name, kw in exps:
        out = []
        for ds in ["smd", "asd"]:
            s, _ = evaluate(det, ds, kw, pool)
            out.append(f"{ds}: {fmt(s)}")
        print(f"{name:28s} " + " || ".join(out), flush=True)
