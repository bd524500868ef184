// One rank of test/distributed.test.ts's collective checks, run as
//   mpirun -np N node test/distributed/collectivesRun.js OUTDIR
// against dist/ (npm run build:ts). Runs every case of collectiveCases.js and writes each
// result's raw bytes to OUTDIR/<rank>/<case index>.bin for the test to compare with its
// reference; then the checks that need a live group, each printed as one line
// `CHECK <json>`. Exits 0 when it got through (the test judges the results).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const mp = require(path.join(__dirname, '..', '..', 'dist'));
const { casesFor, inputOf, inputLength } = require('./collectiveCases');

const d = mp.distributed;
const outDir = process.argv[2];

function report(name, fields) {
  console.log(`CHECK ${JSON.stringify({ name, rank: d.isInitialized() ? d.getRank() : -1, ...fields })}`);
}

/** The error a call throws, as {code, name, message}, or null. */
function errorOf(fn) {
  try {
    fn();
    return null;
  } catch (e) {
    return { code: e.code, name: e.name, message: e.message, isMixprec: e instanceof mp.MixprecError };
  }
}

function bytes(t) {
  const raw = t.rawData();
  return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
}

function runCase(c, rank, size) {
  const input = mp.tensor(inputOf(c, rank, inputLength(c, size)), { dtype: c.dtype });
  switch (c.kind) {
    case 'allReduce':
      d.allReduce(input, { op: c.op });
      return bytes(input);
    case 'broadcast':
      d.broadcast(input, { src: c.src });
      return bytes(input);
    case 'allGather': {
      const out = mp.empty([size, c.n], { dtype: c.dtype });
      d.allGather(out, input);
      return bytes(out);
    }
    case 'allGatherList': {
      const outs = Array.from({ length: size }, () => mp.full([c.n], 7, { dtype: c.dtype }));
      d.allGather(outs, input);
      return Buffer.concat(outs.map(bytes));
    }
    case 'reduceScatter': {
      const out = mp.empty([c.n], { dtype: c.dtype });
      d.reduceScatter(out, input, { op: c.op });
      return bytes(out);
    }
    default: throw new Error(c.kind);
  }
}

/** Runs every ```ts block of lib/distributed's @examples with `mp`; returns the ones that threw. */
async function runDocExamples() {
  const ts = require('typescript');
  const dir = path.join(__dirname, '..', '..', 'lib', 'distributed');
  const failures = [];
  let count = 0;
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    const text = fs.readFileSync(path.join(dir, file), 'utf8');
    for (const m of text.matchAll(/@example\s*\n\s*\* ```ts\n([\s\S]*?)\n\s*\* ```/g)) {
      const code = m[1].split('\n').map((line) => line.replace(/^\s*\* ?/, '')).join('\n');
      const js = ts.transpileModule(code, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText;
      count += 1;
      try {
        await new Function('mp', 'console', `return (async () => {\n${js}\n})();`)(mp, { log() {} });
      } catch (e) {
        failures.push(`${file}: ${e.message}`);
      }
    }
  }
  if (count < 7) failures.push(`only ${count} examples found`);
  return failures;
}

async function main() {
  report('beforeInit', {
    allReduce: errorOf(() => d.allReduce(mp.ones([2]))),
    getRank: errorOf(() => d.getRank()),
    barrier: errorOf(() => d.barrier()),
    initialized: d.isInitialized(),
  });
  d.initProcessGroup({ backend: 'mpi', timeoutMs: 20000 });
  const rank = d.getRank();
  const size = d.getWorldSize();
  report('init', { size, env: Number(process.env.OMPI_COMM_WORLD_SIZE), info: d.getBackendInfo(), twice: errorOf(() => d.initProcessGroup()) });

  fs.mkdirSync(path.join(outDir, String(rank)), { recursive: true });
  const cases = casesFor(size);
  const started = Date.now();
  cases.forEach((c, i) => {
    mp.tidy(() => fs.writeFileSync(path.join(outDir, String(rank), `${i}.bin`), runCase(c, rank, size)));
  });
  report('cases', { count: cases.length, ms: Date.now() - started });

  // Argument errors are caught before anything is queued: the group stays usable.
  report('argumentErrors', {
    avgInt: errorOf(() => d.allReduce(mp.ones([2], { dtype: 'int32' }), { op: 'avg' })),
    badOp: errorOf(() => d.allReduce(mp.ones([2]), { op: 'prod' })),
    boolTensor: errorOf(() => d.allReduce(mp.ones([2], { dtype: 'bool' }))),
    srcRange: errorOf(() => d.broadcast(mp.ones([2]), { src: size })),
    gatherSize: errorOf(() => d.allGather(mp.empty([size * 2 + 1]), mp.ones([2]))),
    gatherList: errorOf(() => d.allGather([mp.empty([2])], mp.ones([2]))),
    scatterSize: errorOf(() => d.reduceScatter(mp.empty([2]), mp.ones([2 * size + 1]))),
    dtypes: errorOf(() => d.reduceScatter(mp.empty([2]), mp.ones([2 * size], { dtype: 'float64' }))),
    unknownKey: errorOf(() => d.allReduce(mp.ones([2]), { opp: 'sum' })),
    grad: errorOf(() => d.allReduce(mp.ones([2], { requiresGrad: true }))),
    after: (() => { const t = mp.ones([3]); d.allReduce(t); return Array.from(t.dataSync()); })(),
  });

  // The @example blocks of lib/distributed run in docExamples.test.ts outside any group, where
  // their bodies are skipped; here, inside a live group, they run in full.
  report('docExamples', { failures: await runDocExamples() });

  // A worker thread cannot make a second group, and its exit (an environment teardown) leaves
  // the main thread's MPI running.
  const workerSaid = await new Promise((resolve, reject) => {
    const worker = new Worker(`
      const mp = require(${JSON.stringify(path.join(__dirname, '..', '..', 'dist'))});
      let said;
      try { mp.distributed.initProcessGroup(); said = 'made a group'; } catch (e) { said = e.code; }
      require('node:worker_threads').parentPort.postMessage(said);`, { eval: true });
    let said;
    worker.on('message', (m) => { said = m; });
    worker.on('error', reject);
    worker.on('exit', () => resolve(said));
  });
  const afterWorker = mp.ones([2]);
  d.allReduce(afterWorker);
  report('worker', { workerSaid, afterWorker: Array.from(afterWorker.dataSync()) });

  // Async: a 16 MiB all-reduce in flight while this thread multiplies matrices.
  const n = 4 << 20;
  const a = mp.randn([384, 384]);
  const compute = () => { for (let i = 0; i < 8; ++i) mp.tidy(() => mp.matmul(a, a)); };
  const big = mp.full([n], rank + 1);
  let t0 = performance.now();
  d.allReduce(big);
  const syncMs = performance.now() - t0;
  t0 = performance.now();
  compute();
  const computeMs = performance.now() - t0;
  const x = mp.full([n], rank + 1);
  t0 = performance.now();
  const work = d.allReduce(x, { async: true });
  const completedAtOnce = work.isCompleted();
  compute();
  work.wait();
  const overlappedMs = performance.now() - t0;
  const expected = (size * (size + 1)) / 2;
  const values = x.dataSync();
  report('async', {
    completedAtOnce, completedAfter: work.isCompleted(), correct: values[0] === expected && values[n - 1] === expected,
    syncMs, computeMs, overlappedMs,
  });

  // promise(): settles from the event loop, with no blocking wait.
  const y = mp.full([1000], rank);
  const pending = d.allReduce(y, { op: 'max', async: true });
  await pending.promise();
  report('promise', { value: y.dataSync()[999], completed: pending.isCompleted() });

  // Disposing a tensor while its collective is in flight: the Work keeps the memory until the end.
  mp.tidy(() => undefined);
  const before = mp.memory().numBytes;
  const z = mp.full([1 << 20], 1);
  const flying = d.allReduce(z, { async: true });
  z.dispose();
  flying.wait();
  report('disposeInFlight', { leftBytes: mp.memory().numBytes - before, disposed: z.isDisposed });

  // Mismatches end every rank's call with the same code, before any data moves; the group is
  // broken afterwards, and a new one works.
  const numel = errorOf(() => d.allReduce(mp.ones([rank === 0 ? 8 : 7])));
  const later = errorOf(() => d.barrier());
  d.destroyProcessGroup();
  d.initProcessGroup({ timeoutMs: 20000 });
  const dtype = errorOf(() => d.allReduce(mp.ones([4], { dtype: rank === 0 ? 'float32' : 'float64' })));
  d.destroyProcessGroup();
  d.initProcessGroup({ timeoutMs: 20000 });
  const kind = errorOf(() => (rank === 0 ? d.allReduce(mp.ones([4])) : d.broadcast(mp.ones([4]))));
  d.destroyProcessGroup();
  d.initProcessGroup({ timeoutMs: 20000 });
  const t = mp.full([2], rank);
  d.allReduce(t, { op: 'max' });
  report('mismatch', { numel, later, dtype, kind, recovered: Array.from(t.dataSync()) });
  d.destroyProcessGroup();
  report('done', {});
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
