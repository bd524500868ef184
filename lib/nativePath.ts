/**
 * Where the native addon may be, in the order lib/native.ts tries them (in the style of
 * node-gyp-build): an explicit MIXPREC_NATIVE_PATH, a from-source build/Release/mixprec.node, then
 * the package's prebuild for this platform (prebuilds/<platform>-<arch>/mixprec.napi[.cuda].node,
 * made by `npm run prebuild`; the one with the CUDA kernels first).
 */
import * as path from 'node:path';

/** One place to look, and why it is on the list. */
export interface NativeCandidate {
  file: string;
  source: 'MIXPREC_NATIVE_PATH' | 'from-source build' | 'prebuild';
}

/**
 * The files to try, best first. `listDir` returns a folder's entries ([] when it is missing);
 * an explicit MIXPREC_NATIVE_PATH is the only candidate, so a wrong one is never papered over.
 */
export function nativeCandidates(root: string, env: Record<string, string | undefined>, platform: string, arch: string,
  listDir: (dir: string) => string[]): NativeCandidate[] {
  if (env.MIXPREC_NATIVE_PATH) return [{ file: env.MIXPREC_NATIVE_PATH, source: 'MIXPREC_NATIVE_PATH' }];
  const prebuildDir = path.join(root, 'prebuilds', `${platform}-${arch}`);
  const prebuilds = ['mixprec.napi.cuda.node', 'mixprec.napi.node']
    .filter((name) => listDir(prebuildDir).includes(name))
    .map((name): NativeCandidate => ({ file: path.join(prebuildDir, name), source: 'prebuild' }));
  return [{ file: path.join(root, 'build', 'Release', 'mixprec.node'), source: 'from-source build' }, ...prebuilds];
}
