import sys, numpy as np
from multiprocessing import Pool
from lab import evaluate, fmt
from exp1 import causal_mean
from exp3 import W
from exp5 import sat
from ae import train_ae

def det(tr, te, rpd, floor=1e-2, smooth=5, win=5, zw=1.0, C=100, model="ae", h=32, k=8, steps=300, batch=64,
        lr=3e-3, clip_in=10.0, seed=0, act="tanh", var=0.9, last_days=None):
    if last_days: tr = tr[-int(last_days * rpd):]
    m0 = tr.mean(0); s0 = np.maximum(tr.std(0), floor)
    a = (tr - m0) / s0; b = (te - m0) / s0
    d = tr.shape[1]
    A = np.clip(W(a, win), -clip_in, clip_in); B = np.clip(W(b, win), -clip_in, clip_in)
    if model == "ae":
        ae = train_ae(A, h, k, steps, batch, lr, seed, act)
        res = lambda X: (X - ae.recon(X))[:, :d]
    else:
        mu = A.mean(0)
        u, sv, vt = np.linalg.svd(A - mu, full_matrices=False)
        ev = sv ** 2 / (sv ** 2).sum(); kk = int(np.searchsorted(np.cumsum(ev), var)) + 1
        V = vt[:kk].T
        res = lambda X: ((X - mu) - (X - mu) @ V @ V.T)[:, :d]
    rt = res(A); rs = np.maximum(rt.std(0), 1e-3)
    sc = sat((res(B) / rs) ** 2, C, "clip").mean(1) + zw * sat(b ** 2, C, "clip").mean(1)
    return causal_mean(sc, smooth)

if __name__ == "__main__":
    pool = Pool(2)
    exps = [
        ("pca clipin10", dict(model="pca")),
        ("ae 32/8 300x64", dict()),
        ("ae 32/8 1000x64", dict(steps=1000)),
        ("ae 64/16 1000x64", dict(h=64, k=16, steps=1000)),
        ("ae 32/8 1000x64 relu", dict(steps=1000, act="relu")),
        ("ae 64/8 3000x64", dict(h=64, k=8, steps=3000)),
    ]
    for name, kw in exps:
        out = []
        for ds in ["smd", "asd"]:
            s, _ = evaluate(det, ds, kw, pool)
            out.append(f"{ds}: {fmt(s)}")
        print(f"{name:28s} " + " || ".join(out), flush=True)
