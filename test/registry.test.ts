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
      expect(mp.amp.autocastCategories).toContain(op.autocast.cuda);
      expect(mp.amp.autocastCategories).toContain(op.autocast.cpu);
      expect(['primitive', 'composite', 'nondifferentiable']).toContain(op.kind);
    }
    expect(() => defineOp({ name: 'add', autocast: 'passThrough', forward: () => mp.zeros([1]) })).toThrow(/declared twice/);
  });

  test('a category an op cannot honour is refused at declaration', () => {
    expect(() => defineOp({ name: 'registryTestBadCategory', autocast: 'float32' as never, forward: () => mp.zeros([1]) })).toThrow(/unknown autocast category/);
    expect(() => defineOp({ name: 'registryTestNoDtype', autocast: 'fp32SetOptDtype', forward: () => mp.zeros([1]) })).toThrow(/takes no dtype option/);
  });
});
