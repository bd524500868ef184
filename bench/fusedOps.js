#!/usr/bin/env node
// Forward + backward time of the fused ops against the same math composed from primitive ops
// (what layerNorm and crossEntropy ran before the fused kernels): layerNorm [4096, 768],
// crossEntropy [2048, 4096] (mean over class-index targets), gelu and bias + GELU [4096, 3072],
// in float32 and bfloat16 (16-bit inputs, float32 statistics in both versions). Each case runs
// `--repeats` timed iterations after a warm-up and reports the median and the best, in ms.
// `--dist DIR` runs another build's dist/ (e.g. a checkout before the fused kernels, where the
// "fused" column then times that build's own layerNorm / crossEntropy / gelu).
//   node bench/fusedOps.js [--repeats 15] [--dist ../other/dist] [--json [FILE]]
'use strict';
const path = require('node:path');
const { printJson, numberOption, stringOption, json } = require('./cliArgs');

const mp = require(path.resolve(stringOption('--dist', path.join(__dirname, '..', 'dist'))));

const repeats = numberOption('--repeats', 15);
const F = mp.nn.functional;

/** The layerNorm composition the fused op replaced (16-bit inputs widened to float32). */
function layerNormComposed(input, cols, weight, bias, eps = 1e-5) {
  const x = input.dtype === 'float32' ? input : input.to('float32');
  const mean = x.mean({ dim: [1], keepdim: true });
  const centered = x.sub(mean);
  const variance = centered.mul(centered).mean({ dim: [1], keepdim: true });
  const y = centered.mul(variance.add(eps).rsqrt()).mul(weight).add(bias);
  return y.to(input.dtype);
}

/** crossEntropy as composed before: logSoftmax, then the nll of the targets (gather), mean. */
const crossEntropyComposed = (x, t) => F.nllLoss(x.logSoftmax(1), t);

/** Exact GELU from primitive ops (erf, mul, add): backward is the recorded ops' chain rule. */
const geluComposed = (x) => x.mul(x.mul(Math.SQRT1_2).erf().add(1).mul(0.5));

function time(fn) {
  const run = () => {
    const t0 = process.hrtime.bigint();
    mp.tidy(fn);
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  run();
  run();
  const samples = Array.from({ length: repeats }, run).sort((a, b) => a - b);
  return { medianMs: samples[Math.floor(samples.length / 2)], bestMs: samples[0] };
}

/** One forward + backward of `op` on fresh leaves; the leaves' grads are dropped. */
function step(leaves, op, grad) {
  return () => {
    const xs = leaves.map((t) => t.detach().requiresGrad_());
    const y = op(...xs);
    y.backward(grad);
    for (const x of xs) {
      x.grad.dispose();
      x.grad = undefined;
    }
  };
}

const results = [];
function compare(name, dtype, leaves, fused, composed, grad) {
  const f = time(step(leaves, fused, grad));
  const c = time(step(leaves, composed, grad));
  results.push({ name, dtype, fusedMs: f.medianMs, composedMs: c.medianMs, fusedBestMs: f.bestMs, composedBestMs: c.bestMs, speedup: c.medianMs / f.medianMs });
}

mp.manualSeed(0);
for (const dtype of ['float32', 'bfloat16']) {
  mp.tidy(() => {
    const x = mp.randn([4096, 768]).to(dtype);
    const w = mp.randn([768]);
    const b = mp.randn([768]);
    const g = mp.randn([4096, 768]).to(dtype);
    compare('layerNorm [4096, 768]', dtype, [x, w, b], (xi, wi, bi) => F.layerNorm(xi, [768], wi, bi), (xi, wi, bi) => layerNormComposed(xi, 768, wi, bi), g);

    const logits = mp.randn([2048, 4096]).mul(3).to(dtype);
    const target = mp.randint(0, 4096, [2048]);
    compare('crossEntropy [2048, 4096]', dtype, [logits], (l) => F.crossEntropy(l, target), (l) => crossEntropyComposed(l, target));

    const h = mp.randn([4096, 3072]).to(dtype);
    const hb = mp.randn([3072]).to(dtype);
    const hg = mp.randn([4096, 3072]).to(dtype);
    compare('gelu [4096, 3072]', dtype, [h], (a) => mp.gelu(a), (a) => geluComposed(a), hg);
    if (F.biasGelu) compare('bias + gelu [4096, 3072]', dtype, [h, hb], (a, c) => F.biasGelu(a, c), (a, c) => a.add(c).gelu(), hg);
  });
}

const info = mp.backend();
if (!json) {
  console.log(`fused ops, forward + backward (median of ${repeats}, ms); simd ${info.simd}, ${info.numThreads} threads`);
  console.log('case                           dtype      fused   composed  speed-up');
  for (const r of results) {
    console.log(`${r.name.padEnd(30)} ${r.dtype.padEnd(9)} ${r.fusedMs.toFixed(1).padStart(7)} ${r.composedMs.toFixed(1).padStart(10)} ${r.speedup.toFixed(2).padStart(8)}x`);
  }
}
printJson({ simd: info.simd, threads: info.numThreads, repeats, results });
