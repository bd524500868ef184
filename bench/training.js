#!/usr/bin/env node
// Where a training step's time goes on this machine: per-op dispatch cost with and without
// autograd recording (tiny tensors, so the native work is negligible), and forward / backward /
// optimizer time of the MNIST MLP and CNN steps (batch 128, float32). Best of several repeats.
//   npm run bench:training [-- --json [FILE]] [-- --repeats 5]
'use strict';
const mp = require('../dist');

const { json, printJson, numberOption } = require('./cliArgs');
const { bestMs } = require('./suite/util');

const repeats = numberOption('--repeats', 5);
const F = mp.nn.functional;

const best = (fn) => bestMs(fn, repeats);

function dispatch() {
  const calls = 20000;
  const x = mp.keep(mp.ones([4]));
  const w = mp.keep(mp.ones([4]).requiresGrad_());
  const run = (t) => () => mp.tidy(() => {
    let y = t;
    for (let i = 0; i < calls; ++i) y = y.mul(1.0001);
    return undefined;
  });
  const plain = best(run(x));
  const recorded = best(run(w));
  const backward = best(() => mp.tidy(() => {
    let y = w;
    for (let i = 0; i < calls; ++i) y = y.mul(1.0001);
    y.sum().backward();
    w.grad = undefined;
  })) - recorded;
  mp.dispose([x, w]);
  return { calls, plainMicros: (plain * 1000) / calls, recordedMicros: (recorded * 1000) / calls, backwardMicros: (backward * 1000) / calls };
}

function model(kind) {
  const nn = mp.nn;
  mp.manualSeed(0);
  return kind === 'mlp'
    ? new nn.Sequential(new nn.Linear(784, 512), new nn.ReLU(), new nn.Linear(512, 512), new nn.ReLU(), new nn.Linear(512, 10))
    : new nn.Sequential(new nn.Conv2d(1, 32, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2),
      new nn.Conv2d(32, 64, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2), new nn.Flatten(), new nn.Linear(3136, 10));
}

function step(kind) {
  const m = model(kind);
  const opt = new mp.optim.Adam(m.parameters(), { lr: 1e-3 });
  const x = mp.keep(kind === 'mlp' ? mp.rand([128, 784]) : mp.rand([128, 1, 28, 28]));
  const y = mp.keep(mp.randint(0, 10, [128]));
  let loss;
  const forward = best(() => mp.tidy(() => { F.crossEntropy(m.forward(x), y); }));
  const forwardBackward = best(() => mp.tidy(() => {
    loss = F.crossEntropy(m.forward(x), y);
    loss.backward();
  }));
  const optimizer = best(() => opt.step());
  opt.dispose();
  mp.dispose([x, y, ...m.parameters()]);
  return { model: kind, forwardMs: forward, backwardMs: forwardBackward - forward, optimizerMs: optimizer, stepMs: forwardBackward + optimizer };
}

const result = { threads: mp.backend().numThreads, simd: mp.backend().simd, dispatch: dispatch(), steps: [step('mlp'), step('cnn')] };
printJson(result, 0);
if (!json) {
  const d = result.dispatch;
  console.log(`backend: ${result.simd}, ${result.threads} threads; best of ${repeats}`);
  console.log(`per op (x.mul(s) on 4 elements, ${d.calls} calls): ${d.plainMicros.toFixed(2)} µs plain, ${d.recordedMicros.toFixed(2)} µs recorded, ${d.backwardMicros.toFixed(2)} µs of backward per recorded op`);
  console.log('model  forward ms  backward ms  optimizer ms  step ms   (batch 128, float32)');
  for (const s of result.steps) {
    console.log(`${s.model.padEnd(5)}  ${s.forwardMs.toFixed(1).padStart(10)}  ${s.backwardMs.toFixed(1).padStart(11)}  ${s.optimizerMs.toFixed(2).padStart(12)}  ${s.stepMs.toFixed(1).padStart(7)}`);
  }
}
