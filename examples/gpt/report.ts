/** The GPT demo's HTML report: the table, loss curves per seed, the float16 loss scale and a sample per variant. */
import { colors, dashes, escapeHtml, labels, lineChart, page, seedColors, seedDashes } from '../demo/report';
import { gptColumns, type GptRow } from './results';
import type { TrainResult } from './train';

export interface GptReportMeta {
  preset: string;
  description: string;
  backend: string;
  date: string;
  notes: string[];
}

export function renderGptReport(meta: GptReportMeta, results: TrainResult[], rows: GptRow[], samples: Map<TrainResult, string>): string {
  const head = gptColumns.map(([h]) => `<th>${escapeHtml(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${gptColumns.map(([, cell], i) => `<td class="${i === 1 ? 'name' : 'num'}">${escapeHtml(cell(r))}</td>`).join('')}</tr>`).join('\n');
  const sections: string[] = [];
  for (const seed of [...new Set(results.map((r) => r.seed))]) {
    const runs = results.filter((r) => r.seed === seed);
    sections.push(`<h2>Seed ${seed}</h2>`, '<div class="charts">');
    sections.push(lineChart({
      title: `Training loss, seed ${seed}`,
      xLabel: 'step',
      yLabel: 'cross-entropy (log scale)',
      yScale: 'log10',
      series: runs.map((r) => ({ name: labels[r.variant], color: colors[r.variant], dash: dashes[r.variant], points: r.lossCurve.map((p) => ({ x: p.step, y: p.loss })) })),
    }));
    sections.push(lineChart({
      title: `Validation loss, seed ${seed}`,
      xLabel: 'step',
      yLabel: 'cross-entropy',
      yScale: 'linear',
      series: runs.map((r) => ({ name: labels[r.variant], color: colors[r.variant], dash: dashes[r.variant], points: r.valCurve.map((p) => ({ x: p.step, y: p.loss })) })),
    }));
    sections.push('</div>');
    for (const r of runs) {
      const sample = samples.get(r);
      if (sample !== undefined) sections.push(`<p><b>${escapeHtml(labels[r.variant])}</b> sample:</p><pre>${escapeHtml(sample)}</pre>`);
    }
  }
  const fp16 = results.filter((r) => r.variant === 'float16');
  if (fp16.length > 0) {
    sections.push('<h2>Loss scale (AMP float16 + GradScaler)</h2>');
    sections.push(`<p>Skipped steps: ${fp16.map((r) => `seed ${r.seed}: ${r.skippedSteps ?? '-'}`).join(', ')}.</p>`);
    sections.push(lineChart({
      title: 'Loss scale trajectory (float16)',
      xLabel: 'step',
      yLabel: 'loss scale (log scale)',
      yScale: 'log2',
      series: fp16.map((r, i) => ({ name: `seed ${r.seed}`, color: seedColors[i % seedColors.length], dash: seedDashes[i % seedDashes.length], steps: true, points: r.scaleCurve.map((p) => ({ x: p.step, y: p.scale })) })),
    }));
  }
  return page('mixprec mixed-precision GPT report', `<h1>Mixed-precision GPT: float32 vs AMP bfloat16 vs AMP float16 + GradScaler</h1>
<p>${escapeHtml(meta.description)}</p>
<p class="backend">${escapeHtml(meta.backend)}</p>
<div class="table-wrap">
<table>
<thead><tr>${head}</tr></thead>
<tbody>
${body}
</tbody>
</table>
</div>
${meta.notes.map((n) => `<p class="verdict">${escapeHtml(n)}</p>`).join('\n')}
<p class="note">Validation loss: mean cross-entropy (nats per token) over the same validation batches after the last step. Speed-up: tokens per second over the float32 run's (training steps only, evaluation excluded). Peak MB: the training device's peak tensor memory over the run. Generated ${escapeHtml(meta.date)} by <code>npm run demo -- --model gpt</code>.</p>
${sections.join('\n')}
`);
}
