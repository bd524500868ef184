// One rank of test/distributed.test.ts's failure checks, run as
//   mpirun -np 2 node test/distributed/failureRun.js MODE
// MODE timeout: rank 1 hangs in JavaScript and never calls the collective; rank 0's allReduce
//   must end with ERR_DISTRIBUTED_TIMEOUT after timeoutMs (1500 ms).
// MODE kill: both ranks all-reduce in a loop; rank 1 kills itself with SIGKILL at step 20; rank 0
//   must end (with our error, or killed by mpirun) instead of waiting forever.
// MODE sigint: rank 0 waits in an allReduce (timeout 60 s) that rank 1 never joins; the test sends
//   SIGINT to mpirun once both printed READY, and every process must be gone soon after.
// Rank 0 prints `CHECK <json>` with the error it saw and when, then exits 1.
'use strict';
const path = require('node:path');
const mp = require(path.join(__dirname, '..', '..', 'dist'));

const d = mp.distributed;
const mode = process.argv[2];

function hang() {
  for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
}

function report(error, started, steps) {
  // After the first failure the group is broken: the next call fails at once with the same error.
  const laterStarted = Date.now();
  let later = null;
  try {
    d.barrier();
  } catch (e) {
    later = { code: e.code, ms: Date.now() - laterStarted };
  }
  console.log(`CHECK ${JSON.stringify({ mode, rank: d.getRank(), code: error.code, message: error.message, ms: Date.now() - started, steps, later })}`);
}

d.initProcessGroup({ timeoutMs: mode === 'sigint' ? 60000 : mode === 'kill' ? 5000 : 1500 });
const rank = d.getRank();
d.barrier();

if (mode === 'timeout' || mode === 'sigint') {
  if (rank === 1) {
    console.log('READY 1');
    hang();
  }
  console.log('READY 0');
  const started = Date.now();
  try {
    d.allReduce(mp.ones([10]));
    console.log('CHECK {"unexpected": "the allReduce completed"}');
  } catch (e) {
    report(e, started, 0);
  }
  process.exit(1);
}

if (mode === 'kill') {
  const t = mp.ones([1000]);
  let step = 0;
  const started = Date.now();
  try {
    for (; step < 100000; ++step) {
      if (rank === 1 && step === 20) process.kill(process.pid, 'SIGKILL');
      d.allReduce(t, { op: 'avg' });
    }
  } catch (e) {
    report(e, started, step);
  }
  process.exit(1);
}
throw new Error(`unknown mode ${mode}`);
