#!/usr/bin/env node
// The CPU benchmark suite, every ratio measured in this one run: backend and peak probe, GEMM
// GFLOP/s (square and the W1 MLP's shapes, float32 / bfloat16 / float16), W1 (MLP), W2 (GPT) and W3 (CNN)
// training steps in float32 / AMP bfloat16 / AMP float16 with speed-up and peak memory, the W1
// AMP overhead of autocast + GradScaler, the W1 step in TensorFlow.js, the same GEMMs and steps in
// PyTorch with mixprec/PyTorch ratios (when a Python with torch is there: bench/setup-torch.sh,
// docs/benchmarks.md), and the targets.
//   npm run bench [-- --quick] [-- --json [FILE]] [-- --only gemm,training,overhead,tfjs,torch]
//     --quick            no 2048³ GEMM, 8 W1 steps, W3 at batch 64, fewer pairs / TF.js steps
//     --steps N          W1 timed steps per variant (default 20; --quick 8)
//     --w2-steps N       W2 (GPT) timed steps per variant (default 10; --quick 4)
//     --w3-batch N       W3 batch (default 512; --quick 64)
//     --w3-budget S      W3 seconds of timed steps per variant: at least 3 steps, at most
//                        --w3-max-steps (default 20), stopping once S is spent (default 60; --quick 10)
//     --pairs N          overhead: paired step rounds per comparison (default 20; --quick 8)
//     --tfjs-steps N     TF.js timed steps (default 5; --quick 3)
//     torch: PyTorch runs whichever of gemm / training this run measured; MIXPREC_BENCH_PYTHON
//     picks the Python (bench/suite/torchAnchor.js). Each PyTorch training variant gets its own
//     child with a timeout: W1 and W2 120 s (--quick 60), W3 max(2 × --w3-budget, --w3-budget + 120) s.
// The sections are in bench/suite/*.js.
'use strict';
const { json, printJson, flag, numberOption, stringOption } = require('./cliArgs');
const { fixed, mb, table } = require('./suite/util');
const { backendSection, printBackend } = require('./suite/backend');
const { gemmSection } = require('./suite/gemmTable');
const { stepTimes, overhead } = require('./suite/trainingSteps');
const { tfjsSection } = require('./suite/tfjsStep');
const { targetsSection } = require('./suite/targets');
const { torchAnchorSection } = require('./suite/torchAnchor');

const quick = flag('--quick');
const only = new Set(stringOption('--only', 'gemm,training,overhead,tfjs,torch').split(','));
const o = {
  w1Steps: numberOption('--steps', quick ? 8 : 20),
  w2Steps: numberOption('--w2-steps', quick ? 4 : 10),
  w3Batch: numberOption('--w3-batch', quick ? 64 : 512),
  w3BudgetS: numberOption('--w3-budget', quick ? 10 : 60),
  w3MaxSteps: numberOption('--w3-max-steps', 20),
  pairs: numberOption('--pairs', quick ? 8 : 20),
  tfjsSteps: numberOption('--tfjs-steps', quick ? 3 : 5),
};
const say = json ? () => {} : (s = '') => console.log(s);
const progress = json ? () => {} : (s) => process.stderr.write(`  ... ${s}\n`);

function printGemm(g, peak) {
  const hasPeak = peak.available;
  const header = ['GEMM', 'M', 'K', 'N', 'best of'];
  for (const d of g.dtypes) header.push(`${d} GFLOP/s`, ...(hasPeak ? ['% peak'] : []));
  const rows = g.rows.map((r) => {
    const cells = [r.label, r.m, r.k, r.n, r.repeats];
    for (const d of g.dtypes) {
      const x = r.results[d];
      cells.push(fixed(x.gflops, 2), ...(hasPeak ? [x.pctOfPeak === undefined ? 'n/a' : `${fixed(x.pctOfPeak)}%`] : []));
    }
    return cells;
  });
  say(table(header, rows, header.map((_, i) => i).slice(1)));
  say(`mp.matmul on contiguous [M,K]x[K,N]; one mp.tidy(() => mp.matmul(a, b)) per repeat, best time; GFLOP/s = 2MNK / time.${hasPeak ? ' % peak: float32 and float16 against the fp32 FMA peak, bfloat16 against the bf16 dot peak.' : ''}`);
}

function printTraining(w) {
  say(`${w.name}, batch ${w.batch}: per variant ${w.warmup} warm-up step(s) and ${w.memorySteps} step(s) for peak memory; then the timed steps, interleaved across the variants (one of each per round, rotating order)`);
  const rows = w.rows.map((r) => [
    r.variant === 'float32' ? 'float32' : r.variant === 'bfloat16' ? 'AMP bfloat16' : 'AMP float16 + GradScaler',
    r.steps, fixed(r.medianMs), `${fixed(r.minMs)}–${fixed(r.maxMs)}`, `${fixed(r.speedup, 2)}×`, mb(r.peakBytes), `${fixed(r.peakRatio, 2)}×`, mb(r.residentBytes),
    r.skippedSteps === undefined ? '' : String(r.skippedSteps),
  ]);
  say(table(['variant', 'steps', 'median ms', 'range ms', 'speed-up', 'peak MiB', 'peak/fp32', 'resident MiB', 'skipped'], rows, [1, 2, 3, 4, 5, 6, 7, 8]));
  say(`speed-up: median over rounds of (float32 step / this step) in the same round; ratio of the medians: ${w.rows.slice(1).map((r) => `${r.variant} ${fixed(r.speedupOfMedians, 2)}×`).join(', ')}`);
}

function printOverhead(ov) {
  const c = ov.components;
  const sc = c.scaler;
  const e = ov.endToEnd;
  const iqr = (x) => `IQR ${fixed(x[0], 2)} to ${fixed(x[1], 2)} ms`;
  const cats = Object.entries(c.byCategory).map(([k, n]) => `${n} ${k}`).join(', ');
  say(`W1 AMP float16 + GradScaler step (batch ${ov.batch}): ${fixed(ov.ampStepMs)} ms median. Overhead = what autocast and the scaler add beyond the low-precision arithmetic and its casts.`);
  say(`components (verdict): ${fixed(c.addedMs, 3)} ms = ${fixed(c.pct, 3)}% of the step`);
  say(`  autocast dispatch: ${c.opsPerStep} dispatched op calls per step (${cats}; backward ops are not dispatched) × µs added per call,`);
  say(`    measured on tiny tensors with autocast on vs off (bench/autocast.js's method): ${fixed(c.perOpMicros.lowerPrecision, 2)} µs linear (cast-cache hit), ${fixed(c.perOpMicros.passThrough, 2)} µs relu = ${fixed(c.dispatchMs * 1000, 1)} µs`);
  say(`  GradScaler: scaler.step(opt) + update() ${fixed(sc.stepUpdateMs, 2)} ms vs opt.step() ${fixed(sc.optimizerStepMs, 2)} ms on W1's gradients (restored each round), + scale(loss) ${fixed(sc.scaleMs, 3)} ms`);
  say(`    = ${fixed(sc.addedMs, 2)} ms (median of ${sc.rounds} alternating rounds; ${iqr(sc.iqrMs)})`);
  say(`end to end (cross-check; medians of ${ov.pairs} paired whole steps, alternating order; noisy: can be negative): ${fixed(e.addedMs, 2)} ms = ${fixed(e.pct, 2)}%`);
  say(`  autocast: AMP bfloat16 step ${fixed(e.autocast.ampBf16Ms)} ms vs the same casts written by hand, no autocast, ${fixed(e.autocast.manualBf16Ms)} ms: ${fixed(e.autocast.addedMs, 2)} ms (${iqr(e.autocast.iqrMs)})`);
  say(`  scaler:   AMP float16 step with GradScaler ${fixed(e.scaler.withScalerMs)} ms vs without ${fixed(e.scaler.withoutScalerMs)} ms: ${fixed(e.scaler.addedMs, 2)} ms (${iqr(e.scaler.iqrMs)}; ${e.scaler.skippedSteps} steps skipped)`);
}

const simdClass = (simd) => ({ amx: 'AVX-512 with BF16 and AMX', avx512bf16: 'AVX-512 with BF16', avx512: 'AVX-512', f16c: 'AVX2 + FMA + F16C', scalar: 'no SIMD path' })[simd] ?? simd;

/** A PyTorch cell: the number, or why there is none (the reason goes to the notes under the table, once per torch and reason). */
function torchCell(x, value, notes, t) {
  if (x && x.error === undefined && x.skipped === undefined) return value(x);
  const note = `torch ${t.torch}: ${x?.error ?? x?.skipped ?? 'not run'}`;
  if (!notes.includes(note)) notes.push(note);
  return `n/a[${notes.indexOf(note) + 1}]`;
}

function printTorchAnchor(anchor, result) {
  const b = result.backend;
  say(`CPU: mixprec SIMD path ${b.simd} (${simdClass(b.simd)} class), ${b.numThreads} threads; ${b.cpuModel}`);
  const torches = anchor.torches.filter((t) => t.available);
  for (const t of anchor.torches) {
    say(t.available
      ? `PyTorch ${t.torch} (${t.executable}, Python ${t.pythonVersion}; BLAS ${t.blas ?? 'n/a'}, oneDNN ${t.onednn ?? 'n/a'}, CPU capability ${t.cpuCapability ?? 'n/a'}), ${t.threads} threads`
      : `PyTorch: none in ${t.python} (${t.reason}); see docs/benchmarks.md (bench/setup-torch.sh). Going on without it.`);
  }
  if (torches.length === 0) return;
  const notes = [];
  const ratioNote = '×: mixprec speed / PyTorch speed, > 1 means mixprec is faster';
  if (result.gemm) {
    const header = ['GEMM', 'M', 'K', 'N', 'dtype', 'mixprec GFLOP/s'];
    for (const t of torches) header.push(`torch ${t.torch}`, '×');
    const rows = [];
    for (const [i, r] of result.gemm.rows.entries()) {
      for (const d of result.gemm.dtypes) {
        const ours = r.results[d].gflops;
        const cells = [r.label, r.m, r.k, r.n, d, fixed(ours, 2)];
        for (const t of torches) {
          const x = t.gemm[i][d];
          cells.push(torchCell(x, (v) => fixed(v.gflops, 2), notes, t), x?.gflops ? `${fixed(ours / x.gflops, 2)}×` : '');
        }
        rows.push(cells);
      }
    }
    say(table(header, rows, [1, 2, 3, 5, ...torches.flatMap((_, i) => [6 + 2 * i, 7 + 2 * i])]));
    say(`GEMM: torch.matmul on the same shapes and dtypes, best of the same repeats after one warm-up; ${ratioNote}.`);
  }
  if (result.training) {
    say();
    const header = ['workload', 'variant', 'mixprec ms', 'mixprec peak MiB'];
    for (const t of torches) header.push(`torch ${t.torch} ms`, '×', 'steps', 'RSS peak MiB');
    const rows = [];
    for (const [wi, w] of result.training.entries()) {
      for (const r of w.rows) {
        const cells = [`${w.workload.toUpperCase()} batch ${w.batch}`, r.variant === 'float32' ? 'float32' : `AMP ${r.variant}`, fixed(r.medianMs), mb(r.peakBytes)];
        for (const t of torches) {
          const x = t.training[wi][r.variant];
          const ok = x.error === undefined;
          cells.push(torchCell(x, (v) => fixed(v.medianMs), notes, t),
            ok ? `${fixed(x.medianMs / r.medianMs, 2)}×` : '', ok ? String(x.steps) : '', ok ? mb(x.peakRssBytes) : '');
        }
        rows.push(cells);
      }
    }
    say(table(header, rows, [2, 3, ...torches.flatMap((_, i) => [4 + 4 * i, 5 + 4 * i, 6 + 4 * i, 7 + 4 * i])]));
    say(`steps: the same model, batch, optimizer and warm-up as above, one variant per child process, median of the timed steps (AMP bfloat16 = torch.autocast('cpu', torch.bfloat16); AMP float16 adds torch.amp.GradScaler('cpu')); ${ratioNote}.`);
    say('mixprec peak MiB counts its tensors (mp.memory()); RSS peak MiB is the whole PyTorch process (libraries included: compare the two only loosely).');
  }
  notes.forEach((n, i) => say(`[${i + 1}] ${n}`));
}

async function main() {
  const result = { quick, options: o };
  result.backend = await backendSection();
  say('== backend');
  if (!json) printBackend(result.backend);

  if (only.has('gemm')) {
    say('\n== GEMM');
    progress('GEMM');
    result.gemm = gemmSection({ quick, peak: result.backend.peak, log: (r) => progress(`${r.label}: ${Object.entries(r.results).map(([d, x]) => `${d} ${fixed(x.gflops, 2)}`).join(', ')} GFLOP/s`) });
    printGemm(result.gemm, result.backend.peak);
  }

  if (only.has('training')) {
    say('\n== training steps (random seeded data; float32 / autocast bfloat16 / autocast float16 + GradScaler)');
    const log = (w, r) => progress(`${w} ${r.variant}: ${r.steps} steps, median ${fixed(r.medianMs)} ms`);
    result.training = [
      await stepTimes('w1', { batch: 256, warmup: 2, minSteps: o.w1Steps, maxSteps: o.w1Steps, log }),
      await stepTimes('w2', { batch: 16, warmup: 2, minSteps: o.w2Steps, maxSteps: o.w2Steps, log }),
      await stepTimes('w3', { batch: o.w3Batch, warmup: 1, minSteps: 3, maxSteps: Math.max(3, o.w3MaxSteps), budgetMs: o.w3BudgetS * 1000, log }),
    ];
    for (const w of result.training) {
      printTraining(w);
      say();
    }
    say(`W3 convs: 3×3, padding 1 (28→28→28, pool →14, conv →14, pool →7), linear 128·7·7→10. W3 timed steps: at least 3, at most ${o.w3MaxSteps}, until ${o.w3BudgetS} s per variant.`);
    say('peak MiB: mp.memory() cpu peak over the memory step(s) (reset after warm-up); resident: bytes live at the reset (parameters, optimizer state, batch); skipped: float16 steps the GradScaler skipped (warm-up included).');
  }

  if (only.has('overhead')) {
    say('\n== autocast + GradScaler overhead');
    progress('overhead: paired W1 steps');
    result.overhead = await overhead({ batch: 256, warmup: 2, pairs: o.pairs, log: (k, p) => progress(`${k}: ${fixed(p.aMs)} vs ${fixed(p.bMs)} ms`) });
    printOverhead(result.overhead);
  }

  if (only.has('tfjs')) {
    say('\n== TensorFlow.js');
    result.tfjs = await tfjsSection({ warmup: 1, steps: o.tfjsSteps });
    if (!result.tfjs.installed) {
      say('tfjs: not installed');
    } else {
      const t = result.tfjs;
      const ours = result.training?.[0].rows[0];
      const vs = ours ? `; mixprec float32 W1 step ${fixed(ours.medianMs)} ms = ${fixed(t.medianMs / ours.medianMs, 2)}× faster than TF.js` : '';
      say(`tfjs ${t.version} (backend '${t.backend}'): W1 float32 step (Adam, softmaxCrossEntropy, batch ${t.batch}) median of ${t.steps}: ${fixed(t.medianMs)} ms${vs}`);
    }
  }

  if (only.has('torch') && (result.gemm || result.training)) {
    say('\n== PyTorch anchor (the same GEMMs and steps in PyTorch, this run)');
    const steps = { w1: { min: o.w1Steps, max: o.w1Steps, budgetS: 1e9 }, w2: { min: o.w2Steps, max: o.w2Steps, budgetS: 1e9 },
      w3: { min: 3, max: Math.max(3, o.w3MaxSteps), budgetS: o.w3BudgetS } };
    result.torch = torchAnchorSection({
      threads: result.backend.numThreads, gemm: result.gemm, training: result.training, stepsFor: (w) => steps[w],
      timeouts: { gemmS: quick ? 120 : 300, w1: quick ? 60 : 120, w2: quick ? 60 : 120, w3: Math.max(2 * o.w3BudgetS, o.w3BudgetS + 120) }, log: progress,
    });
    printTorchAnchor(result.torch, result);
  }

  result.targets = targetsSection(result);
  say('\n== targets');
  say(table(['target', 'measured', 'verdict', 'note'], result.targets.map((t) => [t.target, t.shown, t.verdict, t.note]), [1]));

  printJson(result);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
