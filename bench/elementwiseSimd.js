#!/usr/bin/env node
// Kernel times of elementwise ops, reductions, softmax, Adam and AMP unscale on preallocated
// buffers (no allocation in the timed call), best of --repeats, for float32/float16/bfloat16.
//   node bench/elementwiseSimd.js [--n 1048576] [--repeats 20] [--json [FILE]]
// Compare SIMD levels with MIXPREC_SIMD=scalar and threads with MIXPREC_NUM_THREADS=1.
'use strict';
const mp = require('../dist');
const { native } = require('../dist/native');
const { dtypeCode } = require('../dist/dtype');
const { json, printJson, numberOption } = require('./cliArgs');
const { bestMs } = require('./suite/util');

const n = numberOption('--n', 1 << 20);
const repeats = numberOption('--repeats', 20);

// Microseconds, best of `repeats`.
const best = (fn) => bestMs(fn, repeats) * 1e3;

const pick = (table, names) => Object.fromEntries(names.map((name) => [name, table[name]]));
const BIN = pick(native.enums.binaryOp, ['add', 'mul', 'div', 'maximum']);
const UN = pick(native.enums.unaryOp, ['neg', 'exp', 'log', 'tanh', 'sigmoid', 'relu', 'gelu', 'silu', 'sqrt']);
const rows = [];
for (const dtype of ['float32', 'float16', 'bfloat16']) {
  const d = dtypeCode(dtype);
  const a = mp.rand([n]).add(0.5).to(dtype);
  const b = mp.rand([n]).add(0.5).to(dtype);
  const o = mp.empty([n], { dtype });
  const h = (t) => t.storage.handle;
  const r = { dtype };
  for (const [name, op] of Object.entries(BIN)) {
    r[name] = best(() => native.binary({ op, dtype: d, a: { storage: h(a), offset: 0, strides: [1] }, b: { storage: h(b), offset: 0, strides: [1] },
      out: { storage: h(o), offset: 0 }, shape: [n] }));
  }
  r['mul scalar'] = best(() => native.binaryScalar(native.enums.binaryOp.mul, d, h(a), 0, 1.5, false, h(o), 0, n));
  for (const [name, op] of Object.entries(UN)) r[name] = best(() => native.unary(op, d, h(a), 0, h(o), 0, n, 0, 0));
  const s = mp.empty([1]);
  r.sum = best(() => native.reduceSum(d, h(a), 0, dtypeCode('float32'), h(s), 0, 1, n, 1, false));
  r['sum rows(1024)'] = best(() => native.reduceSum(d, h(a), 0, d, h(o), 0, n / 1024, 1024, 1, false));
  r['softmax rows(1024)'] = best(() => native.softmax(false, d, h(a), 0, h(o), 0, n / 1024, 1024, 1));
  r['logSoftmax rows(1024)'] = best(() => native.softmax(true, d, h(a), 0, h(o), 0, n / 1024, 1024, 1));
  // Adam on 4 tensors of n/4 elements; unscale (check + multiply) of the same grads.
  const k = 4, m = n / k;
  const mk = () => Array.from({ length: k }, () => mp.rand([m]).mul(0.01).to(dtype));
  const p = mk(), g = mk(), ea = mk(), es = mk();
  const steps = Array.from({ length: k }, () => mp.zeros([1]));
  const hs = (l) => l.map(h);
  const numels = Array(k).fill(m);
  const offs = (c) => Array.from({ length: c }, () => Array(k).fill(0));
  const adamLists = { dtype: d, numels, handles: [hs(p), hs(g), hs(steps), hs(ea), hs(es), []], offsets: [...offs(5), []] };
  r.adam = best(() => native.adamStep({ lists: adamLists, gradScale: null, foundInf: null, options: { lr: 1e-3, beta1: 0.9, beta2: 0.999,
    eps: 1e-8, weightDecay: 0.01, decoupled: true, amsgrad: false, maximize: false } }));
  const scale = mp.tensor([1024]);
  const found = mp.zeros([1]);
  const at = (t) => ({ storage: h(t), offset: 0 });
  r.unscale = best(() => native.ampUnscale({ lists: { dtype: d, numels, handles: [hs(g)], offsets: offs(1) }, scale: at(scale), foundInf: at(found),
    flags: null }));
  rows.push(r);
}
// Tiny ops: per-call cost (threading must not make them slower).
const t4 = mp.tensor([1, 2, 3, 4]);
const o4 = mp.empty([4]);
const v4 = { storage: t4.storage.handle, offset: 0, strides: [1] };
const tiny = { dtype: 'float32 n=4', add: best(() => native.binary({ op: BIN.add, dtype: dtypeCode('float32'), a: v4, b: v4, out: { storage: o4.storage.handle, offset: 0 }, shape: [4] })) };
tiny.exp = best(() => native.unary(UN.exp, dtypeCode('float32'), t4.storage.handle, 0, o4.storage.handle, 0, 4, 0, 0));
rows.push(tiny);

const info = { n, simd: mp.backend().simd ?? process.env.MIXPREC_SIMD ?? 'default', threads: process.env.MIXPREC_NUM_THREADS ?? 'default' };
printJson({ info, rows }, 0);
if (!json) {
  console.log(`n=${n} simd=${info.simd} threads=${info.threads} (microseconds, best of ${repeats})`);
  const keys = Object.keys(rows[0]).filter((x) => x !== 'dtype');
  for (const key of keys) console.log(key.padEnd(24) + rows.map((r) => (r[key] === undefined ? '' : r[key].toFixed(1)).padStart(10)).join(''));
  console.log('tiny n=4 add/exp: ' + tiny.add.toFixed(2) + ' / ' + tiny.exp.toFixed(2));
}
