#!/usr/bin/env python3
"""The PyTorch reference run for the GPT example (issue 14): the same model, data, initial weights
and batch order as mixprec's run, trained with PyTorch, so the two validation losses can be compared.

  gptTorchReference.py EXPORT_DIR [--dtype float32|bfloat16] [--threads N]

EXPORT_DIR holds config.json, init.safetensors and batches.safetensors (docs/benchmarks.md lists
their fields and tensor names). Prints one JSON line:
  {torch, threads, dtype, valCurve: [{step, loss}], finalValLoss, trainLoss: [...], tokensPerSecond}
where step counts optimizer steps done (0 = the initial weights, last = maxSteps).
Needs PyTorch 2.0 or newer (F.scaled_dot_product_attention): bench/setup-torch.sh makes one.
"""
import argparse
import json
import math
import os
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

SAFETENSORS_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "F64": torch.float64,
                      "I32": torch.int32, "I64": torch.int64, "BOOL": torch.bool}
CONFIG_KEYS = ["vocabSize", "blockSize", "nLayer", "nHead", "nEmbd", "dropout", "batchSize", "gradAccumSteps", "maxSteps",
               "lr", "minLr", "warmupSteps", "weightDecay", "betas", "gradClip", "evalEvery", "evalBatches"]


class ExportError(Exception):
    """The export directory does not hold what this script needs; the message says what."""


def read_safetensors(path):
    """{name: tensor} from a safetensors file: an 8-byte little-endian header size, a JSON header, the data."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    data = memoryview(raw)[8 + n:]
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if entry["dtype"] not in SAFETENSORS_DTYPES:
            raise ExportError(f"{path}: tensor {name} has dtype {entry['dtype']}, expected one of {list(SAFETENSORS_DTYPES)}")
        begin, end = entry["data_offsets"]
        dtype = SAFETENSORS_DTYPES[entry["dtype"]]
        # bytearray: torch.frombuffer needs a writable buffer to share without a warning.
        flat = torch.frombuffer(bytearray(data[begin:end]), dtype=dtype) if end > begin else torch.empty(0, dtype=dtype)
        out[name] = flat.reshape(entry["shape"])
    return out


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.n_head, self.dropout = c["nHead"], c["dropout"]
        self.qkv = nn.Linear(c["nEmbd"], 3 * c["nEmbd"])
        self.proj = nn.Linear(c["nEmbd"], c["nEmbd"])
        self.resid_dropout = nn.Dropout(c["dropout"])

    def forward(self, x):
        b, t, ch = x.shape
        q, k, v = self.qkv(x).split(ch, dim=2)
        q, k, v = (z.view(b, t, self.n_head, ch // self.n_head).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=self.dropout if self.training else 0.0)
        return self.resid_dropout(self.proj(y.transpose(1, 2).contiguous().view(b, t, ch)))


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.fc = nn.Linear(c["nEmbd"], 4 * c["nEmbd"])
        self.proj = nn.Linear(4 * c["nEmbd"], c["nEmbd"])
        self.dropout = nn.Dropout(c["dropout"])

    def forward(self, x):
        return self.dropout(self.proj(F.gelu(self.fc(x), approximate="tanh")))


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.ln1 = nn.LayerNorm(c["nEmbd"], eps=1e-5)
        self.attn = Attention(c)
        self.ln2 = nn.LayerNorm(c["nEmbd"], eps=1e-5)
        self.mlp = MLP(c)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    """nanoGPT-like; the attribute names are the export's tensor names (blocks.0.attn.qkv.weight, lnF.bias, ...)."""

    def __init__(self, c):
        super().__init__()
        self.wte = nn.Embedding(c["vocabSize"], c["nEmbd"])
        self.wpe = nn.Embedding(c["blockSize"], c["nEmbd"])
        self.drop = nn.Dropout(c["dropout"])
        self.blocks = nn.ModuleList(Block(c) for _ in range(c["nLayer"]))
        self.lnF = nn.LayerNorm(c["nEmbd"], eps=1e-5)

    def forward(self, idx):
        x = self.drop(self.wte(idx) + self.wpe(torch.arange(idx.shape[1])))
        for block in self.blocks:
            x = block(x)
        return self.lnF(x) @ self.wte.weight.t()  # tied head, no bias


def lr_factor(step, c):
    """The LR multiplier for 0-based optimizer step `step`: linear warm-up, then cosine down to minLr/lr."""
    lo = c["minLr"] / c["lr"]
    if step < c["warmupSteps"]:
        return (step + 1) / c["warmupSteps"]
    progress = min(1.0, (step - c["warmupSteps"]) / max(1, c["maxSteps"] - c["warmupSteps"]))
    return lo + 0.5 * (1 - lo) * (1 + math.cos(math.pi * progress))


def load_export(export_dir):
    with open(os.path.join(export_dir, "config.json")) as f:
        c = json.load(f)
    missing = [k for k in CONFIG_KEYS if k not in c]
    if missing:
        raise ExportError(f"config.json lacks {missing}")
    if c["nEmbd"] % c["nHead"]:
        raise ExportError(f"config.json: nEmbd {c['nEmbd']} is not a multiple of nHead {c['nHead']}")
    init = read_safetensors(os.path.join(export_dir, "init.safetensors"))
    batches = read_safetensors(os.path.join(export_dir, "batches.safetensors"))
    b, t = c["batchSize"], c["blockSize"]
    expected = {"train_x": [c["maxSteps"] * c["gradAccumSteps"], b], "train_y": [c["maxSteps"] * c["gradAccumSteps"], b],
                "val_x": [c["evalBatches"], b], "val_y": [c["evalBatches"], b]}
    for name, lead in expected.items():
        x = batches.get(name)
        if x is None or x.dtype != torch.int32 or list(x.shape[:2]) != lead or x.dim() != 3 or not 0 < x.shape[2] <= t:
            got = "missing" if x is None else f"{x.dtype} {list(x.shape)}"
            raise ExportError(f"batches.safetensors: {name} should be int32 [{lead[0]}, {lead[1]}, T <= {t}], got {got}")
        if x.numel() and (int(x.min()) < 0 or int(x.max()) >= c["vocabSize"]):
            raise ExportError(f"batches.safetensors: {name} has token ids outside [0, {c['vocabSize']})")
    return c, init, batches


def build_model(c, init):
    model = GPT(c)
    state = model.state_dict()
    if set(init) != set(state):
        raise ExportError(f"init.safetensors: missing {sorted(set(state) - set(init))}, unexpected {sorted(set(init) - set(state))}")
    bad = [f"{k} {list(init[k].shape)} (expected {list(v.shape)})" for k, v in state.items() if init[k].shape != v.shape]
    if bad:
        raise ExportError(f"init.safetensors: wrong shapes: {bad}")
    model.load_state_dict({k: v.to(torch.float32) for k, v in init.items()})
    return model


def train(c, model, batches, dtype):
    """Returns (valCurve, trainLoss per step, training seconds): eval at step 0, every evalEvery, and at maxSteps."""
    params = list(model.parameters())
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": c["weightDecay"]},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    optimizer = torch.optim.AdamW(groups, lr=c["lr"], betas=tuple(c["betas"]), eps=1e-8)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, c))
    amp = dtype == "bfloat16"

    def loss_of(x, y):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp):
            logits = model(x.long())
        return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), y.long().reshape(-1))

    def evaluate():
        model.eval()
        with torch.no_grad():
            losses = [float(loss_of(batches["val_x"][i], batches["val_y"][i])) for i in range(c["evalBatches"])]
        model.train()
        return sum(losses) / len(losses)

    val_curve, train_loss, seconds = [], [], 0.0
    accum = c["gradAccumSteps"]
    for step in range(c["maxSteps"] + 1):
        if step == 0 or step % c["evalEvery"] == 0 or step == c["maxSteps"]:
            val_curve.append({"step": step, "loss": evaluate()})
        if step == c["maxSteps"]:
            break
        t0 = time.perf_counter()
        total = 0.0
        for micro in range(accum):
            i = step * accum + micro
            loss = loss_of(batches["train_x"][i], batches["train_y"][i]) / accum
            loss.backward()
            total += float(loss.detach())
        if c["gradClip"] > 0:
            torch.nn.utils.clip_grad_norm_(params, c["gradClip"])
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        seconds += time.perf_counter() - t0
        train_loss.append(total)
    return val_curve, train_loss, seconds


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("export_dir")
    p.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: PyTorch's own choice)")
    args = p.parse_args()
    if not hasattr(F, "scaled_dot_product_attention"):
        sys.exit(f"gptTorchReference: PyTorch {torch.__version__} has no scaled_dot_product_attention; use 2.0 or newer (bench/setup-torch.sh)")
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)  # only dropout draws random numbers
    try:
        c, init, batches = load_export(args.export_dir)
        model = build_model(c, init)
    except (ExportError, OSError, KeyError, ValueError) as e:
        sys.exit(f"gptTorchReference: {args.export_dir}: {e}")
    val_curve, train_loss, seconds = train(c, model, batches, args.dtype)
    tokens = batches["train_x"][0].numel() * c["gradAccumSteps"] * c["maxSteps"]
    print(json.dumps({
        "torch": torch.__version__, "threads": torch.get_num_threads(), "dtype": args.dtype,
        "valCurve": val_curve, "finalValLoss": val_curve[-1]["loss"], "trainLoss": train_loss,
        "tokensPerSecond": tokens / seconds if seconds > 0 else None,
    }))


if __name__ == "__main__":
    main()
