// Writes the initial CNN weights of examples/mnist.ts for a seed and the batch order of its 10
// epochs (the same draws from the default generator) to DIR/init-SEED.json, for
// bench/numpyCnnReference.py.   node bench/cnnReferenceExport.js SEED [DIR, default .gpu/mnist]
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const mp = require('../dist');
const seed = Number(process.argv[2] ?? 0);
const dir = process.argv[3] ?? path.join('.gpu', 'mnist');
mp.manualSeed(seed);
const { train } = mp.data.mnist();
const nn = mp.nn;
const model = new nn.Sequential(
  new nn.Conv2d(1, 32, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2),
  new nn.Conv2d(32, 64, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2),
  new nn.Flatten(), new nn.Linear(3136, 10));
const out = { params: {}, orders: [] };
for (const [n, p] of model.namedParameters()) out.params[n] = { shape: p.shape, v: Array.from(p.dataSync()) };
const n = train.length;
for (let e = 0; e < 10; ++e) {
  const keys = mp.rand([n], { dtype: 'float64' }).dataSync();
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => keys[a] - keys[b] || a - b);
  out.orders.push(order);
}
fs.mkdirSync(dir, { recursive: true });
fs.writeFileSync(path.join(dir, `init-${seed}.json`), JSON.stringify(out));
