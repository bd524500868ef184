#!/usr/bin/env node
// npm install's script: makes the native addon available the cheapest way that is right, and says
// which in one line.
//   1. build/Release from an earlier build whose key (scripts/native-build-key.js: sources,
//      flags, toolchain) is unchanged: reused;
//   2. a prebuild (prebuilds/<platform>-<arch>/, shipped in the npm package) built from these
//      same sources: nothing to compile, no compiler needed;
//   3. otherwise a clean build from source: cmake (CPU, plus CUDA where nvcc is found), or
//      node-gyp with binding.gyp (CPU only) where cmake is missing.
// Settings:
//   MIXPREC_CUDA=0|1            never compile CUDA / require it (default: where nvcc is found); a
//                               prebuild is used only where it agrees
//   MIXPREC_BUILD_FROM_SOURCE=1 skip the prebuild (also `npm install --build-from-source`)
//   MIXPREC_BUILD=gyp           build with node-gyp
//   MIXPREC_VERBOSE=1           show the compiler output (always shown when a build fails)
//   CI=true                     compiler warnings become errors
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { root, buildKey, fileHash, sourceHash } = require('./native-build-key');

const buildDir = path.join(root, 'build');
const binary = path.join(buildDir, 'Release', 'mixprec.node');
const stampFile = path.join(buildDir, 'Release', 'mixprec.build.json');
const verbose = flag(process.env.MIXPREC_VERBOSE);

function flag(value) {
  return ['1', 'true', 'on', 'yes'].includes(String(value ?? '').trim().toLowerCase());
}

function fail(message, log) {
  if (log) process.stderr.write(log);
  console.error(`mixprec: ${message}`);
  process.exit(1);
}

function cudaSetting() {
  const v = (process.env.MIXPREC_CUDA || '').trim().toLowerCase();
  if (v === '' || v === 'auto') return 'AUTO';
  if (v === '0' || v === 'off' || v === 'false') return 'OFF';
  if (v === '1' || v === 'on' || v === 'true') return 'ON';
  return fail(`MIXPREC_CUDA must be 0, 1 or auto, got '${process.env.MIXPREC_CUDA}'`);
}

/** Runs a build step; its output is kept for a failure unless MIXPREC_VERBOSE shows it live. */
function run(command, args, hint = '') {
  if (verbose) console.log(`mixprec: ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, {
    cwd: root,
    stdio: verbose ? 'inherit' : ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (result.error) fail(`cannot run ${command}: ${result.error.message}`);
  if (result.status !== 0) {
    fail(`native build failed (${path.basename(command)} exited with ${result.status}); the output is above. ${hint}` +
      'The README\'s install section lists what a build from source needs.', `${result.stdout ?? ''}${result.stderr ?? ''}`);
  }
}

function onPath(tool) {
  return spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0;
}

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

/** "80-real;90" → "sm_80, sm_90 + compute_90 PTX". */
function describeArchitectures(list) {
  const sass = [];
  const ptx = [];
  for (const entry of String(list).split(';').filter(Boolean)) {
    const [arch, kind] = entry.split('-');
    if (kind !== 'virtual') sass.push(`sm_${arch}`);
    if (kind !== 'real') ptx.push(`compute_${arch}`);
  }
  return `${sass.join(', ')}${ptx.length ? ` + ${ptx.join(', ')} PTX` : ''}`;
}

function describeBuild(stamp) {
  return stamp.cuda ? `with CUDA ${describeArchitectures(stamp.cudaArchitectures)}, nvcc ${stamp.nvcc}` : 'CPU only';
}

/** The glibc Linux x64 prebuild is the only kind this package ships for Linux; musl needs a source build. */
function platformTag() {
  if (process.platform === 'linux' && !process.report?.getReport().header.glibcVersionRuntime) return `${process.platform}-${process.arch}-musl`;
  return `${process.platform}-${process.arch}`;
}

/** The prebuild for this platform when it was built from these sources and agrees with MIXPREC_CUDA; else why not. */
function findPrebuild(cuda) {
  const dir = path.join(root, 'prebuilds', platformTag());
  const stamp = readJson(path.join(dir, 'mixprec.build.json'));
  if (!stamp) return { reason: `no prebuild for ${platformTag()}` };
  const file = path.join(dir, stamp.file);
  if (!fs.existsSync(file) || fileHash(file) !== stamp.binary) return { reason: `the prebuild in prebuilds/${platformTag()} is incomplete` };
  if (stamp.inputs.sources !== sourceHash()) return { reason: 'the sources differ from the prebuild\'s' };
  if (cuda === 'OFF' && stamp.cuda) return { reason: 'MIXPREC_CUDA=0 and the prebuild includes CUDA' };
  if (cuda === 'ON' && !stamp.cuda) return { reason: 'MIXPREC_CUDA=1 and the prebuild is CPU only' };
  return { file, stamp };
}

/** A clean build from source; returns the stamp it wrote next to the binary. */
function buildFromSource(system, cuda, key) {
  // A clean folder: a CMakeCache from another checkout path or another MIXPREC_CUDA must not be
  // reused (this is why the old script deleted build/ on every install; the key now decides).
  fs.rmSync(buildDir, { recursive: true, force: true });
  const strict = flag(process.env.CI);
  let config = { cuda: false };
  if (system === 'gyp') {
    if (cuda === 'ON') fail('MIXPREC_CUDA=1 needs cmake (the node-gyp fallback builds the CPU backend only)');
    run(process.execPath, [findNodeGyp(), 'rebuild', `--jobs=${os.cpus().length}`, ...nodedirArgs()]);
  } else {
    run('cmake', ['-S', root, '-B', buildDir, '-DCMAKE_BUILD_TYPE=Release', `-DMIXPREC_CUDA=${cuda}`,
      `-DMIXPREC_WERROR=${strict ? 'ON' : 'OFF'}`, ...(verbose ? [] : ['--log-level=WARNING'])]);
    config = readJson(path.join(buildDir, 'mixprec-config.json')) ?? config;
    run('cmake', ['--build', buildDir, '--parallel', String(os.cpus().length)],
      config.cuda ? 'To build without the CUDA kernels, set MIXPREC_CUDA=0. ' : '');
  }
  if (!fs.existsSync(binary)) fail(`the build finished but ${path.relative(root, binary)} is missing`);
  const stamp = { file: 'mixprec.node', hash: key.hash, inputs: key.inputs, binary: fileHash(binary), ...config };
  fs.writeFileSync(stampFile, `${JSON.stringify(stamp, null, 2)}\n`);
  return stamp;
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
    return fail('neither cmake nor node-gyp was found: install cmake (preferred) or node-gyp, and a C++ compiler');
  }
}

// Build against the headers installed with this Node, so node-gyp never downloads them.
function nodedirArgs() {
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  const nodedir = process.env.npm_config_nodedir ||
    (fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined);
  return nodedir ? [`--nodedir=${nodedir}`] : [];
}

function main() {
  const started = process.hrtime.bigint();
  const cuda = cudaSetting();
  const fromSource = flag(process.env.MIXPREC_BUILD_FROM_SOURCE) || flag(process.env.npm_config_build_from_source);
  // cmake drives the compilers directly on Linux and macOS; Windows needs node-gyp's node.lib.
  const system = () => (process.env.MIXPREC_BUILD === 'gyp' || process.platform === 'win32' || !onPath('cmake') ? 'gyp' : 'cmake');

  // An unchanged from-source build first: it is what lib/native.ts loads before any prebuild.
  // Its key (a few tool --version calls) is computed only where an earlier build left a stamp.
  const previous = readJson(stampFile);
  let key = previous ? buildKey({ system: system(), cuda }) : null;
  if (key && previous.hash === key.hash && fs.existsSync(binary) && fileHash(binary) === previous.binary) {
    console.log(`mixprec: reused build/Release/mixprec.node (sources and flags unchanged; ${describeBuild(previous)})`);
    return;
  }

  let whyBuild = '--build-from-source';
  if (!fromSource) {
    const prebuild = findPrebuild(cuda);
    if (prebuild.file) {
      // A stale from-source binary would be loaded instead of the prebuild (lib/nativePath.ts).
      const stale = fs.existsSync(binary);
      fs.rmSync(binary, { force: true });
      fs.rmSync(stampFile, { force: true });
      console.log(`mixprec: using prebuild ${path.relative(root, prebuild.file)} (${describeBuild(prebuild.stamp)}; nothing compiled` +
        `${stale ? '; removed the out-of-date build/Release/mixprec.node' : ''})`);
      return;
    }
    whyBuild = prebuild.reason;
  }

  key ??= buildKey({ system: system(), cuda });
  const changed = Object.keys(key.inputs).filter((k) => JSON.stringify(previous?.inputs?.[k]) !== JSON.stringify(key.inputs[k]));
  const why = !previous ? whyBuild : changed.length ? `${changed.join(', ')} changed since the last build`
    : 'build/Release/mixprec.node changed since the last build';
  const stamp = buildFromSource(key.inputs.system, cuda, key);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const how = key.inputs.system === 'gyp' ? 'with node-gyp, CPU only' : stamp.cuda ? describeBuild(stamp)
    : `CPU only: ${cuda === 'OFF' ? 'MIXPREC_CUDA=0' : 'nvcc not found'}`;
  console.log(`mixprec: built build/Release/mixprec.node from source (${how}) in ${seconds.toFixed(0)} s, because ${why}`);
}

if (require.main === module) main();

module.exports = { describeArchitectures, platformTag, findPrebuild, binary, stampFile };
