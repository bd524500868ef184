#!/usr/bin/env python3
"""An independent float32 NumPy training of examples/mnist.ts's CNN, started from mixprec's
initial weights and fed mixprec's batch order (bench/cnnReferenceExport.js) on the same digits
(bench/mnistExport.js): forward and backward written from the formulas, Adam as in PyTorch's
documentation, the pooling gradient to the first maximum. Its per-epoch test accuracy should
track `node examples/build/mnist.js --model cnn --seeds SEED --variants float32` closely.

    python3 bench/numpyCnnReference.py SEED [DIR, default .gpu/mnist]
"""
import json
import os
import sys
import time

import numpy as np

seed = int(sys.argv[1]) if len(sys.argv) > 1 else 0
data = sys.argv[2] if len(sys.argv) > 2 else os.path.join('.gpu', 'mnist')
d = json.load(open(os.path.join(data, f'init-{seed}.json')))
P = {k: np.array(v['v'], dtype=np.float32).reshape(v['shape']) for k, v in d['params'].items()}
X = np.fromfile(os.path.join(data, 'train-images.f32'), dtype='<f4').reshape(-1, 1, 28, 28)
Y = np.fromfile(os.path.join(data, 'train-labels.i32'), dtype='<i4')
TX = np.fromfile(os.path.join(data, 'test-images.f32'), dtype='<f4').reshape(-1, 1, 28, 28)
TY = np.fromfile(os.path.join(data, 'test-labels.i32'), dtype='<i4')

def im2col(x):
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    s = xp.strides
    win = np.lib.stride_tricks.as_strided(xp, (n, c, 3, 3, h, w), (s[0], s[1], s[2], s[3], s[2], s[3]))
    return win.reshape(n, c * 9, h * w)

def col2im(cols, shape):
    n, c, h, w = shape
    cols = cols.reshape(n, c, 3, 3, h, w)
    xp = np.zeros((n, c, h + 2, w + 2), dtype=np.float32)
    for i in range(3):
        for j in range(3):
            xp[:, :, i:i + h, j:j + w] += cols[:, :, i, j]
    return xp[:, :, 1:-1, 1:-1]

def conv(x, w, b):
    cols = im2col(x)
    out = np.matmul(w.reshape(w.shape[0], -1), cols) + b[None, :, None]
    return out.reshape(x.shape[0], w.shape[0], x.shape[2], x.shape[3]), cols

def pool(x):
    n, c, h, w = x.shape
    win = x.reshape(n, c, h // 2, 2, w // 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h // 2, w // 2, 4)
    idx = win.argmax(-1)
    return np.take_along_axis(win, idx[..., None], -1)[..., 0], idx

def pool_back(g, idx, shape):
    n, c, h, w = shape
    win = np.zeros((n, c, h // 2, w // 2, 4), dtype=np.float32)
    np.put_along_axis(win, idx[..., None], g[..., None], -1)
    return win.reshape(n, c, h // 2, w // 2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(shape)

def forward(x):
    a1, c1 = conv(x, P['0.weight'], P['0.bias']); r1 = np.maximum(a1, 0); p1, i1 = pool(r1)
    a2, c2 = conv(p1, P['3.weight'], P['3.bias']); r2 = np.maximum(a2, 0); p2, i2 = pool(r2)
    f = p2.reshape(len(x), -1)
    return f @ P['7.weight'].T + P['7.bias'], (a1, c1, i1, p1, a2, c2, i2, p2, f)

def grads(x, y):
    logits, (a1, c1, i1, p1, a2, c2, i2, p2, f) = forward(x)
    m = logits.max(1, keepdims=True); e = np.exp(logits - m); sm = e / e.sum(1, keepdims=True)
    g = sm; g[np.arange(len(y)), y] -= 1; g /= len(y)
    G = {'7.weight': g.T @ f, '7.bias': g.sum(0)}
    gp2 = (g @ P['7.weight']).reshape(p2.shape)
    ga2 = pool_back(gp2, i2, a2.shape) * (a2 > 0)
    g2 = ga2.reshape(len(x), 64, -1)
    G['3.weight'] = np.einsum('nol,nkl->ok', g2, c2, optimize=True).reshape(P['3.weight'].shape); G['3.bias'] = g2.sum((0, 2))
    gp1 = col2im(np.matmul(P['3.weight'].reshape(64, -1).T, g2), p1.shape)
    ga1 = pool_back(gp1, i1, a1.shape) * (a1 > 0)
    g1 = ga1.reshape(len(x), 32, -1)
    G['0.weight'] = np.einsum('nol,nkl->ok', g1, c1, optimize=True).reshape(P['0.weight'].shape); G['0.bias'] = g1.sum((0, 2))
    return G

state = {k: [np.zeros_like(v), np.zeros_like(v)] for k, v in P.items()}
t = 0
for epoch, order in enumerate(d['orders']):
    start = time.time()
    order = np.array(order)
    for b in range(0, len(order), 128):
        idx = order[b:b + 128]
        G = grads(X[idx], Y[idx])
        t += 1
        for k in P:
            m, v = state[k]
            m *= 0.9; m += 0.1 * G[k]
            v *= 0.999; v += 0.001 * G[k] * G[k]
            denom = np.sqrt(v) / np.sqrt(1 - 0.999 ** t) + 1e-8
            P[k] -= (1e-3 / (1 - 0.9 ** t)) * m / denom
    acc = np.mean(np.concatenate([forward(TX[i:i + 500])[0].argmax(1) for i in range(0, len(TX), 500)]) == TY)
    print(f'seed {seed} epoch {epoch + 1} accuracy {acc * 100:.2f}% ({time.time() - start:.1f} s)', flush=True)
