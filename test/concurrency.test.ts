// Two worker threads and the main thread each train their own model at the same time, with
// autocast in a different dtype / optimizer / model per thread; each run equals the same
// configuration trained alone on the main thread, bit for bit (every loss, every parameter byte,
// the final loss scale). The addon's thread pool and per-environment state are shared by all three.
// Took 12-32 s on the shared 2-core AVX2 machine, depending on the load.
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';

import * as mp from '../lib';
import { train, type TrainResult } from './helpers/trainRecipe';

const script = path.join(__dirname, 'helpers', 'trainWorker.js');

interface Started { worker: Worker; ready: Promise<void>; result: Promise<TrainResult> }

function startWorker(name: 'mlpBfloat16Sgd' | 'cnnBfloat16AdamW', seed: number): Started {
  const worker = new Worker(script, { workerData: { name, seed } });
  let onReady!: () => void;
  const ready = new Promise<void>((resolve) => { onReady = resolve; });
  const result = new Promise<TrainResult>((resolve, reject) => {
    worker.on('message', (m: 'ready' | { result: TrainResult }) => (m === 'ready' ? onReady() : resolve(m.result)));
    worker.once('error', reject);
    worker.once('exit', (code) => code !== 0 && reject(new Error(`worker exited with ${code}`)));
  });
  return { worker, ready, result };
}

/** Everything a run produced except its timing: losses as their float64 bit patterns. */
const outcome = (r: TrainResult) => ({
  losses: Buffer.from(new Float64Array(r.losses).buffer).toString('hex'),
  params: r.params,
  scale: r.scale,
  tensorsAfter: r.tensorsAfter,
});

test('three threads training at once with autocast equal the single-threaded runs bit for bit', async () => {
  const before = mp.memory().numTensors;
  const workers = [startWorker('mlpBfloat16Sgd', 11), startWorker('cnnBfloat16AdamW', 12)];
  await Promise.all(workers.map((w) => w.ready));
  // The main thread's run starts as the workers get 'go' and blocks this thread until done.
  const main = train(mp, 'mlpFloat16Scaler', 10, () => workers.forEach((w) => w.worker.postMessage('go')));
  const [bf16, cnn] = await Promise.all(workers.map((w) => w.result));
  await Promise.all(workers.map((w) => w.worker.terminate()));

  // The runs really overlapped in time: every run started before any run finished.
  const runs = [main, bf16, cnn];
  expect(Math.max(...runs.map((r) => r.startMs))).toBeLessThan(Math.min(...runs.map((r) => r.endMs)));

  const alone = {
    main: train(mp, 'mlpFloat16Scaler', 10),
    bf16: train(mp, 'mlpBfloat16Sgd', 11),
    cnn: train(mp, 'cnnBfloat16AdamW', 12),
  };
  expect(outcome(main)).toEqual(outcome(alone.main));
  expect(outcome(bf16)).toEqual(outcome(alone.bf16));
  expect(outcome(cnn)).toEqual(outcome(alone.cnn));
  // The float16 run's scaler grew (and did work), and the runs differ from each other.
  expect(alone.main.scale).toBeGreaterThan(65536);
  expect(new Set([outcome(main).losses, outcome(bf16).losses, outcome(cnn).losses]).size).toBe(3);
  expect(mp.memory().numTensors).toBe(before);
}, 120_000);
