// The backend line: SIMD path active and detected, threads, and the native peak probe when this
// build has one (`native._test.peakProbe`, feature-detected: builds without it say so).
'use strict';
const os = require('node:os');
const mp = require('../../dist');
const { native } = require('../../dist/native');

/**
 * The native peak probe (`native._test.peakProbe(kind, iterations)`: a register-only loop of
 * independent FMAs — zmm or ymm — VDPBF16PS, or AMX TDPBF16PS, on one thread, in GFLOP/s; kinds in native.enums.peakKind),
 * best of 5 after a warm-up. "% of peak" divides by this × the threads GEMM uses; on a VM whose
 * vCPUs are SMT siblings of one core that overstates the ceiling (they share the FMA units).
 */
/** Whether a SIMD path has zmm registers (its float32 kernel uses zmm FMAs). */
function hasAvx512(simd) {
  return ['avx512', 'avx512bf16', 'amx'].includes(simd);
}

/**
 * The bfloat16 multiply a path's GEMM runs: AMX tiles ('amx'), VDPBF16PS ('vdpbf16ps'), or none
 * (null: bfloat16 is widened to float32 and runs the FMA kernel).
 */
function bf16Dot(simd) {
  return simd === 'amx' ? 'amx' : simd === 'avx512bf16' ? 'vdpbf16ps' : null;
}

/** The peak-probe kind of a path's bfloat16 dot product, or undefined without one. */
function bf16PeakKind(simd, kinds = native.enums.peakKind) {
  const dot = bf16Dot(simd);
  return dot === 'amx' ? kinds.amxbf16 : dot === 'vdpbf16ps' ? kinds.dpbf16 : undefined;
}

function probePeak() {
  if (typeof native._test?.peakProbe !== 'function') return { available: false };
  const { simd, numThreads } = mp.backend();
  const kinds = native.enums.peakKind;
  const fp32Kind = hasAvx512(simd) ? kinds.fma512 : kinds.fma256;
  try {
    native._test.peakProbe(fp32Kind, 2e7);
    const best = (kind) => Math.max(...Array.from({ length: 5 }, () => native._test.peakProbe(kind, 5e6)));
    const fp32 = best(fp32Kind);
    const bf16Kind = bf16PeakKind(simd, kinds);
    const bf16 = bf16Kind === undefined ? undefined : best(bf16Kind);
    return {
      available: true,
      threads: numThreads,
      perThread: { fp32Gflops: fp32, bf16Gflops: bf16 },
      fp32Gflops: fp32 * numThreads,
      bf16Gflops: bf16 === undefined ? undefined : bf16 * numThreads,
    };
  } catch (e) {
    return { available: false, error: String(e && e.message ? e.message : e) };
  }
}

async function backendSection() {
  const b = mp.backend();
  const peak = probePeak();
  return {
    simd: b.simd,
    simdDetected: b.simdDetected,
    numThreads: b.numThreads,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    node: process.version,
    peak,
  };
}

function printBackend(r) {
  console.log(`backend: SIMD ${r.simd} active (detected ${r.simdDetected}), ${r.numThreads} threads; ${r.cpus} CPUs (${r.cpuModel}); node ${r.node}`);
  const p = r.peak;
  if (p.available) {
    const f = (x) => (x === undefined ? 'no bf16 dot-product on this path' : `${x.toFixed(1)} GFLOP/s`);
    console.log(`peak probe (one thread): float32 FMA ${f(p.perThread.fp32Gflops)}, bfloat16 dot-product ${f(p.perThread.bf16Gflops)}; % of peak below uses ${p.threads} thread(s) × this`);
  } else {
    console.log(`peak probe: not available in this build${p.error ? ` (peakProbe threw: ${p.error})` : ''}`);
  }
}

module.exports = { backendSection, printBackend, hasAvx512, bf16Dot, bf16PeakKind };
