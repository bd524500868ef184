// The DDP step overhead of W1 (MLP 784-1024-1024-10, Adam lr 1e-3, float32), one process per
// rank on this machine: run as `mpirun -np 2 node bench/ddpStep.js [perRankBatch] [steps]`
// (add --allow-run-as-root --oversubscribe as needed). Every rank times, in one launch:
//   local     the same step without DDP (every rank trains alone, at the same time, so the
//             processes share the cores as in the DDP runs),
//   lockstep  `local` followed by a barrier: the step ends when the slowest rank's does, as a
//             DDP step must, but nothing is communicated (the cost of running in lockstep),
//   ddp       DistributedDataParallel as configured by default (25 MiB buckets: fc3 + fc2 in a
//             first bucket reduced while fc1's gradient is computed, fc1 in a second),
//   deferred  one bucket for everything (bucketCapMb 1e6): the reduction starts only when the
//             last gradient is ready, so nothing overlaps with backward,
//   allreduce the average all-reduce of all of W1's gradients (7.1 MiB float32) alone.
// The modes take turns in rounds of 5 steps. Rank 0 prints the median step time of each (ms) and
// the DDP overhead against `local`.
'use strict';
const mp = require('../dist');

const batch = Number(process.argv[2] ?? 64);
const steps = Number(process.argv[3] ?? 20);
const warmup = 3;

function w1() {
  mp.manualSeed(0);
  return new mp.nn.Sequential(new mp.nn.Linear(784, 1024), new mp.nn.ReLU(), new mp.nn.Linear(1024, 1024), new mp.nn.ReLU(), new mp.nn.Linear(1024, 10));
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** A training step of `model` on this rank's batch, ready to time. */
function stepper(model) {
  const opt = new mp.optim.Adam(model.parameters(), { lr: 1e-3 });
  mp.manualSeed(1 + mp.distributed.getRank());
  const x = mp.keep(mp.randn([batch, 784]));
  const y = mp.keep(mp.randint(0, 10, [batch]));
  return () => mp.tidy(() => {
    opt.zeroGrad();
    mp.nn.functional.crossEntropy(model.forward(x), y).backward();
    opt.step();
  });
}

function allReducer() {
  const flat = mp.keep(mp.zeros([w1().parameters().reduce((n, p) => n + p.numel, 0)]));
  return () => mp.distributed.allReduce(flat, { op: 'avg' });
}

mp.distributed.initProcessGroup({ backend: 'mpi' });
const world = mp.distributed.getWorldSize();
const localStep = stepper(w1());
const modes = {
  local: localStep,
  lockstep: () => {
    localStep();
    mp.distributed.barrier();
  },
  ddp: stepper(new mp.nn.parallel.DistributedDataParallel(w1())),
  deferred: stepper(new mp.nn.parallel.DistributedDataParallel(w1(), { bucketCapMb: 1e6 })),
  allreduce: allReducer(),
};
// Rounds of 5 steps of each mode in turn, so a load change on the machine hits every mode alike.
const times = Object.fromEntries(Object.keys(modes).map((m) => [m, []]));
for (const [name, run] of Object.entries(modes)) for (let i = 0; i < warmup; ++i) run();
for (let round = 0; round < Math.ceil(steps / 5); ++round) {
  for (const [name, run] of Object.entries(modes)) {
    for (let i = 0; i < 5; ++i) {
      mp.distributed.barrier();
      const start = performance.now();
      run();
      times[name].push(performance.now() - start);
    }
  }
}
const result = Object.fromEntries(Object.entries(times).map(([m, t]) => [m, median(t)]));
if (mp.distributed.getRank() === 0) {
  const ms = (v) => `${v.toFixed(1)} ms`;
  console.log(`W1 float32, ${world} ranks, ${batch} rows per rank, median of ${Math.ceil(steps / 5) * 5} steps per mode, interleaved (${mp.backend().simd}, ${mp.backend().numThreads} threads per process)`);
  console.log(`  local step (no DDP)          ${ms(result.local)}`);
  console.log(`  local step + barrier         ${ms(result.lockstep)}`);
  console.log(`  DDP step (25 MiB buckets)    ${ms(result.ddp)}  (+${ms(result.ddp - result.local)}, ${((result.ddp / result.local - 1) * 100).toFixed(0)}%)`);
  console.log(`  DDP step (one bucket at end) ${ms(result.deferred)}  (+${ms(result.deferred - result.local)}, ${((result.deferred / result.local - 1) * 100).toFixed(0)}%)`);
  console.log(`  all-reduce of the gradients  ${ms(result.allreduce)}`);
  console.log(JSON.stringify(result));
}
mp.distributed.destroyProcessGroup();
