#!/usr/bin/env python3
"""PyTorch's cast and copy throughput on the GPU, for the same sizes as bench/cast.js --device cuda.

Bytes counted are read + written, best of N with CUDA events, like bench/cast.js.
"""
import json
import sys

import torch

mib = int(sys.argv[1]) if len(sys.argv) > 1 else 64
repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 15
n = mib * 1024 * 1024 // 4
x = torch.randn(n, device="cuda")
y = torch.empty_like(x)
h = x.half()
b = x.bfloat16()


def best_seconds(fn):
    fn()
    torch.cuda.synchronize()
    best = float("inf")
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        best = min(best, start.elapsed_time(end) / 1e3)
    return best


hh = torch.empty_like(h)
bb = torch.empty_like(b)
cases = [
    ("memory copy (float32 -> float32)", 8 * n, lambda: y.copy_(x)),
    ("float32 -> float16", 6 * n, lambda: hh.copy_(x)),
    ("float32 -> bfloat16", 6 * n, lambda: bb.copy_(x)),
    ("float16 -> float32", 6 * n, lambda: y.copy_(h)),
    ("bfloat16 -> float32", 6 * n, lambda: y.copy_(b)),
]
rows = []
for name, nbytes, fn in cases:
    rows.append({"case": name, "gbPerSecond": round(nbytes / best_seconds(fn) / 1e9, 2)})
print(json.dumps({"torch": torch.__version__, "device": torch.cuda.get_device_name(), "mib": mib, "results": rows}, indent=2))
