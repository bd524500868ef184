// Peak RSS of loading a 1 GiB safetensors file (npm run build:ts first).
//   node bench/safetensorsLarge.js [--gib 1] [--dir /tmp]
// Writes the file by hand (header + a byte pattern, never through a tensor), then loads it in a
// fresh process with mp.load and with mp.loadAsync, each reporting its peak RSS
// (process.resourceUsage().maxRSS) and checking a sample of the values. The file is deleted
// afterwards. Needs the file's size in free disk and in memory.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};

if (args[0] === '--child') {
  const mp = require(path.join(__dirname, '..', 'dist'));
  const [, file, mode] = args;
  const run = async () => {
    const t0 = process.hrtime.bigint();
    const tensors = mode === 'async' ? await mp.loadAsync(file) : mp.load(file);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const t = tensors.big;
    // Value i of the pattern is i mod 1021 (as float32); sample without reading all of it back.
    for (const i of [0, 1, 1020, 1021, t.numel - 1]) {
      const v = t.narrow(0, i, 1);
      const got = v.item();
      v.dispose();
      if (got !== i % 1021) throw new Error(`value ${i}: got ${got}, expected ${i % 1021}`);
    }
    console.log(JSON.stringify({ mode, bytes: t.numel * 4, seconds, maxRssBytes: process.resourceUsage().maxRSS * 1024 }));
  };
  run().catch((e) => {
    console.error(e);
    process.exit(1);
  });
} else {
  const gib = Number(arg('gib', '1'));
  const file = path.join(arg('dir', os.tmpdir()), `mixprec-large-${process.pid}.safetensors`);
  const numel = Math.floor((gib * 2 ** 30) / 4);
  const header = Buffer.from(JSON.stringify({ big: { dtype: 'F32', shape: [numel], data_offsets: [0, numel * 4] } }));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(header.length));
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, Buffer.concat([prefix, header]));
    const chunk = new Float32Array(1 << 20);
    for (let at = 0; at < numel; at += chunk.length) {
      const n = Math.min(chunk.length, numel - at);
      for (let k = 0; k < n; ++k) chunk[k] = (at + k) % 1021;
      fs.writeSync(fd, new Uint8Array(chunk.buffer, 0, n * 4));
    }
  } finally {
    fs.closeSync(fd);
  }
  try {
    const results = [];
    for (const mode of ['sync', 'async']) {
      const r = spawnSync(process.execPath, [__filename, '--child', file, mode], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${mode} load failed: ${r.stderr}`);
      results.push(JSON.parse(r.stdout.trim().split('\n').pop()));
    }
    const baseline = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(path.join(__dirname, '..', 'dist'))}); console.log(process.resourceUsage().maxRSS * 1024)`], { encoding: 'utf8' });
    const base = Number(baseline.stdout.trim());
    console.log(`file: ${(numel * 4) / 2 ** 30} GiB of float32 data; a process that only loads mixprec peaks at ${(base / 2 ** 20).toFixed(0)} MiB RSS`);
    for (const r of results) {
      console.log(`${r.mode.padEnd(5)} load: ${r.seconds.toFixed(2)} s, peak RSS ${(r.maxRssBytes / 2 ** 30).toFixed(3)} GiB (${(r.maxRssBytes / r.bytes).toFixed(3)} × the data)`);
    }
  } finally {
    fs.rmSync(file, { force: true });
  }
}
