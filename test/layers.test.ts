// The folder tree is the dependency picture: every import in lib/ points to the same folder or
// to a lower layer. An upward import (say, an op reading lib/amp) fails here.
import * as fs from 'node:fs';
import * as path from 'node:path';

const lib = path.resolve(__dirname, '..', 'lib');

/** Layers from the bottom up, by folder ('' = the files directly in lib/ besides index.ts). */
const layers: string[][] = [
  [''], // errors, validate, dtype, shape, native, device, storage, memory, backend, options, tensor, creation, random
  ['autocast'], // autocast state, policies, cast cache, decision log: pure data, no op
  ['autograd'], // grad mode, graph, engine, custom Function; calls ops only through Tensor methods
  ['ops'], // the op registry, autocast dispatch, every op, the method installer
  ['distributed'], // the process group and collectives (torch.distributed); DDP, the sampler and GradScaler build on it
  ['nn', 'optim', 'data'], // siblings: none of them imports another
  ['amp'], // the AMP API: autocast scopes, GradScaler, customFwd/customBwd, prepare
  ['io'], // safetensors files and training checkpoints (of modules, optimizers, scalers, loaders)
  ['index'], // lib/index.ts, the package entry
];

/** The layer group of a file given relative to lib/ ('nn/linear.ts' → 'nn'). */
function folderOf(file: string): string {
  if (file === 'index.ts') return 'index';
  return file.includes('/') ? file.slice(0, file.indexOf('/')) : '';
}

const rankOf = (folder: string): number => layers.findIndex((group) => group.includes(folder));

/** Every relative module an import or re-export of `source` names, as paths relative to lib/. */
function importsOf(file: string, source: string): string[] {
  const specifiers = [...source.matchAll(/^(?:import|export)\s[^;]*?from\s+'(\.[^']*)'|^import\s+'(\.[^']*)'/gm)];
  return specifiers.map((m) => path.posix.normalize(path.posix.join(path.posix.dirname(file), m[1] ?? m[2])));
}

/** "from → to" for each import that leaves its folder for a folder not strictly below it. */
function upwardImports(graph: Map<string, string[]>): string[] {
  const bad: string[] = [];
  for (const [file, targets] of graph) {
    const from = folderOf(file);
    for (const target of targets) {
      const to = folderOf(`${target}.ts`);
      if (rankOf(from) < 0 || rankOf(to) < 0) bad.push(`${file} → ${target} (folder not in the layer table)`);
      else if (to !== from && rankOf(to) >= rankOf(from)) bad.push(`${file} → ${target}`);
    }
  }
  return bad;
}

function libGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const entry of fs.readdirSync(lib, { recursive: true, encoding: 'utf8' })) {
    const file = entry.split(path.sep).join('/');
    if (file.endsWith('.ts')) graph.set(file, importsOf(file, fs.readFileSync(path.join(lib, file), 'utf8')));
  }
  return graph;
}

test('every import in lib/ points to its own folder or a lower layer', () => {
  const graph = libGraph();
  expect(graph.size).toBeGreaterThan(50);
  expect(upwardImports(graph)).toEqual([]);
});

test('the check reports upward and sideways imports', () => {
  const graph = new Map([
    ['ops/matmul.ts', importsOf('ops/matmul.ts', "import { autocast } from '../amp/autocast';\nimport { Tensor } from '../tensor';")],
    ['nn/linear.ts', importsOf('nn/linear.ts', "import type { SGD } from '../optim/sgd';")],
    ['tensor.ts', importsOf('tensor.ts', "import './ops/install';")],
  ]);
  expect(upwardImports(graph)).toEqual(['ops/matmul.ts → amp/autocast', 'nn/linear.ts → optim/sgd', 'tensor.ts → ops/install']);
});

/** Files that import the addon's module but sit above the layers that own its wrappers. */
function nativeImportersAboveOps(graph: Map<string, string[]>): string[] {
  const ops = rankOf('ops');
  return [...graph].filter(([file, targets]) => targets.includes('native') && rankOf(folderOf(file)) > ops).map(([file]) => file);
}

test('only lib/*.ts and lib/ops call the addon; the layers above go through their typed wrappers', () => {
  const graph = libGraph();
  expect(graph.get('ops/multiTensor.ts')).toContain('native');
  expect(nativeImportersAboveOps(graph)).toEqual([]);
  const optimizerCallingNative = new Map([['optim/sgd.ts', importsOf('optim/sgd.ts', "import { native } from '../native';")]]);
  expect(nativeImportersAboveOps(optimizerCallingNative)).toEqual(['optim/sgd.ts']);
});

/** csrc's layers: core below the backends (cpu, cuda) and the distributed engine (distributed), the bindings (napi) on top. */
const nativeLayers: Record<string, string[]> = {
  core: ['core'], cpu: ['core', 'cpu'], cuda: ['core', 'cuda'], distributed: ['core', 'distributed'], napi: ['core', 'napi', 'distributed'],
};
/** What the bindings may read of the CPU backend besides the backend table: its feature probes. */
const cpuProbes = ['cpu/cpuFeatures.h', 'cpu/peakProbe.h'];

/** "file → included folder" for each #include of csrc/ that leaves the folders its layer may read. */
function forbiddenIncludes(files: Map<string, string>): string[] {
  const bad: string[] = [];
  for (const [file, source] of files) {
    const folder = file.split('/')[0];
    for (const m of source.matchAll(/^#include\s+"([^"]+)"/gm)) {
      const included = path.posix.normalize(path.posix.join(path.posix.dirname(file), m[1]));
      const target = included.split('/')[0];
      const probe = folder === 'napi' && cpuProbes.includes(included);
      if (!probe && !(nativeLayers[folder] ?? []).includes(target)) bad.push(`${file} → ${target}`);
    }
  }
  return bad;
}

test('csrc: core includes no backend, a backend no binding or other backend, a binding no kernel', () => {
  const csrc = path.resolve(__dirname, '..', 'csrc');
  const files = new Map<string, string>();
  for (const entry of fs.readdirSync(csrc, { recursive: true, encoding: 'utf8' })) {
    const file = entry.split(path.sep).join('/');
    if (/\.(h|cpp|cu|cuh)$/.test(file)) files.set(file, fs.readFileSync(path.join(csrc, file), 'utf8'));
  }
  expect(files.size).toBeGreaterThan(50);
  expect(forbiddenIncludes(files)).toEqual([]);
  const made = new Map([
    ['core/storage.cpp', '#include "../cpu/cpuKernels.h"\n#include "storage.h"'],
    ['cuda/castKernels.cu', '#include "../cpu/castSimd.h"'],
    ['napi/kernelBindings.cpp', '#include "../cuda/cudaBackend.h"\n#include "../cpu/cpuKernels.h"\n#include "../cpu/peakProbe.h"'],
  ]);
  expect(forbiddenIncludes(made)).toEqual(['core/storage.cpp → cpu', 'cuda/castKernels.cu → cpu', 'napi/kernelBindings.cpp → cuda', 'napi/kernelBindings.cpp → cpu']);
});
