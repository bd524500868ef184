#!/usr/bin/env node
// Fused scaledDotProductAttention against the unfused composition of mixprec's ops (matmul →
// scale → causal mask → softmax → matmul, which materialises the B·H·T·T weights): forward +
// backward wall time and process CPU time (medians of --reps after a warm-up; on a machine shared
// with other jobs the CPU time is the steadier of the two) and peak tensor memory
// (mp.memory().peakBytes above the inputs), in float32 and bfloat16, causal. The target:
// fused ≥ 3× the composition at T = 512, memory O(T) per head.
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

/** Median wall and CPU seconds of forward + backward, and the peak tensor bytes above the inputs. */
function measure(fn, dtype) {
  const inputs = [0, 1, 2].map(() => mp.keep(mp.randn([B, H, T, E]).to(dtype).requiresGrad_()));
  const gradOut = mp.keep(mp.randn([B, H, T, E]).to(dtype));
  const step = () => mp.tidy(() => {
    fn(...inputs).backward(gradOut);
    for (const x of inputs) { x.grad.dispose(); x.grad = undefined; }
  });
  step();
  const wall = [];
  const cpu = [];
  let peak = 0;
  for (let r = 0; r < reps; ++r) {
    const base = mp.memory().numBytes;
    mp.resetPeakMemory();
    const t0 = process.hrtime.bigint();
    const c0 = process.cpuUsage();
    step();
    const c = process.cpuUsage(c0);
    wall.push(Number(process.hrtime.bigint() - t0) / 1e9);
    cpu.push((c.user + c.system) / 1e6);
    peak = Math.max(peak, mp.memory().peakBytes - base);
  }
  for (const x of [...inputs, gradOut]) x.dispose();
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return { seconds: median(wall), cpuSeconds: median(cpu), peakBytes: peak };
}

const rows = [];
for (const dtype of ['float32', 'bfloat16']) {
  const f = measure(fused, dtype);
  const c = measure(composed, dtype);
  rows.push({ dtype, fusedMs: f.seconds * 1e3, composedMs: c.seconds * 1e3, speedup: c.seconds / f.seconds,
    fusedCpuMs: f.cpuSeconds * 1e3, composedCpuMs: c.cpuSeconds * 1e3, cpuSpeedup: c.cpuSeconds / f.cpuSeconds,
    fusedPeakMiB: f.peakBytes / 2 ** 20, composedPeakMiB: c.peakBytes / 2 ** 20 });
}

const info = { T, B, H, E, causal: true, simd: mp.backend().simd, threads: mp.backend().numThreads };
if (!json) {
  console.log(`attention forward+backward, B=${B} H=${H} T=${T} E=${E}, causal; simd ${info.simd}, ${info.threads} threads; median of ${reps}`);
  console.log('dtype     wall ms: fused  composed  speed-up | cpu ms: fused  composed  speed-up | peak MiB: fused  composed');
  const f1 = (x, w) => x.toFixed(1).padStart(w);
  for (const r of rows) {
    console.log(`${r.dtype.padEnd(9)} ${f1(r.fusedMs, 14)} ${f1(r.composedMs, 9)} ${f1(r.speedup, 8)}x | ${f1(r.fusedCpuMs, 12)} ${f1(r.composedCpuMs, 9)} ${f1(r.cpuSpeedup, 8)}x | ${f1(r.fusedPeakMiB, 15)} ${f1(r.composedPeakMiB, 9)}`);
  }
}
printJson({ ...info, rows });
