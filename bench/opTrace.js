#!/usr/bin/env node
'use strict';
// Where a training step's time goes, per native call: wraps every native binding with a timer and
// runs one of the bench's training steps (bench/suite/trainingSteps.js) for a number of steps.
// Usage: node bench/opTrace.js [w1|w2|w3] [float32|bfloat16|float16] [batch] [steps]
//        (build first: npm run build; w2 also needs the compiled examples: npx tsc -p examples)
// Prints the step time, the native share, and per call site (GEMM shape and strides, cast dtypes
// and size, binary op and shape, ...) the time per step, calls per step, and the median and
// minimum per call. On a shared machine the per-step sums carry preemption outliers; read the
// medians. Set DIST=1 to also print the raw per-call times of the top 8 entries.
const { native } = require('../dist/native');

const [workload = 'w1', mode = 'bfloat16', batchArg, stepsArg] = process.argv.slice(2);
const defaultBatch = { w1: 256, w2: 16, w3: 64 };
const batch = Number(batchArg ?? defaultBatch[workload]);
const steps = Number(stepsArg ?? 10);

/** A call's site: the binding's name and what distinguishes its calls (shape, dtypes, op). */
function site(name, a) {
  const o = a[0];
  switch (name) {
    case 'matmul': return `matmul[dt${o.dtype} M${o.m} N${o.n} K${o.k} batch[${o.batchShape}] a${o.a.rowStride},${o.a.colStride} b${o.b.rowStride},${o.b.colStride}]`;
    case 'cast': return `cast[${a[2]}->${a[5]} n${a[6]}]`;
    case 'binary': return `binary[op${o.op} dt${o.dtype} [${o.shape}]]`;
    case 'unary': return `unary[op${a[0]} dt${a[1]} n${a[6]}]`;
    case 'binaryScalar': return `binaryScalar[op${a[0]} dt${a[1]} n${a[8]}]`;
    case 'compareScalar': return `compareScalar[op${a[0]} dt${a[1]} n${a[7]}]`;
    default: return name;
  }
}

const stats = new Map();
let on = false;
const now = () => Number(process.hrtime.bigint()) / 1e6;
for (const name of Object.keys(native)) {
  const f = native[name];
  if (typeof f !== 'function') continue;
  native[name] = function traced(...a) {
    if (!on) return f.apply(this, a);
    const s = now();
    const r = f.apply(this, a);
    const d = now() - s;
    const key = site(name, a);
    const e = stats.get(key) ?? { ms: 0, calls: 0, times: [] };
    e.ms += d; e.calls += 1; e.times.push(d);
    stats.set(key, e);
    return r;
  };
}

const { setup, makeData } = require('./suite/trainingSteps');
const run = setup(workload, mode, makeData(workload, batch));
for (let i = 0; i < 3; i++) run.step();
on = true;
const s0 = now();
for (let i = 0; i < steps; i++) run.step();
const total = (now() - s0) / steps;
on = false;
run.dispose();

const rows = [...stats].sort((a, b) => b[1].ms - a[1].ms);
const nativeMs = rows.reduce((sum, [, e]) => sum + e.ms, 0) / steps;
const median = (v) => [...v].sort((x, y) => x - y)[v.length >> 1];
console.log(`${workload} ${mode} batch ${batch}: step ${total.toFixed(2)} ms, native ${nativeMs.toFixed(2)} ms, JS+other ${(total - nativeMs).toFixed(2)}`);
if (process.env.DIST) for (const [k, e] of rows.slice(0, 8)) console.log(k, e.times.map((x) => x.toFixed(2)).join(' '));
for (const [k, e] of rows.slice(0, 30)) {
  console.log(`${(e.ms / steps).toFixed(3).padStart(8)} ms  ${(e.calls / steps).toString().padStart(4)}x  med/call ${median(e.times).toFixed(3)} min ${Math.min(...e.times).toFixed(3)}  ${k}`);
}
