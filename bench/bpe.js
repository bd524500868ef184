#!/usr/bin/env node
// The data pipeline of the GPT example, timed stage by stage: reading and cleaning the Brown
// corpus, training the byte-level BPE on the train split (issue 14: a 4k vocabulary in under a
// minute), encoding both splits, decoding the train split back, and drawing token batches.
//   npm run bench:bpe [-- --vocab 4096] [-- --repeats 3] [-- --split train] [-- --json [FILE]]
//     --vocab N     vocabulary size to train (default 4096)
//     --repeats N   BPE trainings timed; the table shows the best and the worst (default 3)
//     --split S     the text the BPE trains on and encodes: train (default) or all
// Each stage reports wall-clock seconds and this process's CPU seconds (user + system): on a
// machine shared with other jobs the wall clock includes waiting for a core, the CPU time not.
'use strict';
const mp = require('../dist');
const { json, printJson, numberOption, stringOption } = require('./cliArgs');

const vocabSize = numberOption('--vocab', 4096);
const repeats = numberOption('--repeats', 3);
const split = stringOption('--split', 'train');
if (split !== 'train' && split !== 'all') throw new Error(`bpe bench: --split must be train or all, got ${split}`);
const say = json ? () => {} : (s = '') => console.log(s);

function timed(fn) {
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  const value = fn();
  const cpu = process.cpuUsage(c0);
  return { value, seconds: Number(process.hrtime.bigint() - t0) / 1e9, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

const load = timed(() => ({ train: mp.data.brown({ split }), validation: mp.data.brown({ split: 'validation' }) }));
const { train, validation } = load.value;
const trainings = [];
let tok;
for (let r = 0; r < repeats; ++r) {
  const t = timed(() => mp.data.BytePairTokenizer.train(train, { vocabSize }));
  trainings.push(t);
  tok = t.value;
}
const encodeTrain = timed(() => tok.encode(train));
const encodeValidation = timed(() => tok.encode(validation));
const decodeTrain = timed(() => tok.decode(encodeTrain.value));
if (decodeTrain.value !== train) throw new Error('bpe bench: decode(encode(train)) differs from the train text');
// Again, with the memo of each piece's ids filled by the first call.
const warmEncode = timed(() => tok.encode(train));
const data = new mp.data.TokenDataset(encodeTrain.value, { blockSize: 256, seed: 0 });
const batches = timed(() => {
  for (const { x, y } of data.batches(100, 32)) mp.dispose([x, y]);
});

const result = {
  backend: { simd: mp.backend().simd, threads: mp.backend().numThreads },
  corpus: { split, chars: train.length, validationChars: validation.length, loadSeconds: load.seconds, loadCpuSeconds: load.cpuSeconds },
  bpe: {
    vocabSize: tok.vocabSize,
    trainSeconds: trainings.map((t) => t.seconds),
    trainCpuSeconds: trainings.map((t) => t.cpuSeconds),
    trainTokens: encodeTrain.value.length,
    validationTokens: encodeValidation.value.length,
    charsPerToken: train.length / encodeTrain.value.length,
    encodeTrainSeconds: encodeTrain.seconds,
    encodeTrainAgainSeconds: warmEncode.seconds,
    encodeValidationSeconds: encodeValidation.seconds,
    decodeTrainSeconds: decodeTrain.seconds,
  },
  tokenDataset: { batches: 100, batchSize: 32, blockSize: 256, seconds: batches.seconds },
};

const f = (s) => `${s.toFixed(2)} s`;
const fc = (t) => `${f(t.seconds)} (${f(t.cpuSeconds)} CPU)`;
const best = trainings.reduce((a, b) => (b.seconds < a.seconds ? b : a));
const worst = trainings.reduce((a, b) => (b.seconds > a.seconds ? b : a));
say(`backend: ${result.backend.simd}, ${result.backend.threads} threads`);
say(`Brown corpus: ${split} ${train.length.toLocaleString()} chars, validation ${validation.length.toLocaleString()} chars, read and cleaned in ${fc(load)}`);
say(`BPE training, vocab ${tok.vocabSize} on the ${split} split: best ${fc(best)}, worst ${fc(worst)} of ${repeats} (target: under 60 s)`);
say(`encode ${split}: ${encodeTrain.value.length.toLocaleString()} tokens (${result.bpe.charsPerToken.toFixed(2)} chars/token) in ${fc(encodeTrain)}; ${fc(warmEncode)} again with the piece memo filled`);
say(`encode validation: ${encodeValidation.value.length.toLocaleString()} tokens in ${fc(encodeValidation)}; decode ${split} in ${fc(decodeTrain)} (round trip exact)`);
say(`TokenDataset: 100 batches of 32 x 256 in ${fc(batches)}`);
printJson(result);
