import * as fs from 'node:fs';
import * as path from 'node:path';

import * as mp from '../lib';
import { defineOp } from '../lib/ops/registry';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { render } = require('../scripts/op-reference.js') as { render: (m: typeof mp) => string };

describe('op registry', () => {
  test('docs/ops.md is generated from the registry and up to date (npm run docs:ops)', () => {
    const committed = fs.readFileSync(path.join(__dirname, '..', 'docs', 'ops.md'), 'utf8');
    expect(committed).toBe(render(mp));
  });

  test('each op is declared once with a known kind and autocast category', () => {
    const ops = mp.registeredOps();
    expect(new Set(ops.map((o) => o.name)).size).toBe(ops.length);
    for (const op of ops) {
      expect(['lowerPrecision', 'float32', 'promote', 'none', 'banned']).toContain(op.autocast);
      expect(['primitive', 'composite', 'nondifferentiable']).toContain(op.kind);
    }
    expect(() => defineOp({ name: 'add', autocast: 'none', forward: () => mp.zeros([1]) })).toThrow(/declared twice/);
  });

  test('PyTorch autocast lists: matmul-like ops run in 16-bit, reductions and losses in float32', () => {
    const category = new Map(mp.registeredOps().map((o) => [o.name, o.autocast]));
    for (const name of ['matmul', 'mm', 'bmm', 'linear', 'addmm', 'baddbmm', 'conv2d']) expect(category.get(name)).toBe('lowerPrecision');
    for (const name of ['sum', 'softmax', 'logSoftmax', 'crossEntropy', 'mseLoss', 'layerNorm', 'exp', 'log', 'pow']) expect(category.get(name)).toBe('float32');
    expect(category.get('binaryCrossEntropy')).toBe('banned');
  });
});
