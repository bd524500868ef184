// Small training runs for test/concurrency.test.ts, one per configuration, run either on the main
// thread (lib/, passed in as `mp`) or in a worker (trainWorker.js, dist/). Each returns its
// per-step losses and every parameter's bytes, so runs can be compared bit for bit.
'use strict';

const configs = {
  // Autocast float16 + GradScaler with a short growth interval, Adam, dropout (random stream).
  mlpFloat16Scaler: { dtype: 'float16', scaler: true, optimizer: 'adam', model: 'mlp', steps: 30 },
  // Autocast bfloat16, SGD with momentum, GELU and LayerNorm.
  mlpBfloat16Sgd: { dtype: 'bfloat16', scaler: false, optimizer: 'sgd', model: 'mlpNorm', steps: 30 },
  // Autocast bfloat16 over a small CNN, AdamW.
  cnnBfloat16AdamW: { dtype: 'bfloat16', scaler: false, optimizer: 'adamw', model: 'cnn', steps: 12 },
};

function buildModel(mp, kind) {
  const nn = mp.nn;
  if (kind === 'mlp') return new nn.Sequential(new nn.Linear(256, 512), new nn.ReLU(), new nn.Dropout(0.1), new nn.Linear(512, 512), new nn.ReLU(), new nn.Linear(512, 10));
  if (kind === 'mlpNorm') return new nn.Sequential(new nn.Linear(256, 384), new nn.LayerNorm(384), new nn.GELU(), new nn.Linear(384, 10));
  return new nn.Sequential(new nn.Conv2d(1, 16, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2), new nn.Conv2d(16, 32, 3, { padding: 1 }), new nn.ReLU(),
    new nn.MaxPool2d(2), new nn.Flatten(), new nn.Linear(32 * 4 * 4, 10));
}

function buildOptimizer(mp, kind, params) {
  if (kind === 'adam') return new mp.optim.Adam(params, { lr: 1e-3 });
  if (kind === 'sgd') return new mp.optim.SGD(params, { lr: 0.05, momentum: 0.9 });
  return new mp.optim.AdamW(params, { lr: 2e-3, weightDecay: 0.01 });
}

/** Runs configuration `name` with `seed`; `onStart` is called just before the first step. */
function train(mp, name, seed, onStart = () => {}) {
  const c = configs[name];
  const F = mp.nn.functional;
  mp.manualSeed(seed);
  const model = buildModel(mp, c.model);
  const optimizer = buildOptimizer(mp, c.optimizer, model.parameters());
  const scaler = c.scaler ? new mp.amp.GradScaler({ device: 'cpu', growthInterval: 5 }) : undefined;
  const inputShape = c.model === 'cnn' ? [64, 1, 16, 16] : [128, 256];
  const x = mp.keep(mp.randn(inputShape));
  const y = mp.keep(mp.randint(0, 10, [inputShape[0]]));
  const losses = [];
  onStart();
  const startMs = performance.timeOrigin + performance.now();
  for (let step = 0; step < c.steps; ++step) {
    mp.tidy(() => {
      optimizer.zeroGrad();
      const loss = mp.amp.autocast({ deviceType: 'cpu', dtype: c.dtype }, () => F.crossEntropy(model.forward(x), y));
      if (scaler) {
        scaler.scale(loss).backward();
        scaler.step(optimizer);
        scaler.update();
      } else {
        loss.backward();
        optimizer.step();
      }
      losses.push(loss.item());
    });
  }
  const endMs = performance.timeOrigin + performance.now();
  const params = model.parameters().map((p) => Buffer.from(p.rawData().buffer).toString('base64'));
  const scale = scaler ? scaler.getScale() : 1;
  scaler?.dispose();
  optimizer.dispose();
  model.dispose();
  mp.dispose([x, y]);
  return { losses, params, scale, startMs, endMs, tensorsAfter: mp.memory().numTensors };
}

module.exports = { configs, train };
