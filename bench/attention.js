#!/usr/bin/env node
// Fused scaledDotProductAttention against the unfused composition of mixprec's ops (matmul →
// scale → causal mask → softmax → matmul, which materialises the B·H·T·T weights): forward +
// backward time (median of --reps after a warm-up) and peak tensor memory (mp.memory().peakBytes
// above the inputs), in float32 and bfloat16, causal. The target: fused ≥ 3× the
// composition at T = 512, memory O(T) per head.
//   node bench/attention.js [--t 512] [--b 4] [--h 4] [--e 64] [--reps 5] [--json [FILE]]
'use strict';
const mp = require('..');
const { numberOption, printJson, json } = require('./cliArgs');

const T = numberOption('--t', 512);
const B = numberOption('--b', 4);
const H = numberOption('--h', 4);
const E = numberOption('--e', 64);
const reps = numberOption('--reps', 5);
const F = mp.nn.functional;

function composed(q, k, v) {
  const mask = mp.arange(T).reshape([T, 1]).ge(mp.arange(T).reshape([1, T]));
  const s = q.matmul(k.transpose(-2, -1)).mul(1 / Math.sqrt(E));
  return mp.where(mask, s, -Infinity).softmax(-1).matmul(v);
}

const fused = (q, k, v) => F.scaledDotProductAttention(q, k, v, { isCausal: true });

/** Median seconds of forward + backward, and the peak tensor bytes above the inputs. */
function measure(fn, dtype) {
  const inputs = [0, 1, 2].map(() => mp.keep(mp.randn([B, H, T, E]).to(dtype).requiresGrad_()));
  const gradOut = mp.keep(mp.randn([B, H, T, E]).to(dtype));
  const step = () => mp.tidy(() => {
    fn(...inputs).backward(gradOut);
    for (const x of inputs) { x.grad.dispose(); x.grad = undefined; }
  });
  step();
  const times = [];
  let peak = 0;
  for (let r = 0; r < reps; ++r) {
    const base = mp.memory().numBytes;
    mp.resetPeakMemory();
    const t0 = process.hrtime.bigint();
    step();
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
    peak = Math.max(peak, mp.memory().peakBytes - base);
  }
  for (const x of [...inputs, gradOut]) x.dispose();
  times.sort((a, b) => a - b);
  return { seconds: times[Math.floor(times.length / 2)], peakBytes: peak };
}

const rows = [];
for (const dtype of ['float32', 'bfloat16']) {
  const f = measure(fused, dtype);
  const c = measure(composed, dtype);
  rows.push({ dtype, fusedMs: f.seconds * 1e3, composedMs: c.seconds * 1e3, speedup: c.seconds / f.seconds,
    fusedPeakMiB: f.peakBytes / 2 ** 20, composedPeakMiB: c.peakBytes / 2 ** 20 });
}

const info = { T, B, H, E, causal: true, simd: mp.backend().simd, threads: mp.backend().numThreads };
if (!json) {
  console.log(`attention forward+backward, B=${B} H=${H} T=${T} E=${E}, causal; simd ${info.simd}, ${info.threads} threads; median of ${reps}`);
  console.log('dtype     fused ms  composed ms  speed-up  fused peak MiB  composed peak MiB');
  for (const r of rows) {
    console.log(`${r.dtype.padEnd(9)} ${r.fusedMs.toFixed(1).padStart(8)}  ${r.composedMs.toFixed(1).padStart(11)}  ${r.speedup.toFixed(2).padStart(7)}x  ${r.fusedPeakMiB.toFixed(2).padStart(14)}  ${r.composedPeakMiB.toFixed(2).padStart(17)}`);
  }
}
printJson({ ...info, rows });
