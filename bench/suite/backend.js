// The backend line: SIMD path active and detected, threads, and the native peak probe when this
// build has one (`native._test.peakProbe`, feature-detected: builds without it say so).
'use strict';
const os = require('node:os');
const mp = require('../../dist');
const { native } = require('../../dist/native');

/**
 * The native peak probe (`native._test.peakProbe(kind, iterations)`: a register-only loop of
 * independent FMAs — zmm or ymm — or VDPBF16PS, on one thread, in GFLOP/s; kinds in native.enums.peakKind),
 * best of 5 after a warm-up. "% of peak" divides by this × the threads GEMM uses; on a VM whose
 * vCPUs are SMT siblings of one core that overstates the ceiling (they share the FMA units).
 */
function probePeak() {
  if (typeof native._test?.peakProbe !== 'function') return { available: false };
  const { simd, numThreads } = mp.backend();
  const kinds = native.enums.peakKind;
  const fp32Kind = simd === 'avx512' || simd === 'avx512bf16' ? kinds.fma512 : kinds.fma256;
  try {
    native._test.peakProbe(fp32Kind, 2e7);
    const best = (kind) => Math.max(...Array.from({ length: 5 }, () => native._test.peakProbe(kind, 5e6)));
    const fp32 = best(fp32Kind);
    const bf16 = simd === 'avx512bf16' ? best(kinds.dpbf16) : undefined;
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

module.exports = { backendSection, printBackend };
