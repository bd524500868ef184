// The performance targets, each with the value this run measured and HOLDS / MISSES (or N/A when
// the run could not measure it: no peak probe, or 2048³ skipped by --quick).
'use strict';
const { fixed } = require('./util');

function verdict(value, ok) {
  if (value === undefined || value === null || Number.isNaN(value)) return 'N/A';
  return ok ? 'HOLDS' : 'MISSES';
}

function targetsSection({ backend, gemm, training, overhead }) {
  const out = [];
  const add = (target, value, shown, ok, note = '') => out.push({ target, value, shown, verdict: verdict(value, ok), note });
  const peak = backend.peak;

  if (gemm) {
    // --quick skips 2048³: the ratio targets then use 1024³ (the %-of-peak ones need 2048³).
    const big = gemm.rows.find((r) => r.group === 'square' && r.m === 2048);
    const ratioRow = big ?? gemm.rows.find((r) => r.group === 'square' && r.m === 1024);
    const ratioAt = ratioRow ? `${ratioRow.m}³` : '2048³';
    const quickNote = big ? '' : '--quick: 1024³, not 2048³';
    const g = (dt) => big?.results[dt];
    const f32 = g('float32');
    const bf16 = g('bfloat16');
    const pctF32 = f32 && peak.fp32Gflops ? (100 * f32.gflops) / peak.fp32Gflops : undefined;
    const pctBf16 = bf16 && peak.bf16Gflops ? (100 * bf16.gflops) / peak.bf16Gflops : undefined;
    const why = [big ? '' : 'not measured with --quick', peak.available ? '' : 'no peak probe in this build'].filter(Boolean).join('; ');
    add('float32 GEMM 2048³ ≥ 85% of probed fp32 peak', pctF32, pctF32 === undefined ? `${fixed(f32?.gflops)} GFLOP/s` : `${fixed(pctF32)}%`, pctF32 >= 85, why);
    add('bfloat16 GEMM 2048³ ≥ 85% of probed bf16 peak', pctBf16, pctBf16 === undefined ? `${fixed(bf16?.gflops)} GFLOP/s` : `${fixed(pctBf16)}%`, pctBf16 >= 85, why);
    const r = (dt) => ratioRow?.results[dt];
    const bfX = ratioRow ? r('bfloat16').gflops / r('float32').gflops : undefined;
    add(`bfloat16 GEMM ${ratioAt} ≥ 2× our float32`, bfX, `${fixed(bfX, 2)}×`, bfX >= 2, quickNote);
    const fX = ratioRow ? r('float16').gflops / r('float32').gflops : undefined;
    add(`float16 GEMM ${ratioAt} ≥ 0.9× our float32`, fX, `${fixed(fX, 2)}×`, fX >= 0.9, quickNote);
  }
  if (training) {
    for (const w of training) {
      const bf = w.rows.find((r) => r.variant === 'bfloat16');
      const tag = `${w.workload.toUpperCase()} (batch ${w.batch})`;
      if (w.workload === 'w2') {
        // The GPT issue's target: a speed-up where BF16 dot products exist, never a slow-down elsewhere.
        const bf16Dot = backend.simd === 'avx512bf16';
        const bar = bf16Dot ? 1.8 : 1;
        add(`${tag} AMP bfloat16 step ≥ ${bar}× float32 (${bf16Dot ? 'BF16 dot products' : 'no BF16 dot products'})`, bf.speedup, `${fixed(bf.speedup, 2)}×`, bf.speedup >= bar);
        const peak = bf.peakRatio;
        add(`${tag} AMP bfloat16 peak memory ≤ 0.65× float32`, peak, `${fixed(peak, 2)}×`, peak <= 0.65, 'the issue sets it at batch 32, block 256');
        continue;
      }
      add(`${tag} AMP bfloat16 step ≥ 2× faster than float32`, bf.speedup, `${fixed(bf.speedup, 2)}×`, bf.speedup >= 2);
      if (w.workload === 'w1') {
        const f32 = w.rows.find((r) => r.variant === 'float32');
        add(`${tag} float32 step ≤ 35 ms`, f32.medianMs, `${fixed(f32.medianMs)} ms`, f32.medianMs <= 35, w.batch === 256 ? '' : 'batch differs from the spec');
      }
      if (w.workload === 'w3') {
        for (const v of ['bfloat16', 'float16']) {
          const r = w.rows.find((x) => x.variant === v);
          add(`${tag} AMP ${v} peak memory ≤ 0.6× float32`, r.peakRatio, `${fixed(r.peakRatio, 2)}×`, r.peakRatio <= 0.6, w.batch === 512 ? '' : 'batch 512 in the full run');
        }
      }
    }
  }
  if (overhead) {
    const c = overhead.components;
    add('W1 AMP autocast + GradScaler overhead ≤ 5% of the AMP step', c.pct, `${fixed(c.pct, 2)}%`, c.pct <= 5,
      `components; end to end (noisy): ${fixed(overhead.endToEnd.pct, 1)}%`);
  }
  return out;
}

module.exports = { targetsSection };
