#!/usr/bin/env node
// Per-call cost of ops on a few elements, where the JS layer and the addon boundary dominate:
// best of 40 batches of calls. With --against DIR, another checkout's built package (DIR/dist)
// is measured too, in alternating child processes (one package per process, so the two thread
// pools never compete), and the table shows both with their ratio.
//   node bench/smallOps.js [--against ../other-checkout] [--rounds 3]
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { numberOption, stringOption } = require('./cliArgs');

function measure(mp) {
  const t = mp.keep(mp.rand([8]));
  const m2 = mp.keep(mp.rand([2, 2]));
  const a = mp.keep(mp.rand([64, 64]));
  const b = mp.keep(mp.rand([64, 64]));
  const best = (fn, reps) => {
    let us = Infinity;
    for (let r = 0; r < 40; ++r) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < reps; ++i) fn();
      us = Math.min(us, Number(process.hrtime.bigint() - t0) / 1e3 / reps);
    }
    return us;
  };
  return {
    'empty [8] + dispose': best(() => mp.empty([8]).dispose(), 2000),
    'add [8]': best(() => mp.tidy(() => t.add(t)), 2000),
    'exp [8]': best(() => mp.tidy(() => t.exp()), 2000),
    'slice + cat [8]': best(() => mp.tidy(() => mp.cat([t.slice(0, 0, 4), t], 0)), 2000),
    'matmul 2×2': best(() => mp.tidy(() => mp.matmul(m2, m2)), 2000),
    'matmul 64³': best(() => mp.tidy(() => mp.matmul(a, b)), 200),
  };
}

if (process.env.MIXPREC_SMALL_OPS_PACKAGE) {
  // A child: measure one package and report as JSON.
  const mp = require(process.env.MIXPREC_SMALL_OPS_PACKAGE);
  process.stdout.write(JSON.stringify({ simd: mp.backend().simd, times: measure(mp) }));
  return;
}

function runChild(pkg) {
  const r = spawnSync(process.execPath, [__filename], { env: { ...process.env, MIXPREC_SMALL_OPS_PACKAGE: pkg }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`measuring ${pkg} failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const against = stringOption('--against', '');
const rounds = numberOption('--rounds', 3);
const packages = [path.resolve(__dirname, '..', 'dist'), ...(against ? [path.resolve(against, 'dist')] : [])];
const best = packages.map(() => ({}));
let simd = '';
for (let round = 0; round < rounds; ++round) {
  const order = round % 2 ? [...packages.keys()].reverse() : [...packages.keys()];
  for (const i of order) {
    const r = runChild(packages[i]);
    simd = r.simd;
    for (const [k, us] of Object.entries(r.times)) best[i][k] = Math.min(best[i][k] ?? Infinity, us);
  }
}
console.log(`CPU SIMD path: ${simd}; best µs per call over ${rounds} process(es) per package`);
const header = against ? `| op | this checkout | ${against} | this / other |\n|---|---|---|---|` : '| op | µs |\n|---|---|';
console.log(header);
for (const k of Object.keys(best[0])) {
  const cells = [best[0][k].toFixed(2), ...(against ? [best[1][k].toFixed(2), (best[0][k] / best[1][k]).toFixed(2)] : [])];
  console.log(`| ${k} | ${cells.join(' | ')} |`);
}
