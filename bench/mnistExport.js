#!/usr/bin/env node
// Writes mp.data.mnist()'s split as raw little-endian files (float32 images [N, 784], int32
// labels [N]) so bench/torchMnist.py trains PyTorch on exactly the same digits.
//   node bench/mnistExport.js [dir]   (default .gpu/mnist)
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const mp = require('../dist');

const dir = process.argv[2] ?? path.join('.gpu', 'mnist');
fs.mkdirSync(dir, { recursive: true });
const { train, test } = mp.data.mnist();
for (const [name, ds] of [['train', train], ['test', test]]) {
  const [images, labels] = ds.tensors;
  fs.writeFileSync(path.join(dir, `${name}-images.f32`), Buffer.from(images.dataSync().buffer));
  fs.writeFileSync(path.join(dir, `${name}-labels.i32`), Buffer.from(labels.dataSync().buffer));
  console.log(`${name}: ${ds.length} digits -> ${dir}`);
}
