// A child process of test/checkpointCrash.test.ts, run against dist/: saves checkpoints into
// DIR in a loop (steps after the newest one there, keep 2), each with every weight equal to its
// step, printing "saved STEP" after each, until it is killed.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const mp = require(path.join(__dirname, '..', '..', 'dist'));

const dir = process.argv[2];
const model = new mp.nn.Sequential(new mp.nn.Linear(1024, 512), new mp.nn.Linear(512, 1024));
const steps = fs.readdirSync(dir).map((n) => /^checkpoint-(\d+)\.safetensors$/.exec(n)).filter(Boolean).map((m) => Number(m[1]));
let step = steps.length > 0 ? Math.max(...steps) : 0;
for (;;) {
  step += 1;
  mp.noGrad(() => model.parameters().forEach((p) => p.fill_(step)));
  mp.checkpoint.save(dir, { model, step, extra: { step } }, { keep: 2 });
  process.stdout.write(`saved ${step}\n`);
}
