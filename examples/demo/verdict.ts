/**
 * What the demo's numbers mean on the machine that produced them: the backend line printed above
 * the table, and, where an AMP variant came out slower than float32, why on this machine and what
 * AMP still bought (peak memory, as measured). The console and the HTML report say the same.
 */
import * as mp from 'mixprec';

import type { DeviceType } from './args';
import { MB, type Row } from './table';
import type { RunResult } from './train';

const variantNames = { float32: 'float32', bfloat16: 'AMP bfloat16', float16: 'AMP float16' } as const;

/** One line: where the demo trained, the CPU's SIMD path and thread count, and CUDA. */
export function backendLine(device: DeviceType): string {
  const b = mp.backend();
  const simd = b.simd === b.simdDetected ? b.simd : `${b.simd} (capped; detected ${b.simdDetected})`;
  const gpu = mp.cuda.isAvailable()
    ? `CUDA ${b.cudaDeviceCount} device(s), compute capability ${mp.cuda.getDeviceCapability().join('.')}`
    : `CUDA unavailable (${b.cudaUnavailableReason})`;
  return `backend: training on ${device}; CPU SIMD path ${simd}, ${b.numThreads} threads; ${gpu}`;
}

/** Why 16-bit math is not faster on this device (one sentence). */
function whySlower(device: DeviceType, simd: string, variants: Set<RunResult['variant']>): string {
  if (device === 'cuda') {
    return 'This model is small (batch 128): on a GPU the per-step casts and the GradScaler\'s checks can cost more than 16-bit math saves; larger models gain.';
  }
  if (simd === 'avx512bf16') {
    const fp16 = variants.has('float16') ? ' float16 has no dot-product instruction on any x86 path here, so its math runs in float32 between casts.' : '';
    return `This CPU (SIMD path avx512bf16) multiplies bfloat16 with its dot-product instruction (VDPBF16PS), but this model is small: the per-step casts of the float32 weights and the 16-bit conversions in the elementwise passes cost more than the faster GEMMs save.${fp16}`;
  }
  return `This CPU class has no 16-bit dot-product instructions (SIMD path ${simd}; bfloat16 dot products need AVX-512-BF16): the 16-bit math is emulated, each value converted to float32, multiplied and added in float32, and rounded back to 16 bits, so AMP adds casts to every step and saves no arithmetic.`;
}

const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;

/** Peak training memory above what was live before the run (the digits on the CPU), MB, mean over seeds. */
function trainingPeakMB(results: RunResult[], variant: RunResult['variant']): number | undefined {
  const runs = results.filter((r) => r.variant === variant);
  return runs.length === 0 ? undefined : mean(runs.map((r) => (r.peakBytes - r.baselineBytes) / MB));
}

/** What AMP bought in memory, as measured: one sentence, or none without a float32 run to compare with. */
function memorySentence(results: RunResult[]): string | undefined {
  const fp32 = trainingPeakMB(results, 'float32');
  if (fp32 === undefined) return undefined;
  const amp = (['bfloat16', 'float16'] as const).flatMap((v) => {
    const mb = trainingPeakMB(results, v);
    if (mb === undefined) return [];
    const change = ((mb - fp32) / fp32) * 100;
    return [`${variantNames[v]} ${mb.toFixed(1)} MB (${change <= 0 ? '−' : '+'}${Math.abs(change).toFixed(0)}%)`];
  });
  if (amp.length === 0) return undefined;
  return `What AMP still buys here is memory: peak training memory (above what was live before each run) was ${fp32.toFixed(1)} MB in float32, ${amp.join(', ')}. Activations are kept in 16 bits while the parameters, gradients and Adam state stay float32, so the saving grows with batch size and depth (npm run bench's W3 CNN at batch 512 peaks at about half of float32).`;
}

/**
 * Sentences for the variants slower than float32 (speed-up below 1 in any seed): which ones, why
 * on this machine (`simd`: the CPU's SIMD path), and the memory they saved. Empty when every AMP
 * variant was at least as fast.
 */
export function speedNotes(rows: Row[], results: RunResult[], device: DeviceType, simd: string = mp.backend().simd): string[] {
  const slower = rows.filter((r) => r.variant !== 'float32' && r.speedup !== null && r.speedup < 1);
  if (slower.length === 0) return [];
  const variants = new Set(slower.map((r) => r.variant));
  const which = [...variants].map((v) => {
    const speedups = slower.filter((r) => r.variant === v).map((r) => `${(r.speedup as number).toFixed(2)}x`);
    return `${variantNames[v]} (${speedups.join(', ')} the float32 speed)`;
  });
  const notes = [`Slower than float32 on this machine: ${which.join('; ')}. ${whySlower(device, simd, variants)}`];
  const memory = memorySentence(results);
  if (memory !== undefined) notes.push(memory);
  return notes;
}
