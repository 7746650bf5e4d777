import sys, numpy as np
from multiprocessing import Pool
from lab import evaluate, fmt
from exp1 import causal_mean
from exp2 import scale

def W(x, win):
    if win == 1: return x
    xs = [np.vstack([np.repeat(x[:1], k, 0), x[:len(x) - k]]) for k in range(win)]
    return np.hstack(xs)

def pcadet(tr, te, rpd, mode="std", floor=1e-2, var=0.9, smooth=5, win=1, rnorm=False, zw=0.0, clip=1e9, allblock=False):
    c, s = scale(tr, mode, floor)
    a = np.clip((tr - c) / s, -clip, clip); b = np.clip((te - c) / s, -clip, clip)
    d = tr.shape[1]
    A = W(a, win); B = W(b, win)
    mu = A.mean(0)
    u, sv, vt = np.linalg.svd(A - mu, full_matrices=False)
    ev = sv ** 2 / (sv ** 2).sum(); k = int(np.searchsorted(np.cumsum(ev), var)) + 1
    v = vt[:k].T
    def res(X):
        r = (X - mu) - (X - mu) @ v @ v.T
        return r if allblock else r[:, :d]
    rb = res(B)
    if rnorm:
        rt = res(A); rs = np.maximum(rt.std(0), 1e-3); rb = rb / rs
    sc = (rb ** 2).mean(1) + zw * (b ** 2).mean(1)
    return causal_mean(sc, smooth)

if __name__ == "__main__":
    pool = Pool(2)
    exps = [
        ("pca std", dict()),
        ("pca std rnorm", dict(rnorm=True)),
        ("pca std win5", dict(win=5)),
        ("pca std win5 all", dict(win=5, allblock=True)),
        ("pca std win5 rnorm", dict(win=5, rnorm=True)),
        ("pca std win10", dict(win=10)),
        ("pca std var.8", dict(var=0.8)),
        ("pca std var.95", dict(var=0.95)),
        ("pca std win5 var.95", dict(win=5, var=0.95)),
        ("pca std +z", dict(zw=1.0)),
        ("pca std win5 +z", dict(win=5, zw=1.0)),
        ("pca std +z.3", dict(zw=0.3)),
        ("pca std floor1e-3", dict(floor=1e-3)),
        ("pca std sm10", dict(smooth=10)),
    ]
    for name, kw in exps:
        out = []
        for ds in ["smd", "asd"]:
            s, _ = evaluate(pcadet, ds, kw, pool)
            out.append(f"{ds}: {fmt(s)}")
        print(f"{name:28s} " + " || ".join(out), flush=True)
