import sys, numpy as np
from multiprocessing import Pool
from lab import evaluate, fmt


def rnorm(tr, floor=1e-2, kind="iqr"):
    med = np.median(tr, 0)
    if kind == "iqr":
        q1, q3 = np.percentile(tr, [25, 75], 0)
        sc = (q3 - q1) / 1.349
    elif kind == "mad":
        sc = 1.4826 * np.median(np.abs(tr - med), 0)
    else:
        med = tr.mean(0); sc = tr.std(0)
    sc = np.maximum(sc, floor)
    return med, sc


def ema(s, a):
    out = np.empty_like(s); m = s[0]
    for i, v in enumerate(s):
        m = a * v + (1 - a) * m; out[i] = m
    return out


def causal_mean(s, w):
    c = np.cumsum(np.concatenate([[0.0], s]))
    i = np.arange(1, len(s) + 1)
    lo = np.maximum(0, i - w)
    return (c[i] - c[lo]) / (i - lo)


def zdet(tr, te, rpd, floor=1e-2, kind="iqr", clip=10, agg="mean2", smooth=1):
    med, sc = rnorm(tr, floor, kind)
    z = np.clip((te - med) / sc, -clip, clip)
    if agg == "mean2":
        s = (z ** 2).mean(1)
    elif agg == "max":
        s = np.abs(z).max(1)
    elif agg == "mean1":
        s = np.abs(z).mean(1)
    return causal_mean(s, smooth)


def pcadet(tr, te, rpd, floor=1e-2, kind="iqr", clip=10, var=0.9, smooth=1, win=1, agg="mean2"):
    med, sc = rnorm(tr, floor, kind)
    a = np.clip((tr - med) / sc, -clip, clip); b = np.clip((te - med) / sc, -clip, clip)
    if win > 1:
        def W(x):
            xs = [np.vstack([np.repeat(x[:1], k, 0), x[:len(x) - k]]) for k in range(win)]
            return np.hstack(xs)
        a = W(a); b = W(b)
    mu = a.mean(0)
    u, s, vt = np.linalg.svd(a - mu, full_matrices=False)
    ev = s ** 2 / (s ** 2).sum(); k = int(np.searchsorted(np.cumsum(ev), var)) + 1
    v = vt[:k].T
    r = (b - mu) - (b - mu) @ v @ v.T
    r = r[:, :tr.shape[1]]  # current-time block
    s = (r ** 2).mean(1) if agg == "mean2" else np.abs(r).max(1)
    return causal_mean(s, smooth)


if __name__ == "__main__":
    pool = Pool(2)
    exps = [
        ("z std mean2", zdet, dict(kind="std", floor=1e-6, clip=1e9)),
        ("z iqr mean2", zdet, dict()),
        ("z mad mean2", zdet, dict(kind="mad")),
        ("z iqr max", zdet, dict(agg="max")),
        ("z iqr mean1", zdet, dict(agg="mean1")),
        ("z iqr mean2 floor1e-3", zdet, dict(floor=1e-3)),
        ("z iqr mean2 floor3e-2", zdet, dict(floor=3e-2)),
        ("z iqr mean2 clip5", zdet, dict(clip=5)),
        ("z iqr mean2 clip30", zdet, dict(clip=30)),
        ("z iqr mean2 sm5", zdet, dict(smooth=5)),
        ("z iqr mean2 sm15", zdet, dict(smooth=15)),
        ("pca iqr", pcadet, dict()),
        ("pca iqr sm5", pcadet, dict(smooth=5)),
        ("pca iqr win5", pcadet, dict(win=5)),
        ("pca iqr win5 sm5", pcadet, dict(win=5, smooth=5)),
    ]
    for name, fn, kw in exps:
        out = []
        for ds in ["smd", "asd"]:
            s, _ = evaluate(fn, ds, kw, pool)
            out.append(f"{ds}: {fmt(s)}")
        print(f"{name:28s} " + " || ".join(out), flush=True)
