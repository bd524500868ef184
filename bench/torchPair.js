#!/usr/bin/env node
'use strict';
// mixprec's float32 step against PyTorch's on one workload, in alternating blocks within one run
// (PyTorch block, mixprec block, ...), so both sides see the same machine state; prints each
// block's median step and the ratio of the medians of all blocks. A shorter, paired form of the
// bench's torch anchor for checking issue 17's float32 targets on a noisy machine.
// Usage: node bench/torchPair.js [w1|w2|w3] [blocks] [steps per block] [batch]
//   (build first: npm run build; PyTorch from bench/setup-torch.sh, or MIXPREC_BENCH_PYTHON)
const path = require('path');
const { spawnSync } = require('child_process');
const mp = require('../dist');
const { setup, makeData } = require('./suite/trainingSteps');
const { pythonCandidates } = require('./suite/torchAnchor');
const { timeMs, median } = require('./suite/util');

const [workload = 'w1', blocksArg, stepsArg, batchArg] = process.argv.slice(2);
const blocks = Number(blocksArg ?? 3);
const steps = Number(stepsArg ?? 15);
const batch = Number(batchArg ?? { w1: 256, w2: 16, w3: 512 }[workload]);
const threads = mp.backend().numThreads;
const python = pythonCandidates()[0];
const env = { ...process.env, OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) };
const cudaLib = path.join(process.env.CUDA_HOME || '/usr/local/cuda', 'lib64');
env.LD_LIBRARY_PATH = [env.LD_LIBRARY_PATH, cudaLib].filter(Boolean).join(':');

function torchBlock() {
  const r = spawnSync(python, [path.join(__dirname, 'torchBench.py'), 'train', '--workload', workload, '--variant', 'float32', '--batch', String(batch),
    '--warmup', '2', '--min-steps', String(steps), '--max-steps', String(steps), '--budget-s', '1e9', '--threads', String(threads)], { env, encoding: 'utf8' });
  const done = (r.stdout ?? '').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).find((l) => l.event === 'train');
  if (!done) throw new Error(`torchBench.py failed: ${(r.stderr ?? '').trim().split('\n').pop()}`);
  return { medianMs: done.medianMs, torch: done.torch ?? '' };
}

const run = setup(workload, 'float32', makeData(workload, batch));
for (let i = 0; i < 2; ++i) run.step();
const ours = [];
const theirs = [];
console.log(`${workload} float32, batch ${batch}, ${threads} threads, mp.backend().simd = ${mp.backend().simd}; ${blocks} blocks of ${steps} steps`);
for (let b = 0; b < blocks; ++b) {
  const t = torchBlock();
  const times = [];
  for (let i = 0; i < steps; ++i) times.push(timeMs(() => run.step()));
  ours.push(median(times));
  theirs.push(t.medianMs);
  console.log(`  block ${b + 1}: PyTorch ${t.medianMs.toFixed(1)} ms, mixprec ${median(times).toFixed(1)} ms (${(t.medianMs / median(times)).toFixed(2)}x)`);
}
run.dispose();
console.log(`  median of blocks: PyTorch ${median(theirs).toFixed(1)} ms, mixprec ${median(ours).toFixed(1)} ms: mixprec ${(median(theirs) / median(ours)).toFixed(2)}x PyTorch's speed`);
