// Exact resume on the MNIST MLP (784-32-10 with dropout, Adam, StepLR, a shuffling loader over
// 2,000 digits, an extra generator): 200 steps straight against 100 steps, a checkpoint, and
// 100 more in a new process give bit-identical per-step losses and parameters, for float32,
// AMP bfloat16, AMP float16 + GradScaler (backoffs and growths on both sides of the checkpoint)
// and apex O2 master weights. Three child processes run test/helpers/resumeRun.js against
// dist/ (npm test builds it first); about 20 s on the AVX2 class.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

interface Run {
  losses: number[];
  scales: number[];
  parameters: [string, string, string][];
  epochs: number;
  extra?: unknown;
}

const script = path.join(__dirname, 'helpers', 'resumeRun.js');
const run = (mode: string, dir: string): Record<string, Run> => JSON.parse(execFileSync(process.execPath, [script, mode, dir], { encoding: 'utf8', maxBuffer: 64 << 20 }));

let straight: Record<string, Run>;
let first: Record<string, Run>;
let resumed: Record<string, Run>;
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mixprec-resume-'));
  straight = run('straight', dir);
  first = run('first', dir);
  resumed = run('resume', dir);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe.each(['float32', 'bfloat16', 'float16', 'masterWeights'])('%s', (variant) => {
  test('losses of every step and the final parameters are bit-identical', () => {
    const s = straight[variant];
    expect(first[variant].losses).toHaveLength(100);
    expect(resumed[variant].losses).toHaveLength(100);
    // JSON carries the shortest round-trip decimal of each double: equal text is equal bits.
    expect([...first[variant].losses, ...resumed[variant].losses]).toEqual(s.losses);
    expect(resumed[variant].parameters).toEqual(s.parameters);
    expect(resumed[variant].epochs).toBe(s.epochs);
    expect(resumed[variant].extra).toEqual({ variant });
    // The run really trained and crossed epochs (63 batches each), so the loader's position mattered.
    expect(s.losses[199]).toBeLessThan(s.losses[0] * 0.5);
    expect(s.epochs).toBe(4);
  });
});

test('master weights keep 16-bit parameters; float16 scaling backs off and grows on both sides of step 100', () => {
  expect(straight.masterWeights.parameters.map((p) => p[1])).toEqual(['bfloat16', 'bfloat16', 'bfloat16', 'bfloat16']);
  const scales = straight.float16.scales;
  expect([...first.float16.scales, ...resumed.float16.scales]).toEqual(scales);
  for (const [from, to] of [[1, 100], [100, 200]]) {
    const changes = scales.slice(from, to).map((x, i) => Math.sign(x - scales[from + i - 1]));
    expect(changes).toContain(-1);
    expect(changes).toContain(1);
  }
});
