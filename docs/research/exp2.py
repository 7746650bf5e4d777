import sys, numpy as np
from multiprocessing import Pool
from lab import evaluate, fmt
from exp1 import causal_mean

def scale(tr, mode, floor):
    med = np.median(tr, 0); q1, q3 = np.percentile(tr, [25, 75], 0)
    iqr = (q3 - q1) / 1.349; sd = tr.std(0); mu = tr.mean(0)
    if mode == "std": c, s = mu, sd
    elif mode == "medstd": c, s = med, sd
    elif mode == "iqr": c, s = med, iqr
    elif mode == "maxiqrstd": c, s = med, np.maximum(iqr, sd)
    elif mode == "q99": 
        c = med; s = np.percentile(np.abs(tr - med), 99, 0) / 2.576
    elif mode == "q999":
        c = med; s = np.percentile(np.abs(tr - med), 99.9, 0) / 3.29
    elif mode == "q95":
        c = med; s = np.percentile(np.abs(tr - med), 95, 0) / 1.96
    return c, np.maximum(s, floor)

def zdet(tr, te, rpd, mode="std", floor=1e-6, clip=1e9, smooth=1, p=2):
    c, s = scale(tr, mode, floor)
    z = np.clip((te - c) / s, -clip, clip)
    return causal_mean((np.abs(z) ** p).mean(1), smooth)

if __name__ == "__main__":
    pool = Pool(2)
    exps = []
    for mode in ["std", "medstd", "iqr", "maxiqrstd", "q95", "q99", "q999"]:
        for floor in [1e-6, 1e-3, 1e-2]:
            exps.append((f"{mode} floor{floor}", zdet, dict(mode=mode, floor=floor)))
    exps += [("q99 1e-3 clip20", zdet, dict(mode="q99", floor=1e-3, clip=20)),
             ("q99 1e-3 clip100", zdet, dict(mode="q99", floor=1e-3, clip=100)),
             ("q99 1e-3 p1", zdet, dict(mode="q99", floor=1e-3, p=1)),
             ("q99 1e-3 p1 sm5", zdet, dict(mode="q99", floor=1e-3, p=1, smooth=5)),
             ("q99 1e-3 sm5", zdet, dict(mode="q99", floor=1e-3, smooth=5)),
             ("std sm5", zdet, dict(smooth=5))]
    for name, fn, kw in exps:
        out = []
        for ds in ["smd", "asd"]:
            s, _ = evaluate(fn, ds, kw, pool)
            out.append(f"{ds}: {fmt(s)}")
        print(f"{name:28s} " + " || ".join(out), flush=True)
