/**
 * `npm run demo -- --model gpt`: trains the GPT of the chosen preset in float32, AMP bfloat16 and
 * AMP float16 + GradScaler from the same weights and batches, prints one table and a generated
 * sample per variant, and writes the HTML report.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

import * as mp from 'mixprec';

import type { Args, DeviceType } from '../demo/args';
import { Progress } from '../demo/progress';
import { backendLine } from '../demo/verdict';
import { presets } from './config';
import { loadGptData } from './data';
import { renderGptReport } from './report';
import { compareGpt, formatGptTable } from './results';
import { trainGpt, type TrainResult } from './train';

/** The prompt every sample continues. */
const prompt = 'The';

export async function runGptDemo(args: Args, device: DeviceType): Promise<void> {
  const config = presets[args.preset];
  const data = loadGptData(config.vocabSize, (line) => process.stderr.write(`${line}\n`));
  const progress = new Progress(args.seeds.length * args.variants.length);
  const results: TrainResult[] = [];
  const samples = new Map<TrainResult, string>();
  for (const seed of args.seeds) {
    for (const variant of args.variants) {
      progress.begin({ seed, variant, epochs: 1, batches: config.maxSteps });
      const r = await trainGpt({
        config, data, variant, seed, device, initScale: args.initScale,
        onStep: (step, loss, scale) => progress.step(1, step, loss, scale),
      });
      const start = mp.tensor([Array.from(data.tokenizer.encode(prompt))], { dtype: 'int32', device });
      // The sample is generated in the run's precision, as its validation loss was measured.
      const sample = (): mp.Tensor => r.model.generate(start, { maxNewTokens: Math.min(60, config.model.blockSize - start.shape[1]), temperature: 0.8, topK: 40, generator: new mp.Generator(seed) });
      const generated = variant === 'float32' ? sample() : mp.amp.autocast({ deviceType: device, dtype: variant }, sample);
      samples.set(r, data.tokenizer.decode(Array.from(generated.dataSync())));
      mp.dispose([start, generated]);
      r.model.dispose();
      results.push(r);
      progress.runDone(`val loss ${r.finalValLoss.toFixed(4)}  ${r.tokensPerSecond.toFixed(0)} tokens/s${r.skippedSteps === null ? '' : `  skipped ${r.skippedSteps}  scale ${r.finalScale}`}`);
    }
  }
  progress.clearBar();

  const rows = compareGpt(results);
  const m = config.model;
  const description = `GPT preset '${args.preset}': ${m.nLayer} layers, ${m.nHead} heads, width ${m.nEmbd}, context ${m.blockSize}, byte-pair vocabulary ${data.tokenizer.vocabSize}; ` +
    `AdamW lr ${config.lr} (warm-up ${config.warmupSteps}, cosine to ${config.minLr}), batch ${config.batchSize}×${config.gradAccumSteps}, ${config.maxSteps} steps; ` +
    `Brown corpus, ${data.trainTokens.length} training and ${data.validationTokens.length} validation tokens. Every variant of a seed starts from the same weights and sees the same batches.`;
  const meta = { preset: args.preset, description, backend: backendLine(device), date: new Date().toISOString(), notes: [] as string[] };
  const reportPath = resolve(args.report);
  writeFileSync(reportPath, renderGptReport(meta, results, rows, samples));
  const document = (): string => JSON.stringify({
    ...meta,
    config,
    report: reportPath,
    results: results.map((r, i) => {
      const { model: _model, ...rest } = r;
      return { ...rest, ...rows[i], sample: samples.get(r) };
    }),
  });
  if (args.json && args.jsonFile === undefined) {
    console.log(document());
    return;
  }
  if (args.jsonFile !== undefined) writeFileSync(args.jsonFile, document() + '\n');
  console.log(meta.backend);
  console.log(formatGptTable(rows));
  for (const r of results) console.log(`\nseed ${r.seed} ${r.variant} sample:\n${samples.get(r)}`);
  console.log(`\nreport: ${reportPath}`);
  if (args.jsonFile !== undefined) console.log(`JSON: ${resolve(args.jsonFile)}`);
}
