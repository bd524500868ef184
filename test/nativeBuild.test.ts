// The install script's choice (scripts/build-native.js): prebuild, reuse of an unchanged build, or
// a rebuild. Runs the script in a scratch copy of the package whose "binaries" are marker files,
// with node-gyp pointed at a missing file, so a decision to compile shows as a fast failure
// instead of minutes of compiling. About 3 s.
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const repo = path.join(__dirname, '..');
let pkg: string;

type KeyModule = {
  buildKey(o: { system: string; cuda: string }): { hash: string; inputs: Record<string, unknown> };
  sourceHash(dir?: string): string;
};
const keyModule = (): KeyModule => require(path.join(pkg, 'scripts', 'native-build-key.js')) as KeyModule;
const sha256 = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const tag = `${process.platform}-${process.arch}`;

function install(env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [path.join(pkg, 'scripts', 'build-native.js')], {
    encoding: 'utf8',
    env: { ...process.env, CI: '', MIXPREC_BUILD: 'gyp', MIXPREC_CUDA: '', npm_config_build_from_source: '', npm_config_node_gyp: path.join(pkg, 'no-node-gyp.js'), ...env },
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}`.trim() };
}

function writeBuild(key = keyModule().buildKey({ system: 'gyp', cuda: 'AUTO' })) {
  const dir = path.join(pkg, 'build', 'Release');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'mixprec.node'), 'a from-source build');
  const stamp = { file: 'mixprec.node', hash: key.hash, inputs: key.inputs, binary: sha256(path.join(dir, 'mixprec.node')), cuda: false };
  fs.writeFileSync(path.join(dir, 'mixprec.build.json'), JSON.stringify(stamp));
}

function writePrebuild() {
  const dir = path.join(pkg, 'prebuilds', tag);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'mixprec.napi.cuda.node'), 'a prebuild');
  const stamp = { file: 'mixprec.napi.cuda.node', inputs: { sources: keyModule().sourceHash(pkg) }, binary: sha256(path.join(dir, 'mixprec.napi.cuda.node')),
    cuda: true, nvcc: '13.0.88', cudaArchitectures: '80-real;90' };
  fs.writeFileSync(path.join(dir, 'mixprec.build.json'), JSON.stringify(stamp));
}

const source = () => path.join(pkg, 'csrc', 'core', 'storage.cpp');

beforeEach(() => {
  pkg = fs.mkdtempSync(path.join(os.tmpdir(), 'mixprec-pkg-'));
  for (const entry of ['csrc', 'CMakeLists.txt', 'binding.gyp', 'sources.json', 'package.json', 'scripts/build-native.js', 'scripts/native-build-key.js']) {
    fs.cpSync(path.join(repo, entry), path.join(pkg, entry), { recursive: true });
  }
  fs.symlinkSync(path.join(repo, 'node_modules'), path.join(pkg, 'node_modules'));
  for (const file of Object.keys(require.cache)) if (file.startsWith(pkg)) delete require.cache[file];
});

afterEach(() => fs.rmSync(pkg, { recursive: true, force: true }));

test('an unchanged build is reused; a touched comment in a source or a changed CXXFLAGS rebuilds it', () => {
  writeBuild();
  expect(install()).toEqual({ status: 0, out: 'mixprec: reused build/Release/mixprec.node (sources and flags unchanged; CPU only)' });
  expect(install({ MIXPREC_BUILD_FROM_SOURCE: '1' }).out).toMatch(/^mixprec: reused /);

  const flags = install({ CXXFLAGS: '-O1' });
  expect(flags.status).toBe(1);
  expect(flags.out).toMatch(/mixprec: native build failed \(node exited with 1\)/);
  expect(fs.existsSync(path.join(pkg, 'build'))).toBe(false); // a rebuild starts clean

  writeBuild();
  fs.appendFileSync(source(), '// a comment\n');
  expect(install().status).toBe(1);
  expect(fs.existsSync(path.join(pkg, 'build'))).toBe(false);
});

test('the key covers headers, build descriptions, toolchain and compiler environment, not MIXPREC_WERROR', () => {
  const { buildKey } = keyModule();
  const base = buildKey({ system: 'cmake', cuda: 'OFF' });
  expect(buildKey({ system: 'cmake', cuda: 'OFF' }).hash).toBe(base.hash);
  expect(Object.keys(base.inputs).sort()).toEqual(['cmake', 'compiler', 'cuda', 'env', 'nodeAddonApi', 'nodeApiHeaders', 'platform', 'sources', 'system']);
  expect(base.inputs.cuda).toBe('off');
  expect(buildKey({ system: 'gyp', cuda: 'OFF' }).hash).not.toBe(base.hash);
  fs.appendFileSync(path.join(pkg, 'csrc', 'core', 'dtype.h'), '\n');
  const header = buildKey({ system: 'cmake', cuda: 'OFF' });
  expect(header.inputs.sources).not.toBe(base.inputs.sources);
  fs.appendFileSync(path.join(pkg, 'CMakeLists.txt'), '\n');
  expect(buildKey({ system: 'cmake', cuda: 'OFF' }).inputs.sources).not.toBe(header.inputs.sources);
});

test('a prebuild from the same sources is used without compiling; --build-from-source, a disagreeing MIXPREC_CUDA or changed sources skip it', () => {
  writePrebuild();
  expect(install()).toEqual({
    status: 0,
    out: `mixprec: using prebuild prebuilds/${tag}/mixprec.napi.cuda.node (with CUDA sm_80, sm_90 + compute_90 PTX, nvcc 13.0.88; nothing compiled)`,
  });
  expect(install({ MIXPREC_CUDA: '1' }).status).toBe(0);
  const skips: Record<string, string>[] = [{ npm_config_build_from_source: 'true' }, { MIXPREC_BUILD_FROM_SOURCE: '1' }, { MIXPREC_CUDA: '0' }];
  for (const env of skips) {
    expect(install(env)).toMatchObject({ status: 1, out: expect.stringMatching(/mixprec: native build failed/) });
  }
  fs.appendFileSync(source(), '// a comment\n');
  expect(install().status).toBe(1);
});

test('an unchanged from-source build wins over a prebuild (it is loaded first); an out-of-date one is removed for the prebuild', () => {
  writePrebuild();
  writeBuild();
  expect(install().out).toMatch(/^mixprec: reused build\/Release\/mixprec.node /);
  writeBuild({ hash: 'an older build', inputs: {} });
  expect(install()).toEqual({
    status: 0,
    out: `mixprec: using prebuild prebuilds/${tag}/mixprec.napi.cuda.node (with CUDA sm_80, sm_90 + compute_90 PTX, nvcc 13.0.88; nothing compiled; ` +
      'removed the out-of-date build/Release/mixprec.node)',
  });
  expect(fs.existsSync(path.join(pkg, 'build', 'Release', 'mixprec.node'))).toBe(false);
});
