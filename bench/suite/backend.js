// The backend line: SIMD path active and detected, threads, and the native peak probe when this
// build has one (`native.peakProbe`, feature-detected: builds without it say so).
'use strict';
const os = require('node:os');
const mp = require('../../dist');
const { native } = require('../../dist/native');

// A probe result may name its figures in a few ways; GFLOP/s unless the value is clearly FLOP/s.
const fp32Keys = ['float32', 'fp32', 'fp32Gflops', 'float32Gflops', 'fp32Fma', 'fma'];
const bf16Keys = ['bfloat16', 'bf16', 'bf16Gflops', 'bfloat16Gflops', 'bf16Dot', 'dpbf16'];

function pick(result, keys) {
  for (const k of keys) {
    const v = result[k];
    const n = typeof v === 'object' && v !== null ? (v.gflops ?? v.GFLOPs ?? v.value) : v;
    if (typeof n === 'number' && Number.isFinite(n) && n > 0) return n > 1e6 ? n / 1e9 : n;
  }
  return undefined;
}

/** { available, fp32Gflops, bf16Gflops, raw } from native.peakProbe(), or { available: false }. */
async function probePeak() {
  if (typeof native.peakProbe !== 'function') return { available: false };
  try {
    const raw = await native.peakProbe();
    const r = typeof raw === 'object' && raw !== null ? raw : {};
    return { available: true, fp32Gflops: pick(r, fp32Keys), bf16Gflops: pick(r, bf16Keys), raw };
  } catch (e) {
    return { available: false, error: String(e && e.message ? e.message : e) };
  }
}

async function backendSection() {
  const b = mp.backend();
  const peak = await probePeak();
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
    const f = (x) => (x === undefined ? 'not reported' : `${x.toFixed(1)} GFLOP/s`);
    console.log(`peak probe: float32 FMA ${f(p.fp32Gflops)}, bfloat16 dot-product ${f(p.bf16Gflops)} (all ${r.numThreads} threads)`);
  } else {
    console.log(`peak probe: not available in this build${p.error ? ` (peakProbe threw: ${p.error})` : ''}`);
  }
}

module.exports = { backendSection, printBackend };
