// The CI soak of issue 15 (`npm run soak` runs the 10,000-step one): 1,000 W1 steps with autocast
// float16 + GradScaler. After warm-up, mp.memory()'s live bytes and tensor count stay exactly
// flat, RSS grows less than the 5% (medians of three samples at each end), and the scaler
// skips exactly the steps whose gradients an independent host check finds non-finite. The short
// growth interval makes the scale grow into float16 overflow, so skipped steps and backoffs happen
// inside the run.
// It runs in a child process against dist/, as `npm run soak` does: a jest worker's RSS also
// carries the heaps of the test files it ran before.
// The host check reads the gradients into arrays allocated once (dataSync(out)); when it made
// fresh 3-4 MiB copies every step, RSS moved by up to 30 MiB between samples as V8 freed them
// late, and this test failed a 10% bar once in CI with nothing leaking (docs/reliability.md).
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

const root = path.join(__dirname, '..');
const script = `
const mp = require('./dist');
const { runSoak, verdict } = require('./test/helpers/soakRun');
(async () => {
  const before = mp.memory().numTensors;
  const result = await runSoak(mp, { steps: 1000, warmup: 200, sampleEvery: 50, growthInterval: 50 });
  const v = verdict(result, { warmup: 200, rssGrowthLimit: 0.05 });
  const { samples, ...rest } = result;
  process.stdout.write(JSON.stringify({ result: rest, problems: v.problems, rssGrowth: v.rssGrowth, leftOver: mp.memory().numTensors - before }));
})().catch((e) => { console.error(e); process.exitCode = 1; });
`;

test('1,000 W1 AMP float16 steps: memory flat, RSS bounded, every skip explained', () => {
  const out = execFileSync(process.execPath, ['--expose-gc', '-e', script], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 24 });
  const { result, problems, rssGrowth, leftOver } = JSON.parse(out);
  expect(problems).toEqual([]);
  expect(rssGrowth).toBeLessThan(0.05);
  // The found-inf path really ran: overflows were skipped and backed off, clean runs grew.
  expect(result.statistics.backoffs).toBeGreaterThan(0);
  expect(result.statistics.growths).toBeGreaterThan(0);
  expect(result.skipped).toBe(result.nonFinite);
  expect(result.statistics.skippedSteps).toBe(result.skipped);
  expect(result.mismatches).toEqual([]);
  // It trained: the last 50 losses average well below the first step's (ln 10 ≈ 2.30 at start).
  // Non-finite losses arrive as null through JSON.
  const tail = (result.losses as (number | null)[]).slice(-50).filter((x): x is number => Number.isFinite(x));
  expect(tail.reduce((a, b) => a + b, 0) / tail.length).toBeLessThan(result.losses[0] / 2);
  expect(leftOver).toBe(0);
}, 900_000);
