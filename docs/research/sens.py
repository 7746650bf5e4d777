import sys, io, contextlib
from multiprocessing import Pool
import fedmon_proto as F
VAR = [("base", {}), ("ema=5", dict(ema=5)), ("ema=20", dict(ema=20)), ("win=1", dict(win=1)), ("win=10", dict(win=10)),
       ("var=0.8", dict(var=0.8)), ("var=0.95", dict(var=0.95)), ("zw=0.5", dict(zw=0.5)), ("zw=2", dict(zw=2.0)),
       ("C=30", dict(C=30.0)), ("C=1000", dict(C=1000.0)), ("floor=0.003", dict(floor=0.003)), ("floor=0.03", dict(floor=0.03)),
       ("tau_b=1", dict(tau_b=1.0)), ("tau_b=10", dict(tau_b=10.0)), ("no baseline (tau_b=1e9)", dict(tau_b=1e9)), ("g_b=2", dict(g_b=2.0)), ("g_b=5", dict(g_b=5.0)),
       ("q=0.01", dict(q=0.01)), ("q=0.05", dict(q=0.05)), ("t0q=0.98", dict(t0q=0.98)), ("on=1,off=1", dict(on=1, off=1)), ("on=10", dict(on=10)), ("off=30", dict(off=30)), ("h=0.7", dict(h=0.7))]
def one(v):
    name, kw = v; hp = dict(F.HP, **kw); res = []
    with contextlib.redirect_stdout(io.StringIO()):
        for ds in ["smd", "asd"]:
            res.append(F.run(ds, hp, outdir=f"/tmp/research/out_sens/{name.replace(' ','_')}", quiet=True)[0])
    s, a = res
    return (f"| {name} | {s['best_f1']:.3f} | {s['auc_pr']:.3f} | {s['own_f1']:.3f} | {s['own_false_alarms_per_day']:.2f} | "
            f"{a['best_f1']:.3f} | {a['auc_pr']:.3f} | {a['own_f1']:.3f} | {a['own_false_alarms_per_day']:.2f} |")
if __name__ == "__main__":
    print("| variant (one change vs final) | smd bestF1 | smd AUC-PR | smd own F1 | smd FA/day | asd bestF1 | asd AUC-PR | asd own F1 | asd FA/day |")
    print("|---|---|---|---|---|---|---|---|---|")
    for line in Pool(2).imap(one, VAR): print(line, flush=True)
