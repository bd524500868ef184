#!/usr/bin/env python3
"""Checks bench/gptTorchReference.py on random exports it writes itself (a tiny config, random weights,
random or patterned tokens), against an independent float64 implementation of the spec:
  1. the initial validation loss equals a forward pass written from the formulas (explicit masked
     softmax attention, LayerNorm, tanh-GELU, tied head) on the raw weight tensors;
  2. the weights after the first optimizer step equal a hand-written AdamW step (gradient
     accumulation, clip_grad_norm_, decoupled weight decay on ndim >= 2 only, LR factor of step 0);
  3. the LR factor follows the documented warm-up + cosine formula at chosen steps;
  4. a run on learnable tokens (next = previous + 1 mod V) lowers the validation loss in float32
     and in bfloat16 autocast, and the script's command line prints the documented JSON.
  .venv-torch/bin/python bench/gptTorchReferenceCheck.py    (needs PyTorch 2.0+; 2 min 8 s on the shared
  2-core machine at load 12, most of it three PyTorch imports and the two 60-step runs)
"""
import json
import math
import os
import subprocess
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gptTorchReference as ref  # noqa: E402

failures = []


def check(name, ok, detail):
    print(f"{'PASS' if ok else 'FAIL'} {name}: {detail}")
    if not ok:
        failures.append(name)


def write_safetensors(path, tensors):
    """The format read_safetensors reads, written independently: header JSON, then each tensor's bytes."""
    names = {torch.float32: "F32", torch.int32: "I32"}
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        blob = t.contiguous().numpy().tobytes()
        header[name] = {"dtype": names[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little") + text + b"".join(blobs))


def make_export(directory, c, tokens):
    torch.manual_seed(1)
    weights = {k: (torch.randn_like(v) * 0.2 if not k.endswith("ln1.weight") and not k.endswith("ln2.weight") and k != "lnF.weight" else 1 + 0.1 * torch.randn_like(v))
               for k, v in ref.GPT(c).state_dict().items()}
    write_safetensors(os.path.join(directory, "init.safetensors"), weights)
    n = c["maxSteps"] * c["gradAccumSteps"]
    seqs = tokens(n + c["evalBatches"])
    write_safetensors(os.path.join(directory, "batches.safetensors"), {
        "train_x": seqs[:n, :, :-1].contiguous(), "train_y": seqs[:n, :, 1:].contiguous(),
        "val_x": seqs[n:, :, :-1].contiguous(), "val_y": seqs[n:, :, 1:].contiguous()})
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(c, f)
    return weights


def spec_logits(w, c, idx):
    """The model from the spec's formulas, in float64, on the raw tensors (no nn modules)."""
    w = {k: v.double() for k, v in w.items()}
    ch, nh = c["nEmbd"], c["nHead"]
    hs = ch // nh
    t = idx.shape[1]

    def layer_norm(x, g, b):
        mu = x.mean(-1, keepdim=True)
        var = ((x - mu) ** 2).mean(-1, keepdim=True)
        return (x - mu) / torch.sqrt(var + 1e-5) * g + b

    x = w["wte.weight"][idx] + w["wpe.weight"][:t]
    mask = torch.tril(torch.ones(t, t, dtype=torch.bool))
    for i in range(c["nLayer"]):
        p = lambda name: w[f"blocks.{i}.{name}"]  # noqa: E731
        h = layer_norm(x, p("ln1.weight"), p("ln1.bias"))
        wq, wk, wv = p("attn.qkv.weight").split(ch, 0)
        bq, bk, bv = p("attn.qkv.bias").split(ch, 0)
        heads = lambda z: z.reshape(z.shape[0], t, nh, hs).permute(0, 2, 1, 3)  # noqa: E731
        q, k, v = heads(h @ wq.T + bq), heads(h @ wk.T + bk), heads(h @ wv.T + bv)
        att = (q @ k.transpose(-1, -2) / math.sqrt(hs)).masked_fill(~mask, float("-inf")).softmax(-1)
        y = (att @ v).permute(0, 2, 1, 3).reshape(x.shape)
        x = x + y @ p("attn.proj.weight").T + p("attn.proj.bias")
        h = layer_norm(x, p("ln2.weight"), p("ln2.bias"))
        u = h @ p("mlp.fc.weight").T + p("mlp.fc.bias")
        u = 0.5 * u * (1 + torch.tanh(math.sqrt(2 / math.pi) * (u + 0.044715 * u ** 3)))
        x = x + u @ p("mlp.proj.weight").T + p("mlp.proj.bias")
    return layer_norm(x, w["lnF.weight"], w["lnF.bias"]) @ w["wte.weight"].T


def spec_loss(w, c, x, y):
    logits = spec_logits(w, c, x.long())
    return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.long().reshape(-1))


def main():
    c = {"vocabSize": 23, "blockSize": 12, "nLayer": 2, "nHead": 2, "nEmbd": 16, "dropout": 0, "batchSize": 3,
         "gradAccumSteps": 2, "maxSteps": 1, "lr": 3e-3, "minLr": 3e-4, "warmupSteps": 2, "weightDecay": 0.1,
         "betas": [0.9, 0.95], "gradClip": 0.5, "evalEvery": 1, "evalBatches": 2}
    random_tokens = lambda n: torch.randint(0, c["vocabSize"], (n, c["batchSize"], c["blockSize"] + 1), dtype=torch.int32)  # noqa: E731
    with tempfile.TemporaryDirectory() as d:
        w = make_export(d, c, random_tokens)
        cfg, init, batches = ref.load_export(d)
        model = ref.build_model(cfg, init)
        curve, _, _ = ref.train(cfg, model, batches, "float32")

        expected0 = sum(float(spec_loss(w, c, batches["val_x"][i], batches["val_y"][i])) for i in range(2)) / 2
        check("initial validation loss = float64 spec forward", abs(curve[0]["loss"] - expected0) < 1e-5 * expected0,
              f"{curve[0]['loss']:.7f} vs {expected0:.7f}")

        # One AdamW step by hand from the same weights, in float64.
        params = {k: v.double().clone().requires_grad_() for k, v in w.items()}
        for micro in range(2):
            (spec_loss(params, c, batches["train_x"][micro], batches["train_y"][micro]) / 2).backward()
        norm = math.sqrt(sum(float((p.grad ** 2).sum()) for p in params.values()))
        clip = min(1.0, c["gradClip"] / (norm + 1e-6))
        lr = c["lr"] * 0.5  # step 0 of a 2-step warm-up
        worst, noise_only = 0.0, 0
        got = model.state_dict()
        for k, p in params.items():
            g = p.grad * clip
            decayed = p.detach() * (1 - lr * c["weightDecay"]) if p.dim() >= 2 else p.detach()
            m_hat, v_hat = g, g * g  # (1 - beta) * g / (1 - beta) on the first step
            expected = decayed - lr * m_hat / (v_hat.sqrt() + 1e-8)
            # Adam's first step is lr * g / (|g| + eps): where the true gradient is zero (the key bias:
            # softmax ignores a constant per row) float32 rounding noise alone decides its sign.
            signal = g.abs() > 1e-6
            noise_only += int((~signal).sum())
            if signal.any():
                worst = max(worst, float((got[k].double() - expected).abs()[signal].max()))
        check("first step = hand-written AdamW + clip + decay groups", worst < 1e-3 * lr,
              f"gradient norm {norm:.4f} clipped to {c['gradClip']}; max weight difference {worst:.2e} (step size {lr:g}); "
              f"{noise_only} weights with a zero gradient (|g| <= 1e-6) not compared")

    c2 = dict(c, maxSteps=10, warmupSteps=2, minLr=3e-4, lr=3e-3)
    expected = {0: 0.5, 1: 1.0, 2: 1.0, 6: 0.1 + 0.45 * (1 + math.cos(math.pi * 0.5)), 10: 0.1, 12: 0.1}
    got = {s: ref.lr_factor(s, c2) for s in expected}
    check("LR factor: warm-up, cosine, floor", all(abs(got[s] - expected[s]) < 1e-12 for s in expected), str(got))

    c3 = dict(c, maxSteps=60, evalEvery=20, lr=1e-2, minLr=1e-3, warmupSteps=5, gradClip=1.0)
    pattern = lambda n: ((torch.randint(0, c3["vocabSize"], (n, c3["batchSize"], 1)) + torch.arange(c3["blockSize"] + 1)) % c3["vocabSize"]).int()  # noqa: E731
    with tempfile.TemporaryDirectory() as d:
        make_export(d, c3, pattern)
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gptTorchReference.py")
        for dtype in ["float32", "bfloat16"]:
            out = subprocess.run([sys.executable, script, d, "--dtype", dtype, "--threads", "1"], capture_output=True, text=True, check=True)
            r = json.loads(out.stdout)
            steps = [e["step"] for e in r["valCurve"]]
            first, last = r["valCurve"][0]["loss"], r["finalValLoss"]
            check(f"learns the +1 pattern ({dtype})", steps == [0, 20, 40, 60] and last < 0.5 * first and r["tokensPerSecond"] > 0,
                  f"val loss {first:.3f} -> {last:.3f} at steps {steps}, {r['tokensPerSecond']:.0f} tokens/s, torch {r['torch']}")
    print("all checks passed" if not failures else f"{len(failures)} check(s) failed: {failures}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
