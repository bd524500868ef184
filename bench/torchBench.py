#!/usr/bin/env python3
"""The PyTorch side of `npm run bench`: the same GEMMs and W1/W2/W3 training steps, timed in PyTorch.

bench/suite/torchAnchor.js runs this once per section (and once per training variant, so a slow
variant can be stopped by its timeout without losing the others), passing every shape, count and
thread number from the JavaScript side so both sides measure the same thing. Each result is one
JSON line on stdout, printed as soon as it is known (a killed run keeps what it printed).

  torchBench.py info  --threads N
  torchBench.py gemm  --threads N --shapes JSON --dtypes float32,bfloat16,float16 [--max-call-s S]
  torchBench.py train --threads N --workload w1|w2|w3 --variant float32|bfloat16|float16
                      --batch B --warmup W --min-steps N --max-steps N --budget-s S
"""
import argparse
import json
import os
import re
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def emit(obj):
    print(json.dumps(obj), flush=True)


def proc_status_bytes(field):
    """A memory field of /proc/self/status (VmRSS: resident now; VmHWM: peak resident), in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def rss_bytes():
    return proc_status_bytes("VmRSS")


def peak_rss_bytes():
    # Not getrusage's ru_maxrss: Linux keeps it across exec, so a child of the bench would report
    # the Node parent's peak from before the fork. VmHWM belongs to this process's own memory map.
    return proc_status_bytes("VmHWM")


def ms_of(fn):
    t0 = time.perf_counter_ns()
    fn()
    return (time.perf_counter_ns() - t0) / 1e6


def median(xs):
    s = sorted(xs)
    mid = (len(s) - 1) / 2
    return (s[int(mid)] + s[int(mid + 0.5)]) / 2


def info(_args):
    config = torch.__config__.show()
    onednn = next((l.split("v", 1)[1].split()[0] for l in config.splitlines() if "MKL-DNN" in l or "oneDNN" in l), None)
    capability = torch.backends.cpu.get_cpu_capability() if hasattr(torch.backends, "cpu") else None
    blas = re.search(r"BLAS_INFO=([^,\s]+)", config)
    emit({
        "event": "info",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "blas": blas.group(1) if blas else None,
        "mkl": torch.backends.mkl.is_available(),
        "onednn": onednn,
        "cpuCapability": capability,
        "pythonVersion": sys.version.split()[0],
        "executable": sys.executable,
    })


def gemm(args):
    """Best of `repeats` torch.matmul calls after one warm-up, as bench/suite/gemmTable.js times mp.matmul."""
    torch.manual_seed(0)
    last_gflops = {}
    for label, m, k, n, repeats in json.loads(args.shapes):
        flops = 2 * m * n * k
        for name in args.dtypes.split(","):
            dtype = DTYPES[name]
            row = {"event": "gemm", "label": label, "m": m, "k": k, "n": n, "dtype": name}
            # A dtype with no fast path here (bfloat16 on some CPUs) can take many seconds a call:
            # skip the larger sizes instead of stalling the run.
            if name in last_gflops and flops / (last_gflops[name] * 1e9) > args.max_call_s:
                emit({**row, "skipped": f"predicted {flops / (last_gflops[name] * 1e9):.0f} s a call at {last_gflops[name]:.2f} GFLOP/s"})
                continue
            try:
                a = torch.randn(m, k).to(dtype)
                b = torch.randn(k, n).to(dtype)
                torch.matmul(a, b)
                best = min(ms_of(lambda: torch.matmul(a, b)) for _ in range(repeats))
            except RuntimeError as e:
                emit({**row, "error": str(e).splitlines()[0]})
                continue
            gflops = flops / best / 1e6
            last_gflops[name] = gflops
            emit({**row, "repeats": repeats, "ms": best, "gflops": gflops})


# bench/suite/trainingSteps.js's W2 GPT: examples/gpt/model.ts, whose PyTorch twin is
# bench/gptTorchReference.py's GPT (the GPT reference trainer).
W2_GPT = {"vocabSize": 4096, "blockSize": 64, "nLayer": 2, "nHead": 4, "nEmbd": 128, "dropout": 0.0}


def build(workload):
    """bench/suite/trainingSteps.js's buildW1 / buildW2 / buildW3, layer for layer."""
    torch.manual_seed(0)
    if workload == "w1":
        model = nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, 10))
        return model, torch.optim.Adam(model.parameters(), lr=1e-3), (784,)
    if workload == "w2":
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from gptTorchReference import GPT  # noqa: E402 (needs torch >= 2.0: scaled_dot_product_attention)
        model = GPT(W2_GPT)
        decay = [p for p in model.parameters() if p.dim() >= 2]
        no_decay = [p for p in model.parameters() if p.dim() < 2]
        groups = [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}]
        return model, torch.optim.AdamW(groups, lr=1e-3, betas=(0.9, 0.95)), None
    model = nn.Sequential(
        nn.Conv2d(1, 64, 3, padding=1), nn.ReLU(),
        nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(128 * 7 * 7, 10))
    return model, torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9), (1, 28, 28)


def train(args):
    """Warm-up steps, then timed steps (at least min, at most max, stopping once budget is spent)."""
    base_rss = rss_bytes()
    model, optimizer, shape = build(args.workload)
    torch.manual_seed(1)
    if args.workload == "w2":
        vocab, block = W2_GPT["vocabSize"], W2_GPT["blockSize"]
        x = torch.randint(0, vocab, (args.batch, block))
        y = torch.randint(0, vocab, (args.batch, block))
        loss_of = lambda: F.cross_entropy(model(x).view(-1, vocab), y.view(-1))  # noqa: E731
    else:
        x = torch.randn(args.batch, *shape)
        y = torch.randint(0, 10, (args.batch,))
        loss_of = lambda: F.cross_entropy(model(x), y)  # noqa: E731
    scaler = None
    if args.variant == "float16":
        # PyTorch's CPU GradScaler (torch.amp, 2.3+); older versions have none: reported as an error.
        scaler = torch.amp.GradScaler("cpu")
    dtype = DTYPES[args.variant]

    def forward():
        if args.variant == "float32":
            return loss_of()
        with torch.autocast("cpu", dtype=dtype):
            return loss_of()

    def step():
        optimizer.zero_grad()
        loss = forward()
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()

    for i in range(args.warmup):
        emit({"event": "warmup", "step": i, "ms": ms_of(step)})
    times = []
    spent = 0.0
    while len(times) < args.max_steps and (len(times) < args.min_steps or spent < args.budget_s * 1000):
        t = ms_of(step)
        times.append(t)
        spent += t
    emit({
        "event": "train", "workload": args.workload, "variant": args.variant, "batch": args.batch,
        "steps": len(times), "medianMs": median(times), "minMs": min(times), "maxMs": max(times),
        "baseRssBytes": base_rss, "peakRssBytes": peak_rss_bytes(),
    })


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=["info", "gemm", "train"])
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--shapes", help="JSON [[label, M, K, N, repeats], ...]")
    p.add_argument("--dtypes", default="float32,bfloat16,float16")
    p.add_argument("--max-call-s", type=float, default=5.0)
    p.add_argument("--workload", choices=["w1", "w2", "w3"])
    p.add_argument("--variant", choices=list(DTYPES))
    p.add_argument("--batch", type=int)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--min-steps", type=int, default=3)
    p.add_argument("--max-steps", type=int, default=20)
    p.add_argument("--budget-s", type=float, default=60.0)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    try:
        {"info": info, "gemm": gemm, "train": train}[args.command](args)
    except (RuntimeError, AttributeError, TypeError) as e:
        # An old PyTorch without a feature (float16 autocast or GradScaler on the CPU): one line, not a trace.
        emit({"event": "error", "error": f"{type(e).__name__}: {str(e).splitlines()[0]}"})


if __name__ == "__main__":
    main()
