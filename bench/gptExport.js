#!/usr/bin/env node
// Writes what bench/gptTorchReference.py needs to train the GPT example's model from the same
// start on the same batches: config.json, init.safetensors (the initial weights of seed S) and
// batches.safetensors (every training and validation batch, int32 token ids).
//   npx tsc -p examples/tsconfig.json && node bench/gptExport.js DIR [--preset tiny|small|medium] [--seed S]
'use strict';
const { mkdirSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const mp = require('..');
const { presets } = require('../examples/build/gpt/config');
const { loadGptData } = require('../examples/build/gpt/data');
const { Gpt } = require('../examples/build/gpt/model');
const { stringOption, numberOption } = require('./cliArgs');

const dir = process.argv[2];
if (dir === undefined || dir.startsWith('--')) throw new Error('usage: node bench/gptExport.js DIR [--preset tiny|small|medium] [--seed S]');
const presetName = stringOption('--preset', 'small');
const config = presets[presetName];
if (config === undefined) throw new Error(`gptExport: --preset must be one of ${Object.keys(presets).join(', ')}, got '${presetName}'`);
const seed = numberOption('--seed', 0);

const data = loadGptData(config.vocabSize, (line) => process.stderr.write(`${line}\n`));
mkdirSync(dir, { recursive: true });
// The same order of draws as examples/gpt/train.ts: seed, build the model, then the batches.
mp.manualSeed(seed);
const model = new Gpt({ ...config.model, vocabSize: data.tokenizer.vocabSize });
mp.save(model.stateDict(), join(dir, 'init.safetensors'));
const micro = config.maxSteps * config.gradAccumSteps;
const stream = data.trainBatches(seed, config.batchSize, config.model.blockSize);
const train = Array.from({ length: micro }, () => stream.next());
const validation = data.validationBatches(config.evalBatches, config.batchSize, config.model.blockSize);
const stacked = {
  train_x: mp.stack(train.map((b) => b.x)),
  train_y: mp.stack(train.map((b) => b.y)),
  val_x: mp.stack(validation.map((b) => b.x)),
  val_y: mp.stack(validation.map((b) => b.y)),
};
mp.save(stacked, join(dir, 'batches.safetensors'));
writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config.model, vocabSize: data.tokenizer.vocabSize, ...config, model: undefined, preset: presetName, seed }, null, 2) + '\n');
mp.dispose([...Object.values(stacked), ...train.flatMap((b) => [b.x, b.y]), ...validation.flatMap((b) => [b.x, b.y])]);
model.dispose();
console.log(`gptExport: wrote ${dir}/{config.json,init.safetensors,batches.safetensors} (preset ${presetName}, seed ${seed}, ${micro} training and ${config.evalBatches} validation batches)`);
