// The addon is context-aware: it loads in worker_threads and runs there while the main thread
// computes too, each environment with its own memory accounting.
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';

import * as mp from '../lib';

const script = path.join(__dirname, 'helpers', 'workerTask.js');

function runWorker(seed: number, leak = false): Promise<{ sum: number; roundTrip: boolean; tensorsAfter: number }> {
  return new Promise((resolve, reject) => {
    const w = new Worker(script, { workerData: { seed, steps: 40, leak } });
    w.once('message', resolve);
    w.once('error', reject);
    w.once('exit', (code) => code !== 0 && reject(new Error(`worker exited with ${code}`)));
  });
}

/** The same computation as workerTask.js, on this thread. */
function expectedSum(seed: number, steps: number): number {
  return mp.tidy(() => {
    let total = 0;
    for (let s = 0; s < steps; ++s) {
      const x = mp.full([1 << 16], seed + s, { dtype: 'bfloat16' }).to('float32').mul(0.5);
      total += x.sum().item() as number;
    }
    return total;
  });
}

test('workers and the main thread compute concurrently and correctly', async () => {
  const before = mp.memory().numTensors;
  const pending = [runWorker(1), runWorker(2), runWorker(3)];
  // Main-thread work while the workers run.
  const mainSum = expectedSum(7, 40);
  const results = await Promise.all(pending);
  results.forEach((r, i) => {
    expect(r.roundTrip).toBe(true);
    expect(r.sum).toBe(expectedSum(i + 1, 40));
    expect(r.tensorsAfter).toBe(0);
  });
  expect(mainSum).toBe(expectedSum(7, 40));
  expect(mp.memory().numTensors).toBe(before);
}, 60_000);

test('the addon loads again in a new worker after the first has exited with live tensors', async () => {
  const first = await runWorker(4, true);
  const second = await runWorker(4);
  expect(second.sum).toBe(first.sum);
}, 60_000);

test('worker memory is its own: the main thread\'s report does not change', async () => {
  const before = mp.memory();
  await runWorker(5, true);
  const after = mp.memory();
  expect(after.numTensors).toBe(before.numTensors);
  expect(after.numBytes).toBe(before.numBytes);
}, 60_000);
