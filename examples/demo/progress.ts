/**
 * Progress on stderr (stdout keeps the table or the JSON). On a terminal: one live bar, and a
 * line per finished run. Elsewhere (CI logs, redirects): no bar, one line per epoch.
 */
import type { Variant } from './args';
import type { EpochRecord } from './train';

export interface RunLabel {
  seed: number;
  variant: Variant;
  epochs: number;
  batches: number;
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

const percent = (fraction: number): string => `${(fraction * 100).toFixed(2)}%`;

export class Progress {
  private readonly stream = process.stderr;
  private readonly tty = process.stderr.isTTY === true;
  private run: RunLabel | undefined;
  private runIndex = 0;
  private runStart = 0;
  private lastDraw = 0;
  private lastLoss: number | undefined;
  private lastScale: number | undefined;
  private barShown = false;

  constructor(private readonly totalRuns: number) {}

  /** A new run starts (one seed, one variant). */
  begin(run: RunLabel): void {
    this.run = run;
    ++this.runIndex;
    this.runStart = performance.now();
    this.lastLoss = undefined;
    this.lastScale = undefined;
    this.lastDraw = 0;
    if (!this.tty) this.stream.write(`run ${this.runIndex}/${this.totalRuns}: seed ${run.seed}, ${run.variant}, ${run.epochs === 1 ? `${run.batches} steps` : `${run.epochs} epochs of ${run.batches} batches`}\n`);
  }

  /** After every training step; `loss` and `scale` when they were just read. */
  step(epoch: number, batch: number, loss?: number, scale?: number): void {
    if (loss !== undefined) this.lastLoss = loss;
    if (scale !== undefined) this.lastScale = scale;
    if (!this.tty || !this.run) return;
    const now = performance.now();
    if (now - this.lastDraw < 100 && batch !== this.run.batches) return;
    this.lastDraw = now;
    const run = this.run;
    const done = ((epoch - 1) * run.batches + batch) / (run.epochs * run.batches);
    const elapsed = (now - this.runStart) / 1000;
    const head = `[${this.runIndex}/${this.totalRuns}] seed ${run.seed} ${run.variant}`;
    const position = `${String(batch).padStart(String(run.batches).length)}/${run.batches}`;
    const parts = [run.epochs === 1 ? `step ${position}` : `epoch ${epoch}/${run.epochs} ${position}`];
    if (this.lastLoss !== undefined) parts.push(`loss ${this.lastLoss.toFixed(4)}`);
    parts.push(`${duration(elapsed)}, eta ${duration(done > 0 ? (elapsed / done) * (1 - done) : Number.NaN)}`);
    if (this.lastScale !== undefined) parts.push(`scale ${this.lastScale}`);
    // The bar takes what is left of the line, 10 to 30 characters; on a narrow terminal the
    // last parts are left out whole (never cut mid-number).
    const columns = this.stream.columns || 80; // 0 on a terminal of unknown size
    const width = Math.max(10, Math.min(30, columns - 1 - head.length - parts.join('  ').length - 4));
    const filled = Math.round(done * width);
    let line = `${head} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
    for (const part of parts) {
      if (line.length + 2 + part.length > columns - 1) break;
      line += ` ${line.endsWith(']') ? '' : ' '}${part}`;
    }
    this.stream.write(`\r${line}\x1b[K`);
    this.barShown = true;
  }

  /** After an epoch's test pass. */
  epochDone(e: EpochRecord): void {
    const run = this.run;
    if (!run) return;
    if (!this.tty) {
      let line = `  seed ${run.seed} ${run.variant.padEnd(8)} epoch ${String(e.epoch).padStart(String(run.epochs).length)}/${run.epochs}  loss ${e.loss.toFixed(4)}  test accuracy ${percent(e.accuracy)}  ${e.seconds.toFixed(1)} s`;
      if (e.skippedSteps !== undefined) line += `  skipped ${e.skippedSteps}  scale ${e.scale}`;
      this.stream.write(`${line}\n`);
    } else if (e.epoch === run.epochs) {
      this.clearBar();
      const total = (performance.now() - this.runStart) / 1000;
      let line = `run ${this.runIndex}/${this.totalRuns}: seed ${run.seed} ${run.variant.padEnd(8)} ${run.epochs} epoch${run.epochs === 1 ? '' : 's'} in ${duration(total)}  loss ${e.loss.toFixed(4)}  test accuracy ${percent(e.accuracy)}`;
      if (e.skippedSteps !== undefined) line += `  skipped ${e.skippedSteps}  scale ${e.scale}`;
      this.stream.write(`${line}\n`);
    }
  }

  /** After a run measured in steps rather than epochs (the GPT demo): one line with `summary`. */
  runDone(summary: string): void {
    const run = this.run;
    if (!run) return;
    this.clearBar();
    const total = (performance.now() - this.runStart) / 1000;
    this.stream.write(`run ${this.runIndex}/${this.totalRuns}: seed ${run.seed} ${run.variant.padEnd(8)} ${run.batches} steps in ${duration(total)}  ${summary}\n`);
  }

  /** Removes the live bar (call before printing anything else). */
  clearBar(): void {
    if (this.tty && this.barShown) this.stream.write('\r\x1b[K');
    this.barShown = false;
  }
}
