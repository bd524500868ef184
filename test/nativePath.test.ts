// The native addon's lookup order (lib/nativePath.ts), over a fake file listing.
import * as path from 'node:path';

import { nativeCandidates } from '../lib/nativePath';

const root = path.join('/pkg', 'mixprec');
const prebuildDir = path.join(root, 'prebuilds', 'linux-x64');
const listing = (entries: Record<string, string[]>) => (dir: string) => entries[dir] ?? [];

test('MIXPREC_NATIVE_PATH is the only candidate when set', () => {
  const list = listing({ [prebuildDir]: ['mixprec.napi.cuda.node'] });
  expect(nativeCandidates(root, { MIXPREC_NATIVE_PATH: '/x/a.node' }, 'linux', 'x64', list))
    .toEqual([{ file: '/x/a.node', source: 'MIXPREC_NATIVE_PATH' }]);
});

test('a from-source build comes before the prebuilds, and the CUDA prebuild before the CPU one', () => {
  const list = listing({ [prebuildDir]: ['mixprec.build.json', 'mixprec.napi.node', 'mixprec.napi.cuda.node'] });
  expect(nativeCandidates(root, {}, 'linux', 'x64', list)).toEqual([
    { file: path.join(root, 'build', 'Release', 'mixprec.node'), source: 'from-source build' },
    { file: path.join(prebuildDir, 'mixprec.napi.cuda.node'), source: 'prebuild' },
    { file: path.join(prebuildDir, 'mixprec.napi.node'), source: 'prebuild' },
  ]);
});

test('only the folder of this platform and architecture is looked in', () => {
  const list = listing({ [prebuildDir]: ['mixprec.napi.node'] });
  expect(nativeCandidates(root, {}, 'linux', 'arm64', list)).toEqual([
    { file: path.join(root, 'build', 'Release', 'mixprec.node'), source: 'from-source build' },
  ]);
});

test('an addon that does not load is a MixprecError naming each file tried and why', () => {
  const file = path.join(__dirname, 'no-such-dir', 'mixprec.node');
  process.env.MIXPREC_NATIVE_PATH = file;
  try {
    jest.isolateModules(() => {
      let error: unknown;
      try {
        require('../lib/native');
      } catch (e) {
        error = e;
      }
      expect(error).toMatchObject({ name: 'MixprecError', code: 'ERR_NATIVE_ADDON' });
      expect((error as Error).message).toMatch(new RegExp(`^mixprec: cannot load the native addon; tried\\n  ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(MIXPREC_NATIVE_PATH\\): Cannot find module`));
    });
  } finally {
    delete process.env.MIXPREC_NATIVE_PATH;
  }
});
