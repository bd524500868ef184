import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

import * as mp from '../lib';

afterEach(() => expect(mp.memory().numTensors).toBe(0));

test('manualSeed makes streams repeat; consecutive calls continue the stream', () => {
  mp.tidy(() => {
    mp.manualSeed(123);
    const a = Array.from(mp.randn([8]).dataSync());
    mp.manualSeed(123);
    const b = [...mp.randn([3]).dataSync(), ...mp.randn([5]).dataSync()];
    expect(b).toEqual(a);
    mp.manualSeed(124);
    expect(Array.from(mp.randn([8]).dataSync())).not.toEqual(a);
  });
});

test('generators are independent of each other and of the default one', () => {
  mp.tidy(() => {
    const g1 = new mp.Generator(5);
    const g2 = new mp.Generator(5);
    mp.rand([100]);
    expect(Array.from(mp.rand([4], { generator: g1 }).dataSync())).toEqual(Array.from(mp.rand([4], { generator: g2 }).dataSync()));
    const state = g1.getState();
    const next = Array.from(mp.rand([4], { generator: g1 }).dataSync());
    g1.setState(state);
    expect(Array.from(mp.rand([4], { generator: g1 }).dataSync())).toEqual(next);
    expect(g1.initialSeed()).toBe(5n);
  });
});

test('values do not depend on the thread count', () => {
  const script = path.join(__dirname, 'helpers', 'randomDigest.js');
  const run = (threads: string) => {
    const r = spawnSync(process.execPath, [script], { env: { ...process.env, MIXPREC_NUM_THREADS: threads }, encoding: 'utf8' });
    expect(r.status).toBe(0);
    return r.stdout.trim();
  };
  const one = run('1');
  expect(one).toMatch(/^[0-9a-f]{64}$/);
  expect(run('2')).toBe(one);
  expect(run('4')).toBe(one);
});

test('distributions: moments, ranges, dtypes', () => {
  mp.manualSeed(2024);
  mp.tidy(() => {
    const n = 1 << 20;
    const z = mp.randn([n], { dtype: 'float64' }).dataSync();
    let m = 0;
    let v = 0;
    for (const x of z) m += x;
    m /= n;
    for (const x of z) v += (x - m) ** 2;
    v /= n;
    expect(Math.abs(m)).toBeLessThan(5 / Math.sqrt(n));
    expect(Math.abs(v - 1)).toBeLessThan(0.01);

    for (const dtype of ['float32', 'float16', 'bfloat16'] as const) {
      const u = mp.rand([n], { dtype }).dataSync();
      let lo = Infinity;
      let hi = -Infinity;
      let sum = 0;
      for (const x of u) {
        lo = Math.min(lo, x);
        hi = Math.max(hi, x);
        sum += x;
      }
      expect(lo).toBeGreaterThanOrEqual(0);
      expect(hi).toBeLessThan(1);
      expect(Math.abs(sum / n - 0.5)).toBeLessThan(0.01);
    }

    const r = mp.randint(-3, 4, [n]).dataSync();
    const counts = new Map<number, number>();
    for (const x of r) counts.set(x, (counts.get(x) ?? 0) + 1);
    expect([...counts.keys()].sort((a, b) => a - b)).toEqual([-3, -2, -1, 0, 1, 2, 3]);
    for (const c of counts.values()) expect(Math.abs(c / n - 1 / 7)).toBeLessThan(0.005);
  });
});
