// Runs inside a worker_thread: casts and reductions, then reports results and its own memory.
const { parentPort, workerData } = require('node:worker_threads');
const mp = require('../../dist');

const { seed, steps } = workerData;
let sum = 0;
mp.tidy(() => {
  for (let s = 0; s < steps; ++s) {
    const x = mp.full([1 << 16], seed + s, { dtype: 'bfloat16' }).to('float32').mul(0.5);
    sum += x.sum().item();
  }
});
const roundTrip = mp.tidy(() => {
  const v = mp.randn([1000]);
  const back = v.half().float();
  const a = v.dataSync();
  const b = back.dataSync();
  return a.every((x, i) => Math.abs(x - b[i]) <= Math.abs(x) * 2 ** -11);
});
const tensorsAfter = mp.memory().numTensors;
// Tensors still alive when the worker exits are freed by the environment's teardown.
if (workerData.leak) for (let i = 0; i < 100; ++i) mp.randn([1024]);
parentPort.postMessage({ sum, roundTrip, tensorsAfter });
