/**
 * The HTML report: one self-contained file (inline SVG and CSS, no scripts, no external assets)
 * with the results table, the loss curves of the variants per seed, the float16 loss-scale
 * trajectory and the test accuracy per epoch.
 */
import type { Variant } from './args';
import { formatScale, type Row } from './table';
import type { RunResult } from './train';

export interface ReportMeta {
  model: string;
  device: string;
  epochs: number;
  seeds: number[];
  variants: Variant[];
  batchSize: number;
  lr: number;
  lossEvery: number;
  trainDigits: number;
  testDigits: number;
  date: string;
  /** The backend line (device, SIMD path, threads, CUDA), as printed above the console table. */
  backend: string;
  /** Why AMP was slower than float32 here and what it saved, as printed below the console table. */
  notes: string[];
}

export const colors: Record<Variant, string> = { float32: '#1f77b4', bfloat16: '#2ca02c', float16: '#d62728' };
/** Dashes keep overlapping curves (the variants often coincide) visible. */
export const dashes: Record<Variant, string> = { float32: '', bfloat16: '7 4', float16: '2 3' };
export const seedColors = ['#d62728', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];
export const seedDashes = ['', '7 4', '2 3', '10 3 2 3'];
export const labels: Record<Variant, string> = { float32: 'float32', bfloat16: 'AMP bfloat16', float16: 'AMP float16 + GradScaler' };

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

type Scale = 'linear' | 'log10' | 'log2';

export interface Series {
  name: string;
  color: string;
  /** An SVG stroke-dasharray ('' for a solid line). */
  dash: string;
  points: { x: number; y: number }[];
  /** Draw as a step function (the loss scale holds its value until it changes). */
  steps?: boolean;
}

interface ChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  yScale: Scale;
  series: Series[];
  /** Vertical guide lines with labels (epoch boundaries). */
  xTicks?: { x: number; label: string }[];
  /** The left end of the x axis (default 0). */
  xMin?: number;
}

const fmt = (v: number): string => (Math.abs(v) >= 1e5 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(0) : String(Number(v.toPrecision(4))));

/** A log2 tick: small values as numbers, large powers of two as 2^k. */
function powerOfTwo(v: number): string {
  const k = Math.log2(v);
  return v < 1e4 || !Number.isInteger(k) ? formatScale(v) : `2^${k}`;
}

function niceTicks(lo: number, hi: number, count: number): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function logTicks(lo: number, hi: number, base: 2 | 10): number[] {
  const a = Math.floor(Math.log(lo) / Math.log(base));
  const b = Math.ceil(Math.log(hi) / Math.log(base));
  let ticks: number[] = [];
  for (let e = a; e <= b; ++e) ticks.push(base ** e);
  if (base === 10 && b - a <= 2) ticks = ticks.flatMap((t) => [t, 2 * t, 5 * t]);
  ticks = ticks.filter((t) => t >= lo * 0.999 && t <= hi * 1.001);
  const stride = Math.ceil(ticks.length / 8);
  return ticks.filter((_, i) => i % stride === 0);
}

/** An SVG line chart; non-finite (and, on a log axis, non-positive) values break the line. */
export function lineChart(spec: ChartSpec): string {
  const W = 680;
  const H = 340;
  const m = { left: 64, right: 16, top: 36, bottom: 68 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const usable = (y: number) => Number.isFinite(y) && (spec.yScale === 'linear' || y > 0);
  const all = spec.series.flatMap((s) => s.points);
  const ys = all.map((p) => p.y).filter(usable);
  const xs = all.map((p) => p.x);
  if (ys.length === 0 || xs.length === 0) return `<p class="empty">${escapeHtml(spec.title)}: no data.</p>`;
  const xMin = Math.min(spec.xMin ?? 0, ...xs);
  const xMax = Math.max(...xs, xMin + 1);
  let yMin = Math.min(...ys);
  let yMax = Math.max(...ys);
  if (spec.yScale === 'linear') {
    const pad = (yMax - yMin || Math.abs(yMax) || 1) * 0.05;
    yMin -= pad;
    yMax += pad;
  } else if (yMax <= yMin) {
    yMin /= 2;
    yMax *= 2;
  } else {
    yMin /= 1.1;
    yMax *= 1.1;
  }
  const t = (y: number): number => (spec.yScale === 'log10' ? Math.log10(y) : spec.yScale === 'log2' ? Math.log2(y) : y);
  const X = (x: number) => m.left + ((x - xMin) / (xMax - xMin)) * pw;
  const Y = (y: number) => m.top + ph - ((t(y) - t(yMin)) / (t(yMax) - t(yMin))) * ph;
  const r = (v: number) => v.toFixed(1);

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" role="img" aria-label="${escapeHtml(spec.title)}">`);
  out.push(`<title>${escapeHtml(spec.title)}</title>`);
  out.push(`<text x="${m.left}" y="20" font-size="14" font-weight="600" fill="#222">${escapeHtml(spec.title)}</text>`);
  // Axes, grid and tick labels.
  const yTicks = spec.yScale === 'linear' ? niceTicks(yMin, yMax, 5) : logTicks(yMin, yMax, spec.yScale === 'log2' ? 2 : 10);
  for (const v of yTicks) {
    const y = Y(v);
    if (y < m.top - 0.5 || y > m.top + ph + 0.5) continue;
    out.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${r(y)}" y2="${r(y)}" stroke="#eee" stroke-width="1"/>`);
    out.push(`<text x="${m.left - 6}" y="${r(y + 4)}" font-size="11" fill="#555" text-anchor="end">${escapeHtml(spec.yScale === 'log2' ? powerOfTwo(v) : fmt(v))}</text>`);
  }
  const xTicks = spec.xTicks ?? niceTicks(xMin, xMax, 6).map((x) => ({ x, label: fmt(x) }));
  const stride = Math.ceil(xTicks.length / 12);
  xTicks.forEach((tk, i) => {
    const x = X(tk.x);
    out.push(`<line x1="${r(x)}" x2="${r(x)}" y1="${m.top}" y2="${m.top + ph}" stroke="#eee" stroke-width="1"/>`);
    if (i % stride === 0 || i === xTicks.length - 1) out.push(`<text x="${r(x)}" y="${m.top + ph + 16}" font-size="11" fill="#555" text-anchor="middle">${escapeHtml(tk.label)}</text>`);
  });
  out.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#999" stroke-width="1"/>`);
  out.push(`<text x="${m.left + pw / 2}" y="${m.top + ph + 34}" font-size="12" fill="#333" text-anchor="middle">${escapeHtml(spec.xLabel)}</text>`);
  out.push(`<text x="14" y="${m.top + ph / 2}" font-size="12" fill="#333" text-anchor="middle" transform="rotate(-90 14 ${m.top + ph / 2})">${escapeHtml(spec.yLabel)}</text>`);
  // The series.
  for (const s of spec.series) {
    let d = '';
    let pen = false;
    for (const p of s.points) {
      if (!usable(p.y)) {
        pen = false;
        continue;
      }
      const x = r(X(p.x));
      const y = r(Y(p.y));
      if (!pen) d += `M${x} ${y}`;
      else if (s.steps) d += `H${x}V${y}`;
      else d += `L${x} ${y}`;
      pen = true;
    }
    if (d !== '') out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.8" stroke-linejoin="round"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}><title>${escapeHtml(s.name)}</title></path>`);
    if (s.points.length === 1 && usable(s.points[0].y)) out.push(`<circle cx="${r(X(s.points[0].x))}" cy="${r(Y(s.points[0].y))}" r="3" fill="${s.color}"/>`);
  }
  // Legend, in one row under the x axis label.
  let lx = m.left;
  for (const s of spec.series) {
    const y = H - 10;
    out.push(`<line x1="${lx}" x2="${lx + 24}" y1="${y - 4}" y2="${y - 4}" stroke="${s.color}" stroke-width="2.5"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
    out.push(`<text x="${lx + 30}" y="${y}" font-size="12" fill="#222">${escapeHtml(s.name)}</text>`);
    lx += 30 + 7 * s.name.length + 24;
  }
  out.push('</svg>');
  return out.join('\n');
}

function epochTicks(results: RunResult[], meta: ReportMeta): { x: number; label: string }[] | undefined {
  const curve = results.find((r) => r.lossCurve.length > 0)?.lossCurve;
  if (!curve) return undefined;
  const stepsPerEpoch = curve[curve.length - 1].step / meta.epochs;
  return Array.from({ length: meta.epochs + 1 }, (_, e) => ({ x: e * stepsPerEpoch, label: String(e) }));
}

function resultsTable(rows: Row[]): string {
  const cell = (v: string, cls = 'num') => `<td class="${cls}">${escapeHtml(v)}</td>`;
  const lines = rows.map((r) => `<tr>${[
    cell(String(r.seed)),
    cell(labels[r.variant], 'name'),
    cell(r.accuracyPercent.toFixed(2)),
    cell(r.deltaPoints === null ? '-' : `${r.deltaPoints >= 0 ? '+' : ''}${r.deltaPoints.toFixed(2)}`),
    cell(r.secondsPerEpoch.toFixed(2)),
    cell(r.speedup === null ? '-' : `${r.speedup.toFixed(2)}×`),
    cell(r.peakMB.toFixed(1)),
    cell(r.skippedSteps === null ? '-' : String(r.skippedSteps)),
    cell(formatScale(r.finalScale)),
  ].join('')}</tr>`);
  const head = ['seed', 'variant', 'test accuracy %', 'Δ vs float32 (points)', 's / epoch', 'speed-up vs float32', 'peak MB', 'skipped steps', 'final loss scale'];
  return `<table>\n<thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>\n<tbody>\n${lines.join('\n')}\n</tbody>\n</table>`;
}

/** Why a loss-scale line is flat: it grows only after `growthInterval` clean steps and falls only on an overflow. */
function flatScaleNote(flat: RunResult[]): string {
  const r = flat[0];
  const interval = r.growthInterval ?? 2000;
  const seeds = flat.length === 1 ? `seed ${r.seed}` : `seeds ${flat.map((f) => f.seed).join(', ')}`;
  const short = flat.every((f) => f.steps < interval);
  const clean = flat.every((f) => f.skippedSteps === 0);
  const growth = short
    ? `the scale doubles only after growthInterval = ${interval} consecutive steps without an inf/NaN gradient, and ${flat.length === 1 ? 'the run' : 'each run'} took ${flat.map((f) => f.steps).join(', ')} steps, fewer than ${interval}`
    : `the scale doubles only after growthInterval = ${interval} consecutive steps without an inf/NaN gradient`;
  const backoff = clean ? 'it halves only on a step whose gradients overflow, and none did' : 'it halves on a step whose gradients overflow';
  return `The line is flat for ${seeds} (at ${formatScale(r.scaleCurve[0].scale)}): ${growth}; ${backoff}. A flat line at the initial scale is the normal picture for a short float16 run.`;
}

export function renderReport(meta: ReportMeta, results: RunResult[], rows: Row[]): string {
  const sections: string[] = [];
  const ticks = epochTicks(results, meta);
  for (const seed of meta.seeds) {
    const runs = results.filter((r) => r.seed === seed);
    sections.push(`<h2>Seed ${seed}</h2>`);
    sections.push(`<div class="charts">`);
    sections.push(lineChart({
      title: `Training loss, seed ${seed} (mean of every ${meta.lossEvery} steps)`,
      xLabel: 'epoch',
      yLabel: 'cross-entropy loss (log scale)',
      yScale: 'log10',
      xTicks: ticks,
      series: runs.map((r) => ({ name: labels[r.variant], color: colors[r.variant], dash: dashes[r.variant], points: r.lossCurve.map((p) => ({ x: p.step, y: p.loss })) })),
    }));
    sections.push(lineChart({
      title: `Test accuracy after each epoch, seed ${seed}`,
      xLabel: 'epoch',
      yLabel: 'test accuracy %',
      yScale: 'linear',
      xTicks: Array.from({ length: meta.epochs }, (_, e) => ({ x: e + 1, label: String(e + 1) })),
      xMin: meta.epochs > 1 ? 1 : 0,
      series: runs.map((r) => ({ name: labels[r.variant], color: colors[r.variant], dash: dashes[r.variant], points: r.epochs.map((e) => ({ x: e.epoch, y: e.accuracy * 100 })) })),
    }));
    sections.push(`</div>`);
  }
  const fp16 = results.filter((r) => r.variant === 'float16');
  if (fp16.length > 0) {
    sections.push(`<h2>Loss scale (AMP float16 + GradScaler)</h2>`);
    sections.push(`<p>The GradScaler's scale, read every ${meta.lossEvery} steps; it halves on a step with an inf/NaN gradient (the step is skipped) and doubles after a run of clean steps. Skipped steps: ${fp16.map((r) => `seed ${r.seed}: ${r.skippedSteps ?? '-'}`).join(', ')}.</p>`);
    const flat = fp16.filter((r) => r.scaleCurve.every((p) => p.scale === r.scaleCurve[0].scale));
    if (flat.length > 0) sections.push(`<p>${escapeHtml(flatScaleNote(flat))}</p>`);
    sections.push(lineChart({
      title: 'Loss scale trajectory (float16)',
      xLabel: 'epoch',
      yLabel: 'loss scale (log scale)',
      yScale: 'log2',
      xTicks: ticks,
      series: fp16.map((r, i) => ({ name: `seed ${r.seed}`, color: seedColors[i % seedColors.length], dash: seedDashes[i % seedDashes.length], steps: true, points: r.scaleCurve.map((p) => ({ x: p.step, y: p.scale })) })),
    }));
  }
  const config = `MNIST ${escapeHtml(meta.model.toUpperCase())} on ${escapeHtml(meta.device)}, Adam lr ${meta.lr}, batch ${meta.batchSize}, ${meta.epochs} epoch${meta.epochs === 1 ? '' : 's'}, seeds ${escapeHtml(meta.seeds.join(', '))}; ${meta.trainDigits} training and ${meta.testDigits} test digits. Every variant of a seed starts from the same weights and sees the same batches.`;
  return page('mixprec mixed-precision MNIST report', `<h1>Mixed-precision MNIST: float32 vs AMP bfloat16 vs AMP float16 + GradScaler</h1>
<p>${config}</p>
<p class="backend">${escapeHtml(meta.backend)}</p>
<div class="table-wrap">
${resultsTable(rows)}
</div>
${meta.notes.map((n) => `<p class="verdict">${escapeHtml(n)}</p>`).join('\n')}
<p class="note">Speed-up: float32 seconds per epoch divided by the variant's (training steps only, same seed). Peak MB: the training device's peak tensor memory over the run, including what was live before it started (on the CPU, the digits themselves). Accuracy in the AMP variants is measured with the test pass in the same autocast scope. Generated ${escapeHtml(meta.date)} by <code>npm run demo</code> (examples/mnist.ts).</p>
${sections.join('\n')}
`);
}

/** A complete HTML page: the report's style sheet around `body`. */
export function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<title>${escapeHtml(title)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1440px; }
h1 { font-size: clamp(1.25em, 4.5vw, 2em); }
p { overflow-wrap: anywhere; }
/* On a narrow window the table scrolls sideways inside its box instead of widening the page. */
.table-wrap { max-width: 100%; overflow-x: auto; -webkit-overflow-scrolling: touch; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { padding: 4px 10px; border-bottom: 1px solid #ddd; }
th { text-align: left; background: #f4f4f4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
.charts > * { min-width: 0; }
/* Charts keep their 680x340 viewBox and shrink with the window (height follows the aspect ratio). */
svg { background: #fff; border: 1px solid #e4e4e4; max-width: 100%; height: auto; }
.backend { font-family: ui-monospace, monospace; font-size: 0.9em; }
.verdict { background: #fff8e1; border-left: 4px solid #f0b400; padding: 0.5em 0.75em; }
.note { color: #555; font-size: 0.9em; }
@media (max-width: 600px) {
  body { margin: 0.75em; }
  th, td { padding: 3px 6px; }
}
</style>
</head>
<body>
${body}</body>
</html>
`;
}
