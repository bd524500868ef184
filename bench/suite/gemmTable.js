// GEMM GFLOP/s through mp.matmul on contiguous tensors: square M=N=K and the W1 MLP's GEMMs
// (forward and the backward products, transposes materialised), in float32 / bfloat16 / float16.
// Each repeat is one mp.tidy(() => mp.matmul(a, b)) call (the output's dispose included; the
// operands are made outside the timing); best of N, with N shrinking as the GEMM grows.
'use strict';
const mp = require('../../dist');
const { timeMs } = require('./util');

const dtypes = ['float32', 'bfloat16', 'float16'];

/** [label, M, K, N]: A is [M, K], B is [K, N]. */
function shapes(quick) {
  const square = (quick ? [256, 512, 1024] : [256, 512, 1024, 2048]).map((n) => [`${n}³`, n, n, n]);
  const w1 = [
    ['W1 L1 fwd   x·W1ᵀ', 256, 784, 1024],
    ['W1 L1 bwd   dW1=dY1ᵀ·x', 1024, 256, 784],
    ['W1 L2 fwd   h·W2ᵀ (= L2 dX)', 256, 1024, 1024],
    ['W1 L2 bwd   dW2=dY2ᵀ·h', 1024, 256, 1024],
    ['W1 L3 fwd   h·W3ᵀ', 256, 1024, 10],
    ['W1 L3 bwd   dX=dY3·W3', 256, 10, 1024],
    ['W1 L3 bwd   dW3=dY3ᵀ·h', 10, 256, 1024],
  ];
  return [...square.map((s) => ['square', ...s]), ...w1.map((s) => ['w1', ...s])];
}

// A warm-up call first everywhere: the first call of a size also pays for fresh pages (the output,
// the GEMM's packing and accumulator buffers). 2048³ takes tens of milliseconds a call.
function repeatsFor(flops) {
  return { warmup: 1, repeats: flops < 1e8 ? 7 : 5 };
}

function gemmSection({ quick, peak, log = () => {} }) {
  const rows = [];
  mp.manualSeed(0);
  for (const [group, label, m, k, n] of shapes(quick)) {
    const flops = 2 * m * n * k;
    const { warmup, repeats } = repeatsFor(flops);
    const row = { group, label, m, k, n, repeats, results: {} };
    for (const dtype of dtypes) {
      const a = mp.keep(mp.tidy(() => mp.randn([m, k]).to(dtype)));
      const b = mp.keep(mp.tidy(() => mp.randn([k, n]).to(dtype)));
      const run = () => mp.tidy(() => { mp.matmul(a, b); });
      for (let i = 0; i < warmup; ++i) run();
      let best = Infinity;
      for (let r = 0; r < repeats; ++r) best = Math.min(best, timeMs(run));
      mp.dispose([a, b]);
      const gflops = flops / best / 1e6;
      const peakGflops = dtype === 'bfloat16' ? peak.bf16Gflops : peak.fp32Gflops;
      row.results[dtype] = { ms: best, gflops, pctOfPeak: peakGflops ? (100 * gflops) / peakGflops : undefined };
    }
    rows.push(row);
    log(row);
  }
  return { dtypes, rows, peakFor: { float32: 'fp32 FMA', bfloat16: 'bf16 dot', float16: 'fp32 FMA (no fp16 FMA on this path: fp16 is widened)' } };
}

module.exports = { gemmSection };
