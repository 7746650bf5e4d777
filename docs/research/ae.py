"""Small MLP autoencoder with Adam, written with BLAS-level ops only (mirrors the C design)."""
import numpy as np

class AE:
    def __init__(self, n_in, h, k, seed=0, act="tanh"):
        rng = np.random.default_rng(seed)
        def glorot(a, b):
            lim = np.sqrt(6.0 / (a + b)); return rng.uniform(-lim, lim, (a, b))
        self.P = [glorot(n_in, h), np.zeros(h), glorot(h, k), np.zeros(k),
                  glorot(k, h), np.zeros(h), glorot(h, n_in), np.zeros(n_in)]
        self.act = act
        self.m = [np.zeros_like(p) for p in self.P]; self.v = [np.zeros_like(p) for p in self.P]; self.t = 0

    def f(self, x):
        return np.tanh(x) if self.act == "tanh" else np.maximum(x, 0)

    def df(self, y):  # derivative given activation output
        return 1 - y * y if self.act == "tanh" else (y > 0).astype(y.dtype)

    def forward(self, X):
        W1, b1, W2, b2, W3, b3, W4, b4 = self.P
        h1 = self.f(X @ W1 + b1); c = h1 @ W2 + b2; h3 = self.f(c @ W3 + b3); out = h3 @ W4 + b4
        return h1, c, h3, out

    def recon(self, X):
        return self.forward(X)[3]

    def step(self, X, lr, b1=0.9, b2=0.999, eps=1e-8, wd=0.0):
        W1, _, W2, _, W3, _, W4, _ = self.P
        h1, c, h3, out = self.forward(X)
        n = X.shape[0]
        g = 2.0 * (out - X) / (n * X.shape[1])          # dL/dout, L = mean squared error
        gW4 = h3.T @ g; gb4 = g.sum(0)
        g3 = (g @ W4.T) * self.df(h3)
        gW3 = c.T @ g3; gb3 = g3.sum(0)
        gc = g3 @ W3.T
        gW2 = h1.T @ gc; gb2 = gc.sum(0)
        g1 = (gc @ W2.T) * self.df(h1)
        gW1 = X.T @ g1; gb1 = g1.sum(0)
        grads = [gW1, gb1, gW2, gb2, gW3, gb3, gW4, gb4]
        self.t += 1
        for i, (p, gr) in enumerate(zip(self.P, grads)):
            if wd and p.ndim == 2: gr = gr + wd * p
            self.m[i] = b1 * self.m[i] + (1 - b1) * gr
            self.v[i] = b2 * self.v[i] + (1 - b2) * gr * gr
            mh = self.m[i] / (1 - b1 ** self.t); vh = self.v[i] / (1 - b2 ** self.t)
            p -= lr * mh / (np.sqrt(vh) + eps)
        return float(((out - X) ** 2).mean())

    def nparams(self):
        return sum(p.size for p in self.P)


def train_ae(X, h, k, steps, batch, lr, seed=0, act="tanh", lr_decay=True):
    ae = AE(X.shape[1], h, k, seed, act)
    rng = np.random.default_rng(seed + 1)
    for s in range(steps):
        idx = rng.integers(0, len(X), batch)
        l = lr * (0.5 * (1 + np.cos(np.pi * s / steps)) if lr_decay else 1.0)
        ae.step(X[idx], l)
    return ae
