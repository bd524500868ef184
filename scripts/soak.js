#!/usr/bin/env node
// The long soak of issue 15 (not in CI; test/soak.test.ts runs 1,000 steps): W1 with autocast
// float16 + GradScaler. Prints live bytes, tensor count and RSS every N steps, then the verdict
// (live bytes and tensor count flat after warm-up, RSS growth under 5%, every skipped step
// explained by a non-finite gradient). Exits 1 when the verdict fails.
//   npm run soak [-- --steps 10000] [-- --warmup 200] [-- --every 500] [-- --growth-interval 50]
'use strict';
const mp = require('../dist');
const { numberOption } = require('../bench/cliArgs');
const { runSoak, verdict } = require('../test/helpers/soakRun');

const steps = numberOption('--steps', 10000);
const warmup = numberOption('--warmup', 200);
const sampleEvery = numberOption('--every', 500);
const growthInterval = numberOption('--growth-interval', 50);

const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

async function main() {
  console.log(`soak: W1 (784-1024-1024-10, Adam, batch 256), autocast float16 + GradScaler (growthInterval ${growthInterval}), ${steps} steps, warm-up ${warmup}; backend ${mp.backend().simd}, ${mp.backend().numThreads} threads`);
  console.log('   step  live bytes  tensors         RSS  steps/s');
  const result = await runSoak(mp, {
    steps, warmup, sampleEvery, growthInterval,
    log: (s) => console.log(`${String(s.step).padStart(7)}  ${String(s.liveBytes).padStart(10)}  ${String(s.numTensors).padStart(7)}  ${mib(s.rssBytes).padStart(10)}  ${s.stepsPerSecond.toFixed(2).padStart(7)}`),
  });
  const v = verdict(result, { warmup });
  const st = result.statistics;
  console.log(`${steps} steps in ${result.seconds.toFixed(1)} s (${result.stepsPerSecond.toFixed(2)} steps/s); skipped ${result.skipped}, steps with non-finite gradients ${result.nonFinite}; scaler: ${st.growths} growths, ${st.backoffs} backoffs, final scale ${st.scale}`);
  console.log(`loss: first ${result.losses[0].toFixed(4)}, last ${result.losses[result.losses.length - 1].toFixed(4)}`);
  console.log(`after warm-up (step ${v.base.step} -> ${v.last.step}): live bytes ${v.base.liveBytes} -> ${v.last.liveBytes}, tensors ${v.base.numTensors} -> ${v.last.numTensors}, RSS (medians of three samples) ${mib(v.baseRss)} -> ${mib(v.lastRss)} (${(v.rssGrowth * 100).toFixed(2)}%)`);
  console.log(v.ok ? 'verdict: PASS' : `verdict: FAIL\n  ${v.problems.slice(0, 20).join('\n  ')}`);
  process.exitCode = v.ok ? 0 : 1;
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
