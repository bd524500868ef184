#!/usr/bin/env python3
"""PyTorch reference for examples/mnist.ts: the same MLP and CNN, hyper-parameters and digits
(exported by bench/mnistExport.js), so mixprec's accuracies can be compared with a mainstream
framework on identical data. Prints one JSON line per run.

    python3 bench/torchMnist.py [data dir, default .gpu/mnist] [seeds, default 0,1,2]
"""
import json
import os
import sys
import time

import numpy as np
import torch
from torch import nn

data = sys.argv[1] if len(sys.argv) > 1 else os.path.join('.gpu', 'mnist')
seeds = [int(s) for s in (sys.argv[2] if len(sys.argv) > 2 else '0,1,2').split(',')]
device = 'cuda' if torch.cuda.is_available() else 'cpu'


def load(name):
    x = np.fromfile(os.path.join(data, f'{name}-images.f32'), dtype='<f4').reshape(-1, 784)
    y = np.fromfile(os.path.join(data, f'{name}-labels.i32'), dtype='<i4').astype(np.int64)
    return torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)


def build(kind):
    if kind == 'mlp':
        return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(3136, 10))


def run(kind, seed, train, test):
    torch.manual_seed(seed)
    model = build(kind).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    shape = (-1, 1, 28, 28) if kind == 'cnn' else (-1, 784)
    (x, y), (tx, ty) = train, test
    epochs = []
    for epoch in range(15 if kind == 'mlp' else 10):
        start = time.perf_counter()
        for idx in torch.randperm(len(x), device=device).split(128):
            loss = nn.functional.cross_entropy(model(x[idx].reshape(shape)), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            acc = (model(tx.reshape(shape)).argmax(1) == ty).float().mean().item()
        epochs.append({'epoch': epoch + 1, 'accuracy': acc, 'seconds': time.perf_counter() - start})
    return {'framework': f'torch {torch.__version__}', 'device': device, 'model': kind, 'seed': seed, 'epochs': epochs, 'finalAccuracy': epochs[-1]['accuracy']}


train, test = load('train'), load('test')
for kind in ('mlp', 'cnn'):
    for seed in seeds:
        print(json.dumps(run(kind, seed, train, test)), flush=True)
