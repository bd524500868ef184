// The W1 step (MLP 784-1024-1024-10, ReLU, softmax cross-entropy, Adam lr 1e-3, batch 256,
// float32) in TensorFlow.js on its pure-JS 'cpu' backend (@tensorflow/tfjs, a devDependency;
// the bench says "tfjs: not installed" without it). Plain ops and variables, no tf.layers, so the
// work matches mixprec's step: three matMul + add, two relu, softmaxCrossEntropy, Adam.
'use strict';
const { timeMs, median } = require('./util');

function loadTf() {
  try {
    return require('@tensorflow/tfjs');
  } catch {
    return undefined;
  }
}

/** Runs `fn` with console.log/warn/info silenced: tfjs greets Node users ("install the node backend"). */
async function quietly(fn) {
  const saved = [console.log, console.warn, console.info];
  console.log = console.warn = console.info = () => {};
  try {
    return await fn();
  } finally {
    [console.log, console.warn, console.info] = saved;
  }
}

function tfjsSection(options) {
  return quietly(() => run(options));
}

async function run({ warmup, steps }) {
  const tf = loadTf();
  if (!tf) return { installed: false };
  await tf.setBackend('cpu');
  await tf.ready();
  const batch = 256;
  const sizes = [784, 1024, 1024, 10];
  const params = [];
  for (let i = 0; i < 3; ++i) {
    const bound = 1 / Math.sqrt(sizes[i]);
    params.push(tf.variable(tf.randomUniform([sizes[i], sizes[i + 1]], -bound, bound, 'float32', 1 + i)));
    params.push(tf.variable(tf.randomUniform([sizes[i + 1]], -bound, bound, 'float32', 11 + i)));
  }
  const x = tf.randomNormal([batch, 784], 0, 1, 'float32', 21);
  const labels = tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32', 22), 10);
  const optimizer = tf.train.adam(1e-3);
  const loss = () => {
    let h = x;
    for (let i = 0; i < 3; ++i) {
      h = tf.add(tf.matMul(h, params[2 * i]), params[2 * i + 1]);
      if (i < 2) h = tf.relu(h);
    }
    return tf.losses.softmaxCrossEntropy(labels, h);
  };
  const step = () => tf.tidy(() => { optimizer.minimize(loss, false, params); });
  for (let i = 0; i < warmup; ++i) step();
  const times = [];
  for (let i = 0; i < steps; ++i) times.push(timeMs(step));
  tf.dispose([x, labels, ...params]);
  optimizer.dispose();
  return { installed: true, version: tf.version.tfjs, backend: tf.getBackend(), batch, steps, medianMs: median(times), minMs: Math.min(...times) };
}

module.exports = { tfjsSection };
