/** The GPT demo's comparison (validation loss and speed against the float32 run of the same seed) and its text table. */
import { formatScale, MB } from '../demo/table';
import type { TrainResult } from './train';

export interface GptRow {
  seed: number;
  variant: TrainResult['variant'];
  valLoss: number;
  perplexity: number;
  /** Validation loss relative to the float32 run of the seed, percent; null without it (or for it). */
  deltaPercent: number | null;
  tokensPerSecond: number;
  /** This run's tokens/s over float32's; null without a float32 run of the seed. */
  speedup: number | null;
  peakMB: number;
  skippedSteps: number | null;
  finalScale: number | null;
}

export function compareGpt(results: TrainResult[]): GptRow[] {
  return results.map((r) => {
    const base = results.find((b) => b.seed === r.seed && b.variant === 'float32');
    return {
      seed: r.seed,
      variant: r.variant,
      valLoss: r.finalValLoss,
      perplexity: Math.exp(r.finalValLoss),
      deltaPercent: base && base !== r ? ((r.finalValLoss - base.finalValLoss) / base.finalValLoss) * 100 : null,
      tokensPerSecond: r.tokensPerSecond,
      speedup: base ? r.tokensPerSecond / base.tokensPerSecond : null,
      peakMB: r.peakBytes / MB,
      skippedSteps: r.skippedSteps,
      finalScale: r.finalScale,
    };
  });
}

const dash = '-';

/** The columns of the table, as [header, cell] pairs; the HTML report uses the same. */
export const gptColumns: [string, (r: GptRow) => string][] = [
  ['seed', (r) => String(r.seed)],
  ['variant', (r) => r.variant],
  ['val loss', (r) => r.valLoss.toFixed(4)],
  ['perplexity', (r) => r.perplexity.toFixed(1)],
  ['Δ vs fp32', (r) => (r.deltaPercent === null ? dash : `${r.deltaPercent >= 0 ? '+' : ''}${r.deltaPercent.toFixed(2)}%`)],
  ['tokens/s', (r) => r.tokensPerSecond.toFixed(0)],
  ['speed-up', (r) => (r.speedup === null ? dash : `${r.speedup.toFixed(2)}x`)],
  ['peak MB', (r) => r.peakMB.toFixed(1)],
  ['skipped', (r) => (r.skippedSteps === null ? dash : String(r.skippedSteps))],
  ['final scale', (r) => formatScale(r.finalScale)],
];

export function formatGptTable(rows: GptRow[]): string {
  const header = gptColumns.map(([h]) => h);
  const body = rows.map((r) => gptColumns.map(([, cell]) => cell(r)));
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 1 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}
