#!/usr/bin/env node
'use strict';
// AMP's speed against float32 on one workload, read the way the bench's targets read it: the
// variants' steps interleaved round by round (so a noisy neighbour slows every variant alike),
// then per variant the median step and the median of its per-round ratios to float32.
// Usage: node bench/ampRatio.js [w1|w2|w3] [rounds] [batch] [variants]   (build first: npm run build)
//   variants: comma-separated, default float32,bfloat16,float16; the first is the baseline
//   (float32,float32 is an A/A run: how far the method reads from 1.0 on identical work).
const { setup, makeData, variants: allVariants } = require('./suite/trainingSteps');
const { timeMs, median } = require('./suite/util');

const [workload = 'w1', roundsArg, batchArg, variantsArg] = process.argv.slice(2);
const variants = variantsArg ? variantsArg.split(',') : allVariants;
const rounds = Number(roundsArg ?? 20);
const data = makeData(workload, batchArg === undefined || batchArg === '' ? { w1: 256, w2: 16, w3: 64 }[workload] : Number(batchArg));
const runs = variants.map((mode) => setup(workload, mode, data));
for (const r of runs) for (let i = 0; i < 2; ++i) r.step();
const times = variants.map(() => []);
// The order rotates each round, so no variant always runs right after the same one.
for (let round = 0; round < rounds; ++round) {
  for (let j = 0; j < runs.length; ++j) {
    const v = (round + j) % runs.length;
    times[v].push(timeMs(() => runs[v].step()));
  }
}
for (const r of runs) r.dispose();
console.log(`${workload}, ${rounds} interleaved rounds (mp.backend().simd = ${require('../dist').backend().simd})`);
variants.forEach((mode, v) => {
  const ratio = median(times[0].map((t, i) => t / times[v][i]));
  console.log(`  ${mode.padEnd(9)} median ${median(times[v]).toFixed(2).padStart(8)} ms  speed vs the first (median of per-round ratios) ${ratio.toFixed(3)}x`);
});
