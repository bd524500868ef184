// Preloaded (`node --require`) into each README program that test/readme.test.ts runs. Two jobs:
// - mp.data.mnist() returns the digit subset the test wrote to MIXPREC_README_DIGITS instead of
//   parsing the `mnist` package's 20 MB of JSON (4 s a process here), so the programs stay fast;
// - on exit it writes mp.memory()'s leaked tensors (live at exit, plus those the garbage collector
//   freed undisposed) and live bytes to MIXPREC_README_MEMORY, which is how the test sees a
//   program's leaks.
// It patches the module the package itself calls (dist/data/mnist.js, the same instance `mixprec`
// resolves to from the consumer project's symlink), so the program's code runs unchanged.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const dist = path.join(__dirname, '..', '..', 'dist');
const mp = require(dist);
const mnistModule = require(path.join(dist, 'data', 'mnist.js'));

/** Reads the subset file: a JSON header line, then train images, train labels, test images, test labels. */
function readDigits(file) {
  const bytes = fs.readFileSync(file);
  const newline = bytes.indexOf(10);
  const { train, test } = JSON.parse(bytes.subarray(0, newline).toString('utf8'));
  let at = newline + 1;
  const take = (Type, count) => {
    const out = new Type(count);
    new Uint8Array(out.buffer).set(bytes.subarray(at, at + out.byteLength));
    at += out.byteLength;
    return out;
  };
  const split = (n) => ({ images: take(Float32Array, n * 784), labels: take(Int32Array, n) });
  return { train: split(train), test: split(test) };
}

const digits = readDigits(process.env.MIXPREC_README_DIGITS);
const dataset = ({ images, labels }) =>
  new mp.data.TensorDataset(mp.keep(mp.tensor(images, { shape: [labels.length, 784] })), mp.keep(mp.tensor(labels)));
mnistModule.mnist = () => ({ train: dataset(digits.train), test: dataset(digits.test) });

process.on('exit', () => {
  const { numTensors, numCollected, numBytes } = mp.memory();
  fs.writeFileSync(process.env.MIXPREC_README_MEMORY, JSON.stringify({ numTensors: numTensors + numCollected, numBytes }));
});
