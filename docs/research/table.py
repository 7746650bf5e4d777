#!/usr/bin/python3
"""Reproduces the alternatives table of REPORT.md (dev data). usage: /usr/bin/python3 table.py"""
import io, contextlib
from multiprocessing import Pool
from lab import evaluate
import exp1, exp2, exp3, exp4, exp5, exp6, exp7, exp8
import fedmon_proto as F
ALT = [
    ("z-score (mean/std) mean of squares, no smoothing", exp2.zdet, dict(mode="std", floor=1e-6)),
    ("robust z (median/IQR, floor .01, clip 10), mean of squares", exp1.zdet, dict()),
    ("robust z (median/IQR) + causal mean-5 smoothing", exp1.zdet, dict(smooth=5)),
    ("z (mean/std, floor .01) + mean-5 smoothing", exp2.zdet, dict(floor=1e-2, smooth=5)),
    ("PCA 90% (std-normalised, 1 row) + mean-5", exp3.pcadet, dict()),
    ("PCA window 5, residual / train residual RMS, + mean-5", exp3.pcadet, dict(win=5, rnorm=True)),
    ("  + z term (w=1)", exp4.det, dict()),
    ("  + cap 100 per squared term", exp5.det, dict(C=100, Cr=100)),
    ("  + first differences term", exp5.det, dict(C=100, Cr=100, diff=True)),
    ("  + EMA span 10 instead of mean-5", exp8.det, dict(post="ema", smooth=10)),
    ("  MLP AE 190-32-8-32-190 relu, 1000x64 Adam, instead of PCA (mean-5)", exp7.det, dict(steps=1000, act="relu")),
    ("  MLP AE 190-64-8-64-190 tanh, 3000x64 Adam, instead of PCA (mean-5)", exp7.det, dict(h=64, k=8, steps=3000)),
    ("  online normalisation (mean+var, tau 1 d, gated at train q.99)", exp6.det, dict(tau=1)),
    ("  online normalisation (mean only, tau 1 d, gated)", exp6.det, dict(tau=1, upd_var=False)),
]
if __name__ == "__main__":
    pool = Pool(2)
    print("| detector (dev data) | smd best-F1 | smd AUC-PR | asd best-F1 | asd AUC-PR |\n|---|---|---|---|---|")
    for name, fn, kw in ALT:
        s, _ = evaluate(fn, "smd", kw, pool); a, _ = evaluate(fn, "asd", kw, pool)
        print(f"| {name} | {s['best_f1']:.3f} | {s['auc_pr']:.3f} | {a['best_f1']:.3f} | {a['auc_pr']:.3f} |", flush=True)
    with contextlib.redirect_stdout(io.StringIO()):
        s = F.run("smd", F.HP, quiet=True)[0]; a = F.run("asd", F.HP, quiet=True)[0]
    print(f"| FINAL: + relative score s/b (gated baseline, tau 3 d) | {s['best_f1']:.3f} | {s['auc_pr']:.3f} | {a['best_f1']:.3f} | {a['auc_pr']:.3f} |")
