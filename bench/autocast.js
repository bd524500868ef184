#!/usr/bin/env node
// Per-op dispatch cost of CPU autocast on tiny tensors (8 elements, [4,4]), so the native work
// is negligible: each case times the same op call with autocast on and with a matching baseline
// (autocast off: no scope, or a pre-cast weight), in alternating short batches of the same run;
// best batch of each side. Short batches and many repeats keep the minimum stable on a shared
// machine. "added" is autocast's cost per op; the target for the dispatch-only cases is < 2 µs.
//   npm run bench:autocast [-- --json [FILE]] [-- --repeats 101] [-- --calls 1000]
'use strict';
const mp = require('../dist');

const { json, printJson, numberOption } = require('./cliArgs');

const repeats = numberOption('--repeats', 101);
const calls = numberOption('--calls', 1000);
const targetMicros = 2;
const F = mp.nn.functional;
const { autocast } = mp.amp;
const on = { deviceType: 'cpu' }; // bfloat16, the CPU default
// Cases (d) and (e) time the weight-cast cache, which CPU matrix products skip by default (they
// round float32 operands in the GEMM: cast fusion, case (d) last); cast first there, as on CUDA.
const castFirst = { deviceType: 'cpu', castFusion: false };
const noCache = { ...castFirst, cacheEnabled: false };
const off = { deviceType: 'cpu', enabled: false };
// exp is passThrough in PyTorch's CPU lists (fp32 only in the CUDA ones): an extended policy
// makes it an fp32 op, so the case times the fp32 path on an input that needs no cast.
const expFp32 = mp.amp.policy.extend(mp.amp.policies.cpu, { fp32: ['exp'] }, 'cpu+exp-fp32');

const keep = (t) => mp.keep(t);
const bf = (shape, grad = false) => {
  const t = keep(mp.randn(shape).to('bfloat16'));
  return grad ? t.requiresGrad_() : t;
};
const a8 = bf([8]);
const b8 = bf([8]);
const a8g = bf([8], true);
const b8g = bf([8], true);
const m4 = bf([4, 4]);
const n4 = bf([4, 4]);
const m4g = bf([4, 4], true);
const n4g = bf([4, 4], true);
const f8 = keep(mp.randn([8]));
const f4 = keep(mp.randn([4, 4]));
const g4 = keep(mp.randn([4, 4]));
const x4 = bf([4, 4]); // linear input (bfloat16 activations)
const w = keep(mp.randn([4, 4]).requiresGrad_()); // float32 parameter
// The weight already in bfloat16, made the way autocast makes it (a recorded cast of the
// parameter), so the baseline records the same autograd node as the autocast call.
const wb = keep(w.to('bfloat16'));

// How the op calls of one batch run: inside a scope (`scopes` from outermost), under noGrad or not.
function batch(op, { scopes = [], grad = true } = {}) {
  const loop = () => {
    for (let i = 0; i < calls; ++i) op();
  };
  let body = loop;
  for (let s = scopes.length - 1; s >= 0; --s) {
    const inner = body;
    const options = scopes[s];
    body = () => autocast(options, inner);
  }
  const withGrad = grad ? body : () => mp.noGrad(body);
  return () => mp.tidy(withGrad);
}

// Each case: a baseline (autocast off) and the autocast variant of the same op call.
const cases = [
  { id: 'a', name: 'add bf16 [8] (passThrough)', kind: 'dispatch', grad: false, expect: ['passThrough', 0, 0],
    base: () => mp.add(a8, b8), ac: () => mp.add(a8, b8), scopes: [on] },
  { id: 'a', name: 'add bf16 [8], inputs require grad', kind: 'dispatch', grad: true, expect: ['passThrough', 0, 0],
    base: () => mp.add(a8g, b8g), ac: () => mp.add(a8g, b8g), scopes: [on] },
  { id: 'b', name: 'mm bf16 [4,4] (lowerPrecision, no cast)', kind: 'dispatch', grad: false, expect: ['lowerPrecision', 0, 0],
    base: () => mp.mm(m4, n4), ac: () => mp.mm(m4, n4), scopes: [on] },
  { id: 'b', name: 'mm bf16 [4,4], inputs require grad', kind: 'dispatch', grad: true, expect: ['lowerPrecision', 0, 0],
    base: () => mp.mm(m4g, n4g), ac: () => mp.mm(m4g, n4g), scopes: [on] },
  { id: 'c', name: 'exp f32 [8] (fp32 by policy, no cast)', kind: 'dispatch', grad: false, expect: ['fp32', 0, 0],
    base: () => mp.exp(f8), ac: () => mp.exp(f8), scopes: [{ ...on, policy: expFp32 }] },
  { id: 'c', name: 'prod f32 [8] (fp32 CPU list, no cast)', kind: 'dispatch', grad: false, expect: ['fp32', 0, 0],
    base: () => mp.prod(f8), ac: () => mp.prod(f8), scopes: [on] },
  { id: 'd', name: 'linear(x bf16, W f32 param), cache hit', kind: 'dispatch', grad: true, expect: ['lowerPrecision', 0, 1],
    base: () => F.linear(x4, wb), ac: () => F.linear(x4, w), scopes: [castFirst] },
  { id: 'd', name: 'linear, cache hit, noGrad', kind: 'dispatch', grad: false, expect: ['lowerPrecision', 0, 1],
    base: () => F.linear(x4, wb), ac: () => F.linear(x4, w), scopes: [castFirst] },
  { id: 'd', name: 'linear, W f32 read by the GEMM (cast fusion)', kind: 'dispatch', grad: true, expect: ['lowerPrecision', 0, 0],
    base: () => F.linear(x4, wb), ac: () => F.linear(x4, w), scopes: [on] },
  { id: 'e', name: 'linear, cacheEnabled false (cast each call)', kind: 'withCast', grad: true, expect: ['lowerPrecision', 1, 0],
    base: () => F.linear(x4, wb), ac: () => F.linear(x4, w), scopes: [noCache] },
  { id: 'f', name: 'add bf16 [8] in enabled:false island', kind: 'dispatch', grad: false, expect: ['passThrough', 0, 0],
    base: () => mp.add(a8, b8), ac: () => mp.add(a8, b8), scopes: [on, off] },
  { id: 'f', name: 'mm f32 [4,4] in enabled:false island', kind: 'dispatch', grad: false, expect: ['passThrough', 0, 0],
    base: () => mp.mm(f4, g4), ac: () => mp.mm(f4, g4), scopes: [on, off] },
];

// Checks that a case does what its name says: the second call inside one scope has the expected
// category, casts and cache hits (a scope that records wraps the case's scopes, so it sees them).
function check(c) {
  const { log } = autocast({ ...c.scopes[0], record: true }, () => {
    const inner = () => mp.tidy(() => { c.ac(); c.ac(); });
    const nested = c.scopes.slice(1).reduceRight((fn, o) => () => autocast(o, fn), inner);
    return c.grad ? nested() : mp.noGrad(nested);
  });
  const e = log.entries.filter((d) => d.op === log.entries[0].op)[1];
  const got = [e.category, e.casts, e.cacheHits];
  if (got.some((v, i) => v !== c.expect[i])) {
    throw new Error(`bench/autocast.js: case (${c.id}) ${c.name}: expected [category, casts, cache hits] ${JSON.stringify(c.expect)}, got ${JSON.stringify(got)}`);
  }
}

function micros(run) {
  const t0 = process.hrtime.bigint();
  run();
  return Number(process.hrtime.bigint() - t0) / 1e3 / calls;
}

const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const rows = [];
for (const c of cases) {
  const base = batch(c.base, { grad: c.grad });
  const ac = batch(c.ac, { grad: c.grad, scopes: c.scopes });
  check(c);
  base();
  ac(); // warm-up (JIT, first cast)
  const b = [];
  const a = [];
  for (let r = 0; r < repeats; ++r) {
    // Alternate the order so drift on a shared machine does not favour one side.
    if (r % 2) {
      a.push(micros(ac));
      b.push(micros(base));
    } else {
      b.push(micros(base));
      a.push(micros(ac));
    }
  }
  const offMicros = Math.min(...b);
  const onMicros = Math.min(...a);
  const added = onMicros - offMicros;
  const medianAdded = median(a.map((x, i) => x - b[i]));
  rows.push({
    case: c.id, name: c.name, grad: c.grad, kind: c.kind,
    offMicros: +offMicros.toFixed(3), onMicros: +onMicros.toFixed(3),
    addedMicros: +added.toFixed(3), medianAddedMicros: +medianAdded.toFixed(3),
    verdict: c.kind === 'dispatch' ? (added < targetMicros ? 'PASS' : 'MISS') : 'info',
  });
}

// (g) the no-scope path: the ops outside every scope (autocast costs one comparison here).
const noScope = [
  { name: 'add bf16 [8]', op: () => mp.add(a8, b8) },
  { name: 'mm bf16 [4,4]', op: () => mp.mm(m4, n4) },
  { name: 'exp f32 [8]', op: () => mp.exp(f8) },
  { name: 'linear(x bf16, W bf16)', op: () => F.linear(x4, wb) },
].map(({ name, op }) => {
  const run = batch(op, { grad: false });
  run();
  const t = [];
  for (let r = 0; r < repeats; ++r) t.push(micros(run));
  return { name, grad: false, micros: +Math.min(...t).toFixed(3) };
});

mp.dispose([a8, b8, a8g, b8g, m4, n4, m4g, n4g, f8, f4, g4, x4, w, wb]);

const meta = { calls, repeats, targetAddedMicros: targetMicros, threads: mp.backend().numThreads, simd: mp.backend().simd, node: process.version };
printJson({ ...meta, results: rows, noScope });
if (!json) {
  console.log(`autocast dispatch cost on cpu (bfloat16), best of ${repeats} batches of ${calls} calls per side; backend ${meta.simd}, ${meta.threads} threads`);
  console.log(`target: < ${targetMicros} µs added per op for the dispatch-only cases; (e) is informational: it includes the cast's own work`);
  console.log('   case                                         autograd  off µs/op  autocast µs/op  added µs/op  (median)  verdict');
  for (const r of rows) {
    console.log(`(${r.case}) ${r.name.padEnd(44)} ${(r.grad ? 'records' : 'noGrad').padEnd(7)} ${r.offMicros.toFixed(2).padStart(10)} ${r.onMicros.toFixed(2).padStart(15)} ${r.addedMicros.toFixed(2).padStart(12)} ${r.medianAddedMicros.toFixed(2).padStart(9)}  ${r.verdict}`);
  }
  console.log('(g) outside any scope (noGrad), µs/op: ' + noScope.map((r) => `${r.name} ${r.micros.toFixed(2)}`).join(', '));
  console.log('off: (a)(b)(c)(f) the same call outside any scope; (d)(e) linear with the weight pre-cast to bfloat16 (a recorded cast), no scope');
  console.log('(median): median over the rounds of the paired difference autocast - off');
}
