import * as fs from 'node:fs';
import * as path from 'node:path';

import * as mp from '../lib';
import { defineOp } from '../lib/ops/registry';

import { render } from '../scripts/op-reference.js';

describe('op registry', () => {
  test('docs/ops.md is generated from the registry and up to date (npm run docs:ops)', () => {
    const committed = fs.readFileSync(path.join(__dirname, '..', 'docs', 'ops.md'), 'utf8');
    expect(committed).toBe(render(mp));
  });

  test('declaring a taken name throws and leaves the first op as it was', () => {
    const before = mp.registeredOps().find((o) => o.name === 'add');
    expect(() => defineOp({ name: 'add', autocast: 'fp32', forward: () => mp.zeros([1]) })).toThrow("defineOp: op 'add' is declared twice");
    expect(mp.registeredOps().filter((o) => o.name === 'add')).toEqual([before]);
    const x = mp.tensor([1, 2]).requiresGrad_();
    const y = mp.add(x, 3);
    expect(y.toArray()).toEqual([4, 5]);
    y.sum().backward();
    expect(x.grad?.toArray()).toEqual([1, 1]);
    // The refused declaration's autocast category ('fp32') did not replace add's: float16 stays.
    const h = mp.amp.autocast({ deviceType: 'cpu', dtype: 'float16' }, () => mp.add(mp.ones([2], { dtype: 'float16' }), 1));
    expect(h.dtype).toBe('float16');
  });

  test('every exported op is registered, and every registered op can be called', () => {
    // Exported functions that are not ops: tensor creation, random draws, memory and grad-mode
    // helpers, dtype queries, and functions composed from registered ops.
    const notOps = ['hostReads', 'tensor', 'zeros', 'ones', 'full', 'empty', 'zerosLike', 'onesLike', 'arange',
      'linspace', 'eye', 'manualSeed', 'rand', 'randn', 'randint', 'flatten', 'transpose', 'squeeze', 'unsqueeze',
      'narrow', 'stack', 'split', 'chunk', 'variance', 'noGrad', 'enableGrad', 'isGradEnabled', 'registeredOps',
      'tidy', 'keep', 'dispose', 'memory', 'resetPeakMemory', 'emptyCache', 'promoteTypes', 'isFloatingPoint',
      'backend', 'setSimdLevel',
      // safetensors I/O (lib/io): files and bytes, not tensor ops.
      'save', 'saveAsync', 'load', 'loadAsync', 'loadWithMetadata', 'loadWithMetadataAsync', 'serialize', 'deserialize'];
    // Registered ops with no function of their name in mp or mp.nn.functional: `to` is a Tensor
    // method, `var` is exported as `variance`, sliceScatter and stridedProduct are the gradients
    // of slice and prod, flashAttention is scaledDotProductAttention's fused kernel, normRows,
    // crossEntropyRows, conv2dFused and maxPool2dFused the fused kernels under layerNorm / rmsNorm,
    // crossEntropy, conv2d and maxPool2d, thresholdBackward relu's gradient.
    const notExported = ['to', 'var', 'sliceScatter', 'stridedProduct', 'flashAttention', 'normRows', 'crossEntropyRows', 'conv2dFused', 'maxPool2dFused',
      'thresholdBackward'];
    const ops = new Set(mp.registeredOps().map((o) => o.name));
    const api = mp as unknown as Record<string, unknown>;
    const exported = Object.keys(mp).filter((k) => typeof api[k] === 'function' && k[0] === k[0].toLowerCase());
    expect(exported.filter((k) => !ops.has(k)).sort()).toEqual([...notOps].sort());
    const functional = mp.nn.functional as unknown as Record<string, unknown>;
    const callable = (name: string) => typeof api[name] === 'function' || typeof functional[name] === 'function';
    expect([...ops].filter((name) => !callable(name)).sort()).toEqual([...notExported].sort());
  });

  test('a category an op cannot honour is refused at declaration', () => {
    expect(() => defineOp({ name: 'registryTestBadCategory', autocast: 'float32' as never, forward: () => mp.zeros([1]) })).toThrow(/unknown autocast category/);
    expect(() => defineOp({ name: 'registryTestNoDtype', autocast: 'fp32SetOptDtype', forward: () => mp.zeros([1]) })).toThrow(/takes no dtype option/);
  });
});
