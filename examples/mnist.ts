/**
 * The mixed-precision demo (`npm run demo`): trains the MNIST MLP (or the CNN, or with
 * `--model gpt` the GPT of examples/gpt/) three ways with
 * the same hyper-parameters, initial weights and batches (float32; AMP bfloat16 autocast; AMP
 * float16 autocast + GradScaler), shows progress on stderr, prints one comparison table and
 * writes an HTML report of the loss curves and the loss-scale trajectory.
 *
 *   npm run demo -- --model cnn --seeds 0,1,2 --epochs 10 --variants float32,bfloat16 --json
 *
 * Above the table it prints the backend (device, SIMD path, threads, CUDA); below it, where AMP was
 * slower than float32, why on this machine and what AMP saved in memory (demo/verdict.ts).
 *
 * The pieces are in examples/demo/: args, models, train (one run), progress, table, report.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

import * as mp from 'mixprec';

import { parseArgs, usage } from './demo/args';
import { Progress } from './demo/progress';
import { renderReport, type ReportMeta } from './demo/report';
import { compare, formatTable, MB } from './demo/table';
import { hyperParameters, lossEvery, trainVariant, type RunResult } from './demo/train';
import { backendLine, speedNotes } from './demo/verdict';
import { runGptDemo } from './gpt/demo';

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.help) {
    console.log(usage);
    return;
  }
  const device = args.device ?? (mp.cuda.isAvailable() ? 'cuda' : 'cpu');
  if (device === 'cuda' && !mp.cuda.isAvailable()) throw new Error('mnist: --device cuda was requested but CUDA is not available (this build or machine has no usable GPU); use --device cpu');
  if (device === 'cuda' && args.variants.includes('bfloat16') && !mp.cuda.isBf16Supported()) {
    throw new Error(`mnist: this GPU (compute capability ${mp.cuda.getDeviceCapability().join('.')}) has no bfloat16; use --variants ${args.variants.filter((v) => v !== 'bfloat16').join(',') || 'float32,float16'}`);
  }

  if (args.model === 'gpt') {
    await runGptDemo(args, device);
    return;
  }

  const { train, test } = mp.data.mnist();
  // A TensorDataset makes its host copy on a loader's first batch: do it before any timing, so
  // the first run (float32, the speed-up's reference) does not pay for it.
  for (const ds of [train, test]) {
    for (const batch of new mp.data.DataLoader(ds, { batchSize: 1 })) {
      mp.dispose(batch);
      break;
    }
  }
  const batches = Math.ceil(train.length / hyperParameters.batchSize);
  const progress = new Progress(args.seeds.length * args.variants.length);
  const results: RunResult[] = [];
  for (const seed of args.seeds) {
    for (const variant of args.variants) {
      progress.begin({ seed, variant, epochs: args.epochs, batches });
      results.push(await trainVariant({ model: args.model, seed, variant, epochs: args.epochs, device, train, test, progress }));
    }
  }
  progress.clearBar();
  mp.dispose([train.tensors, test.tensors]);

  const rows = compare(results);
  const meta: ReportMeta = {
    model: args.model,
    device: device === 'cuda' ? `cuda (${mp.cuda.getDeviceCapability().join('.')})` : `cpu (${mp.backend().simd}, ${mp.backend().numThreads} threads)`,
    epochs: args.epochs,
    seeds: args.seeds,
    variants: args.variants,
    batchSize: hyperParameters.batchSize,
    lr: hyperParameters.lr,
    lossEvery,
    trainDigits: train.length,
    testDigits: test.length,
    date: new Date().toISOString(),
    backend: backendLine(device),
    notes: speedNotes(rows, results, device),
  };
  const reportPath = resolve(args.report);
  writeFileSync(reportPath, renderReport(meta, results, rows));

  if (args.json || args.jsonFile !== undefined) {
    const seeds = args.seeds.map((seed) => ({
      seed,
      variants: Object.fromEntries(results.filter((r) => r.seed === seed).map((r) => {
        const row = rows[results.indexOf(r)];
        const { seed: _seed, variant: _variant, ...rest } = r;
        return [r.variant, { ...rest, deltaPointsVsFloat32: row.deltaPoints, speedupVsFloat32: row.speedup }];
      })),
    }));
    const document = JSON.stringify({ ...meta, optimizer: hyperParameters.optimizer, report: reportPath, seeds: args.seeds, results: seeds });
    if (args.jsonFile === undefined) {
      console.log(document);
      return;
    }
    writeFileSync(args.jsonFile, document + '\n');
  }
  console.log(meta.backend);
  console.log(formatTable(rows));
  const baseline = Math.max(...results.map((r) => r.baselineBytes)) / MB;
  console.log(`(peak MB: the ${device} device's peak tensor memory per run, including ${baseline.toFixed(1)} MB live before it${device === 'cpu' ? ' (the digits)' : ''})`);
  for (const note of meta.notes) console.log(note);
  console.log(`report: ${reportPath}`);
  if (args.jsonFile !== undefined) console.log(`JSON: ${resolve(args.jsonFile)}`);
}

main().catch((e: unknown) => {
  if (process.stderr.isTTY) process.stderr.write('\n');
  console.error(e instanceof Error && e.message.startsWith('mnist: ') ? e.message : e);
  process.exitCode = 1;
});
