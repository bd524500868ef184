#!/usr/bin/env node
// The long run of test/fuzz.test.ts (issue 15): the same fast-check properties with a larger time
// budget and a chosen seed; prints the cases run per property and the seed to replay a failure.
//   npm run fuzz [-- --seconds 600] [-- --seed 15]
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { numberOption } = require('../bench/cliArgs');

const seconds = numberOption('--seconds', 600);
const seed = numberOption('--seed', Date.now() % 2 ** 31);
console.log(`fuzz: seed ${seed}, ${seconds} s over the properties of test/fuzz.test.ts`);
const root = path.join(__dirname, '..');
const result = spawnSync(process.execPath, ['--expose-gc', path.join(root, 'node_modules/jest/bin/jest.js'), 'test/fuzz.test.ts'], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, MIXPREC_FUZZ_SEED: String(seed), MIXPREC_FUZZ_SECONDS: String(seconds), MIXPREC_FUZZ_RUNS: '10000000' },
});
process.exitCode = result.status ?? 1;
