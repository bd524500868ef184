// A child process of test/checkpointResume.test.ts, run against dist/ (npm run build:ts):
//   node resumeRun.js straight DIR   → 200 steps of every variant, no checkpoint
//   node resumeRun.js first DIR      → 100 steps of every variant, then a checkpoint each in DIR/<variant>
//   node resumeRun.js resume DIR     → a differently seeded setup, the checkpoint loaded, 100 more steps
// Prints one JSON line: per variant the loss and scale of each step and the final parameters' bytes.
'use strict';
const path = require('node:path');
const mp = require(path.join(__dirname, '..', '..', 'dist'));

const [mode, dir] = process.argv.slice(2);
const STEPS = 200;
const HALF = 100;
const VARIANTS = ['float32', 'bfloat16', 'float16', 'masterWeights'];

/** Every 4th training digit (2,000 of all classes), batches of 32: an epoch is 63 batches, the last one of 16. */
function dataset() {
  const { train } = mp.data.mnist();
  const [x, y] = train.tensors;
  const index = mp.arange(0, train.length, 4, { dtype: 'int32' });
  const subset = new mp.data.TensorDataset(mp.keep(x.indexSelect(0, index)), mp.keep(y.indexSelect(0, index)));
  mp.dispose([index, train.tensors]);
  return subset;
}

function setup(variant, data, seed) {
  mp.manualSeed(seed);
  const model = new mp.nn.Sequential(new mp.nn.Linear(784, 32), new mp.nn.ReLU(), new mp.nn.Dropout(0.1), new mp.nn.Linear(32, 10));
  const optimizer = new mp.optim.Adam(model.parameters(), { lr: 2e-3 });
  const amp = variant === 'masterWeights' ? mp.amp.prepare(model, optimizer, { optLevel: 'O2' }) : undefined;
  // float16: a scale that overflows at once and grows back every 5 clean steps, so backoffs and
  // growths fall on both sides of the checkpoint.
  const scaler = variant === 'float16' ? new mp.amp.GradScaler({ device: 'cpu', initScale: 2 ** 20, growthInterval: 5, growthFactor: 2, backoffFactor: 0.5 }) : undefined;
  const scheduler = new mp.optim.StepLR(optimizer, 30, { gamma: 0.7 });
  const loader = new mp.data.DataLoader(data, { batchSize: 32, shuffle: true });
  const dropoutRng = new mp.Generator(seed + 1); // an extra stream whose state must travel too
  const forward = (x) => {
    const run = () => model.forward(x);
    if (amp) return amp.autocast(run);
    return variant === 'float32' ? run() : mp.amp.autocast({ deviceType: 'cpu', dtype: variant }, run);
  };
  return { model, optimizer, scaler, scheduler, loader, dropoutRng, forward };
}

function* batches(loader) {
  for (;;) yield* loader;
}

function train(s, from, to, stream) {
  const losses = [];
  const scales = [];
  for (let step = from; step < to; ++step) {
    const batch = stream.next().value;
    mp.tidy(() => {
      // A draw from the extra generator joins the input, so its state changes the numbers.
      const noise = mp.rand([1], { generator: s.dropoutRng }).mul(1e-3);
      const loss = mp.nn.functional.crossEntropy(s.forward(batch[0].add(noise)), batch[1]);
      s.optimizer.zeroGrad();
      if (s.scaler) {
        s.scaler.scale(loss).backward();
        s.scaler.step(s.optimizer);
        s.scaler.update();
        scales.push(s.scaler.getScale());
      } else {
        loss.backward();
        s.optimizer.step();
      }
      s.scheduler.step();
      losses.push(loss.item());
    });
    mp.dispose(batch);
  }
  return { losses, scales };
}

function parameters(model) {
  return Object.entries(model.stateDict()).map(([name, t]) => {
    const raw = t.rawData();
    return [name, t.dtype, Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64')];
  });
}

const data = dataset();
const out = {};
for (const variant of VARIANTS) {
  const where = path.join(dir, variant);
  let s;
  let result;
  if (mode === 'resume') {
    s = setup(variant, data, 999);
    const loaded = mp.checkpoint.load(where, { model: s.model, optimizer: s.optimizer, scaler: s.scaler, scheduler: s.scheduler, dataLoader: s.loader, generator: s.dropoutRng });
    result = { ...train(s, loaded.step, STEPS, batches(s.loader)), extra: loaded.extra };
  } else {
    s = setup(variant, data, 7);
    const stream = batches(s.loader);
    result = train(s, 0, mode === 'straight' ? STEPS : HALF, stream);
    if (mode === 'first') {
      mp.checkpoint.save(where, { model: s.model, optimizer: s.optimizer, scaler: s.scaler, scheduler: s.scheduler, dataLoader: s.loader, generator: s.dropoutRng, step: HALF, extra: { variant } }, { keep: 2 });
    }
  }
  out[variant] = { ...result, parameters: parameters(s.model), epochs: s.loader.stateDict().epochs };
  s.scaler?.dispose();
  s.optimizer.dispose();
  s.model.dispose();
}
console.log(JSON.stringify(out));
