// The performance targets, each with the value this run measured and HOLDS / MISSES (or N/A when
// the run could not measure it: no peak probe, or 2048³ skipped by --quick).
'use strict';
const { fixed } = require('./util');
const { bf16Dot } = require('./backend');

function verdict(value, ok) {
  if (value === undefined || value === null || Number.isNaN(value)) return 'N/A';
  return ok ? 'HOLDS' : 'MISSES';
}

/** The first PyTorch 2.x the anchor ran (issue 17 measures against current PyTorch), or undefined. */
function currentTorch(torch) {
  return torch?.torches.find((t) => t.available && Number(String(t.torch).split('.')[0]) >= 2);
}

/**
 * Issue 17's targets: float32 against PyTorch 2.x, AMP against our float32 per CPU class, and
 * memory. Ratios are speeds (> 1: mixprec faster); PyTorch's numbers come from this same run.
 */
function cpuSpeedTargets({ backend, gemm, training, torch }, add) {
  const t = currentTorch(torch);
  const tag = t ? `PyTorch ${t.torch}` : 'PyTorch 2.x';
  const noTorch = t ? '' : 'no PyTorch 2.x in this run (bench/setup-torch.sh)';
  if (gemm) {
    const i = gemm.rows.findIndex((r) => r.group === 'square' && r.m === 2048);
    const ours = i >= 0 ? gemm.rows[i].results.float32.gflops : undefined;
    const theirs = i >= 0 ? t?.gemm?.[i]?.float32?.gflops : undefined;
    const x = ours && theirs ? ours / theirs : undefined;
    add(`float32 GEMM 2048³ ≥ 1.0× ${tag}`, x, `${fixed(x, 2)}×`, x >= 1, i < 0 ? 'not measured with --quick' : noTorch);
  }
  for (const [wi, w] of (training ?? []).entries()) {
    const name = `${w.workload.toUpperCase()} (batch ${w.batch})`;
    const row = (v) => w.rows.find((r) => r.variant === v);
    const f32 = row('float32');
    const theirs = t?.training?.[wi]?.float32;
    const x = theirs?.medianMs && f32 ? theirs.medianMs / f32.medianMs : undefined;
    const bar = w.workload === 'w2' ? 1.0 : 1.2;
    add(`${name} float32 step ≥ ${bar}× ${tag}`, x, `${fixed(x, 2)}×`, x >= bar, theirs?.error ?? noTorch);
    const bf = row('bfloat16');
    const f16 = row('float16');
    add(`${name} AMP bfloat16 step ≥ 1.0× our float32 (${backend.simd})`, bf.speedup, `${fixed(bf.speedup, 2)}×`, bf.speedup >= 1);
    if (bf16Dot(backend.simd) && w.workload !== 'w2') {
      const fast = w.workload === 'w1' ? 1.7 : 2.3;
      add(`${name} AMP bfloat16 step ≥ ${fast}× our float32 (BF16 dot products)`, bf.speedup, `${fixed(bf.speedup, 2)}×`, bf.speedup >= fast);
    }
    const within = f16 && bf ? f16.speedup / bf.speedup : undefined;
    add(`${name} AMP float16 + GradScaler within 10% of AMP bfloat16`, within, `${fixed(within, 2)}×`, within >= 0.9);
    if (w.workload === 'w3') {
      add(`${name} AMP bfloat16 tensor peak ≤ 0.55× our float32`, bf.peakRatio, `${fixed(bf.peakRatio, 2)}×`, bf.peakRatio <= 0.55);
      const theirPeak = theirs?.peakRssBytes;
      const peakX = theirPeak && f32.peakBytes ? f32.peakBytes / theirPeak : undefined;
      add(`${name} float32 memory ≤ ${tag}'s`, peakX, `${fixed(peakX, 2)}× (tensor peak / its process RSS peak)`, peakX <= 1,
        theirPeak ? 'our tensor peak against its whole-process peak (about 500 MB of which is the library)' : noTorch);
    }
  }
}

function targetsSection({ backend, gemm, training, overhead, torch }) {
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
        const dot = bf16Dot(backend.simd);
        const bar = dot ? 1.8 : 1;
        add(`${tag} AMP bfloat16 step ≥ ${bar}× float32 (${dot ? 'BF16 dot products' : 'no BF16 dot products'})`, bf.speedup, `${fixed(bf.speedup, 2)}×`, bf.speedup >= bar);
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
  cpuSpeedTargets({ backend, gemm, training, torch }, add);
  if (overhead) {
    const c = overhead.components;
    add('W1 AMP autocast + GradScaler overhead ≤ 5% of the AMP step', c.pct, `${fixed(c.pct, 2)}%`, c.pct <= 5,
      `components; end to end (noisy): ${fixed(overhead.endToEnd.pct, 1)}%`);
  }
  return out;
}

module.exports = { targetsSection };
