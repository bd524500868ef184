// PyTorch as the anchor: the GEMMs and W1/W3 training steps this run measured in mixprec, timed
// again in PyTorch (bench/torchBench.py in a child Python) with the same shapes, batch, optimizer,
// warm-up and step counts and mp.backend().numThreads threads.
//   MIXPREC_BENCH_PYTHON         the Python with torch; default .venv-torch/bin/python (made by
//                                bench/setup-torch.sh) when it exists, else python3
//   MIXPREC_BENCH_PYTHON_SECOND  a second column (default /usr/bin/python3: Debian's python3-torch);
//                                left out when it has no torch or the same torch as the first;
//                                set it to '' to turn it off
// Each training variant runs in its own child with a timeout, so a variant with no fast path on this
// CPU (bfloat16 convolutions without AVX-512-BF16, say) is cut short instead of stalling the bench;
// what the child had printed before (its warm-up step times) is kept.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.join(__dirname, '..', '..');
const script = path.join(root, 'bench', 'torchBench.py');

function pythonCandidates() {
  const venv = path.join(root, '.venv-torch', 'bin', 'python');
  const first = process.env.MIXPREC_BENCH_PYTHON || (fs.existsSync(venv) ? venv : 'python3');
  const second = process.env.MIXPREC_BENCH_PYTHON_SECOND ?? '/usr/bin/python3';
  return second && second !== first ? [first, second] : [first];
}

/**
 * Where the CUDA runtime that nvcc ships lives: the PyTorch wheels link libcudart even on a CPU-only
 * run, and a machine whose loader does not list that folder still finds it this way.
 */
function childEnv(threads) {
  const env = { ...process.env, OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) };
  const cudaLib = path.join(process.env.CUDA_HOME || '/usr/local/cuda', 'lib64');
  if (fs.existsSync(cudaLib)) env.LD_LIBRARY_PATH = [env.LD_LIBRARY_PATH, cudaLib].filter(Boolean).join(':');
  return env;
}

/** Runs torchBench.py; returns its JSON lines, and whether the timeout cut it short. */
function runPython(python, args, { threads, timeoutS }) {
  const r = spawnSync(python, [script, ...args, '--threads', String(threads)], {
    env: childEnv(threads), encoding: 'utf8', timeout: timeoutS * 1000, killSignal: 'SIGKILL', maxBuffer: 64 << 20,
  });
  const lines = (r.stdout ?? '').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  const timedOut = r.error?.code === 'ETIMEDOUT';
  const stderr = (r.stderr ?? '').trim().split('\n').filter(Boolean);
  const failure = r.error && !timedOut ? r.error.message : r.status !== 0 && !timedOut ? stderr[stderr.length - 1] ?? `exit ${r.status}` : undefined;
  return { lines, timedOut, failure };
}

/** The torch in `python`, or why there is none (no such Python, no torch module). */
function probe(python, threads) {
  const r = runPython(python, ['info'], { threads, timeoutS: 120 });
  const info = r.lines.find((l) => l.event === 'info');
  if (!info) return { python, available: false, reason: r.timedOut ? 'import torch took over 120 s' : r.failure ?? 'no output' };
  return { python, available: true, ...info };
}

function gemmRows(t, gemm, { threads, timeoutS, log }) {
  const shapes = gemm.rows.map((r) => [r.label, r.m, r.k, r.n, r.repeats]);
  const r = runPython(t.python, ['gemm', '--shapes', JSON.stringify(shapes), '--dtypes', gemm.dtypes.join(',')], { threads, timeoutS });
  const results = r.lines.filter((l) => l.event === 'gemm');
  for (const x of results) log(`torch ${t.torch} GEMM ${x.label} ${x.dtype}: ${x.gflops === undefined ? x.error ?? x.skipped : `${x.gflops.toFixed(2)} GFLOP/s`}`);
  const missing = r.timedOut ? `timed out (${timeoutS} s for all GEMMs)` : r.failure ?? 'no result';
  return gemm.rows.map((row) => Object.fromEntries(gemm.dtypes.map((d) => {
    const x = results.find((l) => l.label === row.label && l.m === row.m && l.k === row.k && l.n === row.n && l.dtype === d);
    return [d, x ?? { error: missing }];
  })));
}

function trainingRow(t, w, variant, { threads, timeoutS, steps, log }) {
  const args = ['train', '--workload', w.workload, '--variant', variant, '--batch', String(w.batch), '--warmup', String(w.warmup),
    '--min-steps', String(steps.min), '--max-steps', String(steps.max), '--budget-s', String(steps.budgetS)];
  const r = runPython(t.python, args, { threads, timeoutS });
  const done = r.lines.find((l) => l.event === 'train');
  const warmupMs = r.lines.filter((l) => l.event === 'warmup').map((l) => l.ms);
  const row = done ?? { error: r.lines.find((l) => l.event === 'error')?.error
    ?? (r.timedOut ? `timed out after ${timeoutS} s${warmupMs.length ? ` (warm-up step(s): ${warmupMs.map((ms) => `${(ms / 1000).toFixed(1)} s`).join(', ')})` : ' in the first step'}` : r.failure ?? 'no result') };
  log(`torch ${t.torch} ${w.workload} ${variant}: ${row.error ?? `${row.steps} steps, median ${row.medianMs.toFixed(1)} ms`}`);
  return { ...row, warmupMs };
}

/**
 * The PyTorch runs for what this run measured (`gemm` and/or `training`, as bench/index.js
 * returns them). `stepsFor(workload)` gives the timed-step rule mixprec used: {min, max, budgetS}.
 */
function torchAnchorSection({ threads, gemm, training, stepsFor, timeouts, log = () => {} }) {
  const torches = [];
  for (const python of pythonCandidates()) {
    const t = probe(python, threads);
    if (t.available && torches.some((o) => o.torch === t.torch)) continue;
    if (!t.available && torches.length > 0) continue;
    torches.push(t);
  }
  for (const t of torches.filter((x) => x.available)) {
    if (gemm) t.gemm = gemmRows(t, gemm, { threads, timeoutS: timeouts.gemmS, log });
    if (training) {
      t.training = training.map((w) => Object.fromEntries(w.rows.map((r) => [r.variant,
        trainingRow(t, w, r.variant, { threads, timeoutS: timeouts[w.workload], steps: stepsFor(w.workload), log })])));
    }
  }
  return { torches };
}

module.exports = { torchAnchorSection, pythonCandidates };
