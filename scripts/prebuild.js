#!/usr/bin/env node
// `npm run prebuild`: puts this platform's addon under prebuilds/<platform>-<arch>/ for `npm pack`
// to ship. The binary is build/Release's, reused when its key (scripts/native-build-key.js) matches
// the sources and toolchain, else built from source first (CUDA included where nvcc is found,
// linked with the static CUDA runtime, so it loads on machines without a GPU or driver).
// Named mixprec.napi.cuda.node when it holds the CUDA kernels, mixprec.napi.node when not;
// mixprec.build.json beside it records its key, which the install script checks.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const { root, fileHash } = require('./native-build-key');
const { binary, stampFile, platformTag } = require('./build-native');

const build = spawnSync(process.execPath, [path.join(__dirname, 'build-native.js')], {
  stdio: 'inherit',
  env: { ...process.env, MIXPREC_BUILD_FROM_SOURCE: '1' },
});
if (build.status !== 0) process.exit(build.status || 1);

const stamp = JSON.parse(fs.readFileSync(stampFile, 'utf8'));
if (stamp.binary !== fileHash(binary)) {
  console.error(`mixprec: ${path.relative(root, binary)} does not match ${path.relative(root, stampFile)}; run npm run build:native`);
  process.exit(1);
}
const dir = path.join(root, 'prebuilds', platformTag());
fs.rmSync(dir, { recursive: true, force: true });
fs.mkdirSync(dir, { recursive: true });
const file = stamp.cuda ? 'mixprec.napi.cuda.node' : 'mixprec.napi.node';
fs.copyFileSync(binary, path.join(dir, file));
fs.writeFileSync(path.join(dir, 'mixprec.build.json'), `${JSON.stringify({ ...stamp, file }, null, 2)}\n`);
const mb = (fs.statSync(binary).size / 1e6).toFixed(1);
console.log(`mixprec: prebuild ${path.relative(root, path.join(dir, file))} (${stamp.cuda ? 'with CUDA' : 'CPU only'}, ${mb} MB)`);
