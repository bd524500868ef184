#!/usr/bin/env node
// Builds build/Release/mixprec.node from source: with cmake-js when `cmake` is on PATH (CPU, plus
// CUDA where nvcc is found), otherwise with node-gyp and binding.gyp (CPU only).
//   MIXPREC_CUDA=0|1   skip CUDA / require it (default: use it when found)
//   MIXPREC_BUILD=gyp  force the node-gyp build
//   CI=true            compiler warnings become errors
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

function run(command, args, env) {
  console.log(`[mixprec] ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    console.error(`[mixprec] native build failed (${path.basename(command)} exited with ${result.status})`);
    process.exit(result.status || 1);
  }
}

function onPath(tool) {
  return spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0;
}

function cudaSetting() {
  const v = (process.env.MIXPREC_CUDA || '').trim().toLowerCase();
  if (v === '' || v === 'auto') return 'AUTO';
  if (v === '0' || v === 'off' || v === 'false') return 'OFF';
  if (v === '1' || v === 'on' || v === 'true') return 'ON';
  console.error(`[mixprec] MIXPREC_CUDA must be 0, 1 or auto, got '${process.env.MIXPREC_CUDA}'`);
  process.exit(1);
}

// node-gyp: the one npm hands its scripts, a local install, or the copy bundled with npm.
function findNodeGyp() {
  if (process.env.npm_config_node_gyp) return process.env.npm_config_node_gyp;
  try {
    return require.resolve('node-gyp/bin/node-gyp.js');
  } catch {
    const globalRoot = spawnSync('npm', ['root', '-g'], { encoding: 'utf8' }).stdout.trim();
    const bundled = path.join(globalRoot, 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
    if (fs.existsSync(bundled)) return bundled;
    console.error('[mixprec] node-gyp not found: install cmake (preferred) or node-gyp');
    process.exit(1);
  }
}

const cuda = cudaSetting();
const strict = Boolean(process.env.CI) && process.env.CI !== 'false';
const useGyp = process.env.MIXPREC_BUILD === 'gyp' || !onPath('cmake');

// Always a clean build: the CUDA setting must not leak from a cached configuration. Removing the
// folder here, before cmake starts, also avoids cmake-js's own 'rebuild' racing its clean step
// against CUDA compiler detection (seen as "getcwd() failed" from nvcc).
fs.rmSync(path.join(root, 'build'), { recursive: true, force: true });

if (useGyp) {
  if (cuda === 'ON') {
    console.error('[mixprec] MIXPREC_CUDA=1 needs cmake (the node-gyp fallback builds the CPU backend only)');
    process.exit(1);
  }
  const gyp = findNodeGyp();
  // Build against the headers installed with this Node, so node-gyp never downloads them.
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  const nodedir = process.env.npm_config_nodedir ||
    (fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined);
  run(process.execPath, [gyp, 'rebuild', `--jobs=${os.cpus().length}`, ...(nodedir ? [`--nodedir=${nodedir}`] : [])]);
} else {
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  run(process.execPath, [
    cmakeJs,
    'build',
    '--log-level', 'warn',
    `--parallel`, String(os.cpus().length),
    `--CDMIXPREC_CUDA=${cuda}`,
    `--CDMIXPREC_WERROR=${strict ? 'ON' : 'OFF'}`,
  ]);
}
