import sys, numpy as np
from multiprocessing import Pool
from lab import evaluate, fmt
from exp1 import causal_mean
from exp3 import W
from exp5 import sat

def det(tr, te, rpd, floor=1e-2, var=0.9, smooth=5, win=5, zw=1.0, C=100, kind="clip",
        tau=None, gq=0.99, gmul=1.0, gate_on="raw", upd_var=True):
    m0 = tr.mean(0); s0 = np.maximum(tr.std(0), floor)
    a = (tr - m0) / s0
    d = tr.shape[1]
    A = W(a, win)
    mu = A.mean(0)
    u, sv, vt = np.linalg.svd(A - mu, full_matrices=False)
    ev = sv ** 2 / (sv ** 2).sum(); k = int(np.searchsorted(np.cumsum(ev), var)) + 1
    V = vt[:k].T
    res = lambda X: ((X - mu) - (X - mu) @ V @ V.T)[:, :d]
    rt = res(A); rs = np.maximum(rt.std(0), 1e-3)
    def rawscore(Z, R):
        return sat((R / rs) ** 2, C, kind).mean(-1) + zw * sat(Z ** 2, C, kind).mean(-1)
    st = rawscore(a, rt)
    g = np.quantile(causal_mean(st, smooth) if gate_on == "smooth" else st, gq) * gmul
    if tau is None:
        b = (te - m0) / s0; B = W(b, win)
        return causal_mean(rawscore(b, res(B)), smooth)
    alpha = 1.0 / (tau * rpd)
    m = m0.copy(); var_ = s0 ** 2
    ring = [a[-i - 1] for i in range(win - 1)]  # previous normalised rows, most recent first
    out = np.empty(len(te)); hist = []
    for t, x in enumerate(te):
        z = (x - m) / np.maximum(np.sqrt(var_), floor)
        w = np.concatenate([z] + ring)
        wc = w - mu
        r = (wc - V @ (V.T @ wc))[:d]
        sraw = rawscore(z, r)
        hist.append(sraw)
        if len(hist) > smooth: hist.pop(0)
        ssm = sum(hist) / len(hist)
        out[t] = ssm
        gv = ssm if gate_on == "smooth" else sraw
        if gv < g:
            dx = x - m
            m = m + alpha * dx
            if upd_var:
                var_ = var_ + alpha * (dx * dx - var_)
        if win > 1:
            ring = [z] + ring[:-1]
    return out

if __name__ == "__main__":
    pool = Pool(2)
    exps = [
        ("nostream C100", dict()),
        ("tau1 gq.99", dict(tau=1)),
        ("tau3 gq.99", dict(tau=3)),
        ("tau10 gq.99", dict(tau=10)),
        ("tau1 gq.99 smooth", dict(tau=1, gate_on="smooth")),
        ("tau1 gq.9", dict(tau=1, gq=0.9)),
        ("tau1 gq.999", dict(tau=1, gq=0.999)),
        ("tau1 nogate", dict(tau=1, gq=1.0, gmul=1e9)),
        ("tau1 gq.99 novar", dict(tau=1, upd_var=False)),
        ("tau.3 gq.99", dict(tau=0.3)),
    ]
    for name, kw in exps:
        out = []
        for ds in ["smd", "asd"]:
            s, _ = evaluate(det, ds, kw, pool)
            out.append(f"{ds}: {fmt(s)}")
        print(f"{name:28s} " + " || ".join(out), flush=True)
