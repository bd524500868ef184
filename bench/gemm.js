#!/usr/bin/env node
// CPU GEMM speed as a percentage of this machine's probed peak. The peak comes from a built-in
// probe (native._test.peakProbe: a register-only loop of independent zmm FMAs, VDPBF16PS or AMX TDPBF16PS, on one
// thread), measured in the same run; GEMM GFLOP/s count 2*m*n*k, best of repeats, and
// "% of peak" divides by (probed per-thread peak x threads used).
//   npm run bench:gemm [-- --json [FILE]] [-- --repeats 5] [-- --sizes 256,512,1024,2048] [-- --reference]
//   MIXPREC_NUM_THREADS=1 npm run bench:gemm     (the 2 vCPUs of a small VM share one core)
'use strict';
const mp = require('../dist');
const { native } = require('../dist/native');
const { dtypeCode } = require('../dist/dtype');
const { hasAvx512, bf16Dot, bf16PeakKind } = require('./suite/backend');

const { json, printJson, numberOption, stringOption } = require('./cliArgs');

const repeats = numberOption('--repeats', 5);
const sizes = stringOption('--sizes', '256,512,1024,2048').split(',').map(Number);
const dtypes = stringOption('--dtypes', 'float32,bfloat16,float16').split(',');
// Also time the scalar reference (today's naive kernel) for the cases up to 1024^3.
const withReference = process.argv.includes('--reference');
const threads = mp.backend().numThreads;
const simd = mp.backend().simd;

// Best time of `repeats` runs of fn, each run looping enough to last ~50 ms.
function bestSeconds(fn, reps = repeats) {
  const t0 = process.hrtime.bigint();
  fn();
  const once = Number(process.hrtime.bigint() - t0) / 1e9;
  const inner = Math.max(1, Math.ceil(0.05 / Math.max(once, 1e-7)));
  let best = Infinity;
  for (let r = 0; r < reps; ++r) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < inner; ++i) fn();
    best = Math.min(best, Number(process.hrtime.bigint() - t) / 1e9 / inner);
  }
  return best;
}

// The probe's best over `count` short runs. Other work on the machine (an SMT sibling running
// FMAs halves this core's FMA rate) moves it, so each case is compared with probes taken right
// before and after it, and the table also shows the best probe of the whole run.
const { fma512, fma256 } = native.enums.peakKind;
const fp32Kind = hasAvx512(simd) ? fma512 : fma256;
const probeKinds = { float32: fp32Kind, bfloat16: bf16PeakKind(simd) ?? fp32Kind };
function probe(kind, count = 3) {
  let best = 0;
  for (let r = 0; r < count; ++r) best = Math.max(best, native._test.peakProbe(kind, 5e6));
  return best;
}
native._test.peakProbe(probeKinds.float32, 2e7);  // warm up (clock ramp)
const bestPeak = { float32: 0, bfloat16: 0 };
// float16 runs the float32 kernel after converting while packing, so its ceiling is fp32's.
const peakKey = (dtype) => (dtype === 'bfloat16' ? 'bfloat16' : 'float32');
function localPeak(dtype) {
  const key = peakKey(dtype);
  const p = probe(probeKinds[key]);
  bestPeak[key] = Math.max(bestPeak[key], p);
  return p;
}

// A matmul operand: a contiguous [rows, cols] tensor, or the transpose of a [cols, rows] one
// (read through strides, as mp.matmul(a.transpose(0, 1), b) does).
function operand(rows, cols, transposed, dtype) {
  const t = mp.randn(transposed ? [cols, rows] : [rows, cols]).to(dtype);
  return { t, rowStride: transposed ? 1 : cols, colStride: transposed ? rows : 1 };
}

function gemmCase(name, m, n, k, transA = false, transB = false) {
  return { name, m, n, k, transA, transB };
}
const cases = sizes.map((s) => gemmCase(`${s}^3`, s, s, s));
// W1: MLP 784-1024-1024-10 at batch 256 with Linear weights [out, in]: forward x·Wᵀ, backward
// dX = g·W and dW = gᵀ·x, plus the plain [256, in] x [in, out] forward.
for (const [inF, outF] of [[784, 1024], [1024, 1024], [1024, 10]]) {
  cases.push(gemmCase(`W1 [256,${inF}]x[${inF},${outF}]`, 256, outF, inF));
  cases.push(gemmCase(`W1 fwd x·Wᵀ ${inF}->${outF}`, 256, outF, inF, false, true));
  cases.push(gemmCase(`W1 dX g·W ${outF}->${inF}`, 256, inF, outF));
  cases.push(gemmCase(`W1 dW gᵀ·x [${outF},${inF}]`, outF, inF, 256, true, false));
}
const small = [gemmCase('small 4x4x4', 4, 4, 4), gemmCase('small 1xN [1,1024]x[1024,1024]', 1, 1024, 1024),
  gemmCase('small Nx1 [1024,1024]x[1024,1]', 1024, 1, 1024), gemmCase('small 16x16x16', 16, 16, 16)];

function runner(c, dtype, reference) {
  const a = operand(c.m, c.k, c.transA, dtype), b = operand(c.k, c.n, c.transB, dtype);
  const out = mp.empty([c.m, c.n], { dtype });
  const fn = reference ? native._test.matmulReference : native.matmul;
  const matrix = (x) => ({ storage: x.t.storage.handle, offset: x.t.offset, batchStrides: [], rowStride: x.rowStride, colStride: x.colStride });
  const args = { dtype: dtypeCode(dtype), a: matrix(a), b: matrix(b), out: { storage: out.storage.handle, offset: out.offset }, batchShape: [],
    m: c.m, n: c.n, k: c.k };
  const run = () => fn(args);
  return { run, dispose: () => mp.dispose([a.t, b.t, out]) };
}

const rows = [];
for (const dtype of dtypes) {
  for (const c of [...cases, ...small]) {
    const flops = 2 * c.m * c.n * c.k;
    const r = runner(c, dtype, false);
    const before = localPeak(dtype);
    const seconds = bestSeconds(r.run);
    const peak = Math.max(before, localPeak(dtype));
    let refGflops;
    if (withReference && flops <= 2 * 1024 ** 3) refGflops = flops / bestSeconds(runner(c, dtype, true).run, 2) / 1e9;
    r.dispose();
    const gflops = flops / seconds / 1e9;
    rows.push({
      dtype, case: c.name, m: c.m, n: c.n, k: c.k, ms: +(seconds * 1e3).toFixed(3), gflops: +gflops.toFixed(1),
      peakGflops: +peak.toFixed(1), percentOfPeak: +((100 * gflops) / (peak * threads)).toFixed(1),
      ...(refGflops === undefined ? {} : { referenceGflops: +refGflops.toFixed(2), speedup: +(gflops / refGflops).toFixed(1) }),
    });
  }
}
// The ratios the targets are stated in, at the largest size.
const largest = `${Math.max(...sizes)}^3`;
const at = (dtype) => rows.find((r) => r.dtype === dtype && r.case === largest);
const ratios = {
  bf16OverF32: at('bfloat16') && at('float32') ? +(at('bfloat16').gflops / at('float32').gflops).toFixed(2) : undefined,
  f16OverF32: at('float16') && at('float32') ? +(at('float16').gflops / at('float32').gflops).toFixed(2) : undefined,
};

const meta = { simd, threads, repeats, node: process.version,
  bestPeakGflopsPerThread: { float32: +bestPeak.float32.toFixed(1), bfloat16: +bestPeak.bfloat16.toFixed(1) } };
printJson({ ...meta, ratios, results: rows });
if (!json) {
  console.log(`CPU GEMM, simd ${simd}, ${threads} thread(s), best of ${repeats}`);
  console.log(`best probed peak per thread: float32 FMA ${meta.bestPeakGflopsPerThread.float32} GFLOP/s, bfloat16 ${({ amx: 'AMX TDPBF16PS', vdpbf16ps: 'VDPBF16PS' })[bf16Dot(simd)] ?? '(fp32 FMA)'} ${meta.bestPeakGflopsPerThread.bfloat16} GFLOP/s`);
  console.log('% peak: GFLOP/s / (peak probed just before and after the case x threads)');
  console.log(`dtype     case                                   ms        GFLOP/s   peak/thr  % peak${withReference ? '   ref GFLOP/s  speedup' : ''}`);
  for (const r of rows) {
    const ref = r.referenceGflops === undefined ? '' : `   ${String(r.referenceGflops).padStart(11)}  ${String(r.speedup).padStart(7)}`;
    console.log(`${r.dtype.padEnd(9)} ${r.case.padEnd(36)} ${String(r.ms).padStart(9)} ${String(r.gflops).padStart(10)} ${String(r.peakGflops).padStart(10)} ${String(r.percentOfPeak).padStart(7)}${withReference ? ref : ''}`);
  }
  console.log(`at ${largest}: bfloat16/float32 ${ratios.bf16OverF32}x, float16/float32 ${ratios.f16OverF32}x`);
}
