/**
 * The comparison each run is judged by (accuracy and speed against the float32 run of the same
 * seed), and the text table printed at the end.
 */
import type { RunResult } from './train';

export interface Row {
  seed: number;
  variant: RunResult['variant'];
  /** Final test accuracy, percent. */
  accuracyPercent: number;
  /** Accuracy minus the float32 run's of the same seed, in points; null without that run (or for it). */
  deltaPoints: number | null;
  secondsPerEpoch: number;
  /** float32 seconds per epoch / this run's; null without a float32 run of the seed. */
  speedup: number | null;
  peakMB: number;
  skippedSteps: number | null;
  finalScale: number | null;
}

export const MB = 1024 * 1024;

export function compare(results: RunResult[]): Row[] {
  return results.map((r) => {
    const base = results.find((b) => b.seed === r.seed && b.variant === 'float32');
    return {
      seed: r.seed,
      variant: r.variant,
      accuracyPercent: r.finalAccuracy * 100,
      deltaPoints: base && base !== r ? (r.finalAccuracy - base.finalAccuracy) * 100 : null,
      secondsPerEpoch: r.secondsPerEpoch,
      speedup: base ? base.secondsPerEpoch / r.secondsPerEpoch : null,
      peakMB: r.peakBytes / MB,
      skippedSteps: r.skippedSteps,
      finalScale: r.finalScale,
    };
  });
}

const dash = '-';
const signed = (v: number, digits: number): string => `${v >= 0 ? '+' : ''}${v.toFixed(digits)}`;
export const formatScale = (s: number | null): string => (s === null ? dash : Number.isInteger(s) ? String(s) : s.toPrecision(4));

/** One line per seed×variant, columns aligned; numbers are right-aligned. */
export function formatTable(rows: Row[]): string {
  const header = ['seed', 'variant', 'test acc %', 'Δ vs fp32', 's/epoch', 'speed-up', 'peak MB', 'skipped', 'final scale'];
  const body = rows.map((r) => [
    String(r.seed),
    r.variant,
    r.accuracyPercent.toFixed(2),
    r.deltaPoints === null ? dash : signed(r.deltaPoints, 2),
    r.secondsPerEpoch.toFixed(2),
    r.speedup === null ? dash : `${r.speedup.toFixed(2)}x`,
    r.peakMB.toFixed(1),
    r.skippedSteps === null ? dash : String(r.skippedSteps),
    formatScale(r.finalScale),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const leftAligned = new Set([1]);
  const line = (cells: string[]) => cells.map((c, i) => (leftAligned.has(i) ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}
