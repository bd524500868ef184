// The CI soak of issue 15 (`npm run soak` runs the 10,000-step one): 1,000 W1 steps with autocast
// float16 + GradScaler. After warm-up, mp.memory()'s live bytes and tensor count stay exactly
// flat, RSS grows less than 5%, and the scaler skips exactly the steps whose gradients an
// independent host check finds non-finite. The short growth interval makes the scale grow into
// float16 overflow, so skipped steps and backoffs happen inside the run.
// Took 197 s on the shared 2-core AVX2 machine at a load average of about 5 (0.2 s a step); W1
// float16 steps of about 60 ms when the machine is quiet would make it roughly 70-90 s.
import * as mp from '../lib';
import { runSoak, verdict } from './helpers/soakRun';

test('1,000 W1 AMP float16 steps: memory flat, RSS bounded, every skip explained', async () => {
  const before = mp.memory().numTensors;
  const warmup = 200;
  const result = await runSoak(mp, { steps: 1000, warmup, sampleEvery: 50, growthInterval: 50 });
  const v = verdict(result, { warmup });
  expect(v.problems).toEqual([]);
  expect(v.rssGrowth).toBeLessThan(0.05);
  // The found-inf path really ran: overflows were skipped and backed off, clean runs grew.
  expect(result.statistics.backoffs).toBeGreaterThan(0);
  expect(result.statistics.growths).toBeGreaterThan(0);
  expect(result.skipped).toBe(result.nonFinite);
  expect(result.statistics.skippedSteps).toBe(result.skipped);
  expect(result.mismatches).toEqual([]);
  // It trained: the last 50 losses average well below the first step's (ln 10 ≈ 2.30 at start).
  const tail = result.losses.slice(-50).filter(Number.isFinite);
  expect(tail.reduce((a, b) => a + b, 0) / tail.length).toBeLessThan(result.losses[0] / 2);
  expect(mp.memory().numTensors).toBe(before);
}, 900_000);
