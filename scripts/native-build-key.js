// What decides the bytes of build/Release/mixprec.node, hashed: the install script reuses a build
// whose key is unchanged and rebuilds otherwise, and a prebuild is used only where it was built
// from the same sources. Shared by scripts/build-native.js and scripts/prebuild.js.
'use strict';
const { spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

/** Files the build reads: every file under csrc/ (headers included) and the build descriptions. */
function buildInputs(dir = root) {
  // A scratch copy for the node-gyp build may lack CMakeLists.txt; what is absent cannot change.
  const files = ['CMakeLists.txt', 'binding.gyp', 'sources.json'].filter((f) => fs.existsSync(path.join(dir, f)));
  const walk = (rel) => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const child = path.posix.join(rel, entry.name);
      if (entry.isDirectory()) walk(child);
      else if (entry.isFile()) files.push(child);
    }
  };
  walk('csrc');
  return files.sort();
}

/** sha256 over the build inputs' paths and contents. */
function sourceHash(dir = root) {
  const h = crypto.createHash('sha256');
  for (const rel of buildInputs(dir)) {
    h.update(`${rel}\0`);
    h.update(fs.readFileSync(path.join(dir, rel)));
    h.update('\0');
  }
  return h.digest('hex');
}

/** The first line of `tool --version`, or null when the tool does not run. */
function toolVersion(tool, args = ['--version']) {
  const r = spawnSync(tool, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  if (r.status !== 0 || !r.stdout) return null;
  return r.stdout.trim().split('\n').find((line) => /\d+\.\d+/.test(line))?.trim() ?? r.stdout.trim().split('\n')[0];
}

/** The nvcc CMake's check_language(CUDA) would find: $CUDACXX, nvcc on PATH, then /usr/local/cuda. */
function findNvcc() {
  for (const candidate of [process.env.CUDACXX, 'nvcc', '/usr/local/cuda/bin/nvcc']) {
    if (!candidate) continue;
    const version = toolVersion(candidate);
    if (version) return { path: candidate, version: (version.match(/V(\d+\.\d+\.\d+)/) || version.match(/release (\d+\.\d+)/) || [null, version])[1] };
  }
  return null;
}

function packageVersion(name) {
  try {
    return require(require.resolve(`${name}/package.json`, { paths: [root] })).version;
  } catch {
    return null;
  }
}

/**
 * The key of a from-source build: sources, build system, CUDA (the nvcc version, or why not),
 * compiler, header packages, platform and the environment the compilers read. MIXPREC_WERROR is
 * left out: it fails a build or not, and never changes the binary it makes.
 */
function buildKey({ system, cuda }) {
  const nvcc = cuda === 'OFF' || system === 'gyp' ? null : findNvcc();
  const env = {};
  for (const name of ['CXX', 'CC', 'CXXFLAGS', 'CFLAGS', 'LDFLAGS', 'CUDACXX', 'CUDAFLAGS', 'CUDAARCHS']) {
    if (process.env[name]) env[name] = process.env[name];
  }
  const inputs = {
    sources: sourceHash(),
    system,
    cuda: nvcc ? `nvcc ${nvcc.version}` : cuda === 'ON' ? 'required, nvcc not found' : 'off',
    compiler: toolVersion(process.env.CXX || 'c++'),
    cmake: system === 'cmake' ? toolVersion('cmake') : null,
    nodeAddonApi: packageVersion('node-addon-api'),
    nodeApiHeaders: packageVersion('node-api-headers'),
    platform: `${process.platform}-${process.arch}`,
    env,
  };
  const hash = crypto.createHash('sha256').update(JSON.stringify(inputs)).digest('hex');
  return { hash, inputs, nvcc };
}

function fileHash(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

module.exports = { root, buildInputs, sourceHash, buildKey, findNvcc, fileHash, toolVersion };
