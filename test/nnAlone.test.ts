// lib/nn and lib/optim loaded without the package entry, in a fresh process (a fresh module
// registry), the way a user who imports only those folders would: their entries install the
// Tensor methods, so one training step works whatever else was imported before.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..');

test('tensor.ts alone has no op methods; nn + optim alone train a Linear model one SGD step', () => {
  const script = `
    const { tensor } = require('./dist/creation');
    const { Tensor } = require('./dist/tensor');
    const bare = typeof Tensor.prototype.add;
    const nn = require('./dist/nn');
    const optim = require('./dist/optim');
    const model = new nn.Linear(2, 1);
    model.loadStateDict({ weight: tensor([[0.5, -1]]), bias: tensor([0.25]) });
    const x = tensor([[1, 2], [3, 4]]);
    const y = tensor([[1], [0]]);
    const opt = new optim.SGD(model.parameters(), { lr: 0.01 });
    const lossBefore = nn.functional.mseLoss(model.forward(x), y);
    opt.zeroGrad();
    lossBefore.backward();
    opt.step();
    const lossAfter = nn.functional.mseLoss(model.forward(x), y).item();
    console.log(JSON.stringify({ bare, lossBefore: lossBefore.item(), lossAfter, weight: model.weight.toArray(), bias: model.bias.toArray() }));`;
  const r = spawnSync(process.execPath, ['-e', script], { cwd: root, encoding: 'utf8' });
  expect(r.stderr).toBe('');
  const out = JSON.parse(r.stdout) as { bare: string; lossBefore: number; lossAfter: number; weight: number[][]; bias: number[] };
  expect(out.bare).toBe('undefined');

  // The same step in plain numbers: pred = x·wᵀ + b, loss = mean((pred - y)²).
  const x = [[1, 2], [3, 4]];
  const y = [1, 0];
  const w = [0.5, -1];
  const b = 0.25;
  const residual = x.map((row, i) => row[0] * w[0] + row[1] * w[1] + b - y[i]);
  const gradW = [0, 1].map((j) => residual.reduce((s, r, i) => s + (2 / 2) * r * x[i][j], 0));
  const gradB = residual.reduce((s, r) => s + r, 0);
  expect(out.lossBefore).toBeCloseTo(residual.reduce((s, r) => s + r * r, 0) / 2, 5);
  expect(out.weight[0][0]).toBeCloseTo(w[0] - 0.01 * gradW[0], 5);
  expect(out.weight[0][1]).toBeCloseTo(w[1] - 0.01 * gradW[1], 5);
  expect(out.bias[0]).toBeCloseTo(b - 0.01 * gradB, 5);
  expect(out.lossAfter).toBeLessThan(out.lossBefore);
});
