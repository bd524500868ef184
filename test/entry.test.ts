// The package's two entry points, loaded by name the way users load them.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..');

function run(args: string[]): string {
  const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout.trim();
}

test("import * as mp from 'mixprec' (ESM)", () => {
  const out = run(['--input-type=module', '-e', "import * as mp from 'mixprec'; import def from 'mixprec'; const t = mp.tensor([1.5]).to('float16'); console.log(t.dtype, t.item(), typeof mp.tidy, def.Tensor === mp.Tensor);"]);
  expect(out).toBe('float16 1.5 function true');
});

test("require('mixprec') (CommonJS) shares the ESM entry's module instance", () => {
  const out = run(['-e', "const mp = require('mixprec'); import('mixprec').then((esm) => console.log(esm.Tensor === mp.Tensor, mp.zeros([2]).shape.join()))"]);
  expect(out).toBe('true 2');
});
