#!/usr/bin/env node
'use strict';
// Where the W1 step's time goes, per native call: wraps every native binding with a timer and
// runs W1 (MLP 784-1024-1024-10, ReLU, crossEntropy, Adam, batch 256) for a number of steps.
// Usage: node bench/w1Trace.js [bf16|f32] [steps]   (build first: npm run build)
// Prints the step time, the native share, and per call site (GEMM shape and strides, cast
// dtypes and size, ...) the mean per step, calls per step, and the median and minimum per call.
// On a shared machine the means carry preemption outliers; read the medians.
// Set DIST=1 to also print the raw per-call times of the top 8 entries.
const P = require('path').join(__dirname, '..', 'dist');
const nat = require(P + '/native').native;
const stats = new Map(); let on = false;
const t = () => Number(process.hrtime.bigint()) / 1e6;
for (const k of Object.keys(nat)) { const f = nat[k]; if (typeof f !== 'function') continue;
  nat[k] = function (...a) { if (!on) return f.apply(this, a); const s = t(); const r = f.apply(this, a); const d = t() - s; const key = k + (k === 'matmul' ? `[dt${a[0].dtype} M${a[0].m} N${a[0].n} K${a[0].k} a${a[0].a.rowStride},${a[0].a.colStride} b${a[0].b.rowStride},${a[0].b.colStride}]` : k === 'cast' ? `[${a[2]}->${a[5]} n${a[6]}]` : k === 'compareScalar' ? `[${a[1]} n${a[7]}]` : k === 'reduceSum' ? `[${a[0]}->${a[3]} ${a[6]}x${a[7]}x${a[8]}]` : k==='binary' ? `[op${a[0].op} dt${a[0].dtype} [${a[0].shape}]]` : ''); const e = stats.get(key) || [0, 0, []]; e[0] += d; e[1]++; e[2].push(d); stats.set(key, e); return r; }; }
const mp = require(P); const F = mp.nn.functional; const nn = mp.nn;
const mode = process.argv[2] || 'bf16';
mp.manualSeed(0);
const model = new nn.Sequential(new nn.Linear(784, 1024), new nn.ReLU(), new nn.Linear(1024, 1024), new nn.ReLU(), new nn.Linear(1024, 10));
const opt = new mp.optim.Adam(model.parameters(), { lr: 1e-3 });
mp.manualSeed(1);
const x = mp.keep(mp.randn([256, 784])); const y = mp.keep(mp.randint(0, 10, [256]));
const fwd = () => mode === 'bf16' ? mp.amp.autocast({ deviceType: 'cpu', dtype: 'bfloat16' }, () => F.crossEntropy(model.forward(x), y)) : F.crossEntropy(model.forward(x), y);
const step = () => mp.tidy(() => { opt.zeroGrad(); const l = fwd(); l.backward(); opt.step(); });
for (let i = 0; i < 3; i++) step();
const N = +(process.argv[3]||20); on = true; const s0 = t(); for (let i = 0; i < N; i++) step(); const tot = (t() - s0) / N; on = false;
let nsum = 0; const rows = [...stats].sort((a, b) => b[1][0] - a[1][0]);
for (const [k, [ms, c]] of rows) { nsum += ms; }
console.log(`${mode}: step ${tot.toFixed(2)} ms, native ${(nsum / N).toFixed(2)} ms, JS+other ${(tot - nsum / N).toFixed(2)}`);
if(process.env.DIST)for (const [k, [ms, c, v]] of rows.slice(0, 8)) console.log(k, v.map(x=>x.toFixed(2)).join(" "));const md=(v)=>{const q=[...v].sort((a,b)=>a-b);return q[q.length>>1];};for (const [k, [ms, c, v]] of rows.slice(0, 30)) console.log(`${(ms / N).toFixed(3).padStart(8)} ms  ${(c / N).toString().padStart(4)}x  med/call ${md(v).toFixed(3)} min ${Math.min(...v).toFixed(3)}  ${k}`);
