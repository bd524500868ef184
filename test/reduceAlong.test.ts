// prod/max/min/argmax/argmin/logsumexp/var/std and softmax/logSoftmax against float64 math on
// nested JS arrays.
import * as mp from '../lib';
import { roundTo } from './helpers/floatReference';

afterEach(() => expect(mp.memory().numTensors).toBe(0));

const data = [
  [[0.5, -2, 3.25, 1], [4, 4, -1, 0.125], [-3, 2.5, 2.5, -0.75]],
  [[1.5, 0, -0.5, 2], [-1, 3, 3.5, -4], [0.25, -0.25, 1, 6]],
];
const flat = data.flat(2);
const byDim1 = (f: (xs: number[]) => number) => data.map((a) => [0, 1, 2, 3].map((k) => f(a.map((r) => r[k]))));
const byLast = (f: (xs: number[]) => number) => data.map((a) => a.map((r) => f(r)));

const refs = {
  prod: (xs: number[]) => xs.reduce((p, v) => p * v, 1),
  max: (xs: number[]) => Math.max(...xs),
  min: (xs: number[]) => Math.min(...xs),
  argmax: (xs: number[]) => xs.indexOf(Math.max(...xs)),
  argmin: (xs: number[]) => xs.indexOf(Math.min(...xs)),
  logsumexp: (xs: number[]) => {
    const m = Math.max(...xs);
    return m + Math.log(xs.reduce((s, v) => s + Math.exp(v - m), 0));
  },
  variance: (xs: number[]) => {
    const mean = xs.reduce((s, v) => s + v, 0) / xs.length;
    return xs.reduce((s, v) => s + (v - mean) ** 2, 0) / (xs.length - 1);
  },
  std: (xs: number[]) => Math.sqrt(refs.variance(xs)),
};

describe.each(Object.keys(refs) as (keyof typeof refs)[])('%s', (name) => {
  const fn = mp[name] as (t: mp.Tensor, o?: mp.DimOptions) => mp.Tensor;
  const ref = refs[name];
  const near = (got: unknown, want: number[] | number[][] | number[][][] | number) =>
    expect(JSON.stringify(got, (_, v) => (typeof v === 'number' ? Number(v.toPrecision(12)) : v))).toBe(
      JSON.stringify(want, (_, v) => (typeof v === 'number' ? Number(v.toPrecision(12)) : v)));

  test('over all elements, a middle dim, the last dim, keepdim (float64)', () => {
    mp.tidy(() => {
      const x = mp.tensor(data, { dtype: 'float64' });
      near(fn(x).item(), ref(flat));
      near(fn(x, { dim: 1 }).toArray(), byDim1(ref));
      near(fn(x, { dim: -1 }).toArray(), byLast(ref));
      expect(fn(x, { dim: 1, keepdim: true }).shape).toEqual([2, 1, 4]);
      expect(fn(x, { keepdim: true }).shape).toEqual([1, 1, 1]);
    });
  });

  test('16-bit inputs compute wide and round once', () => {
    mp.tidy(() => {
      const h = mp.tensor(data, { dtype: 'bfloat16' });
      const got = fn(h, { dim: -1 });
      const expected = byLast(ref).map((a) => a.map((v) => (name.startsWith('arg') ? v : roundTo(v, 'bfloat16'))));
      expect(got.dtype).toBe(name.startsWith('arg') ? 'int32' : 'bfloat16');
      expect(got.toArray()).toEqual(expected);
    });
  });
});

test('softmax and logSoftmax along any dim, 16-bit rounded once', () => {
  mp.tidy(() => {
    const x = mp.tensor(data, { dtype: 'float64' });
    const sm = (xs: number[]) => {
      const m = Math.max(...xs);
      const s = xs.reduce((a, v) => a + Math.exp(v - m), 0);
      return xs.map((v) => Math.exp(v - m) / s);
    };
    const got = mp.softmax(x, -1).toArray() as number[][][];
    data.forEach((a, i) => a.forEach((r, j) => sm(r).forEach((v, k) => expect(Math.abs(got[i][j][k] - v)).toBeLessThan(1e-15))));
    const lg = mp.logSoftmax(x, 1).toArray() as number[][][];
    data.forEach((a, i) => [0, 1, 2, 3].forEach((k) => {
      const col = a.map((r) => r[k]);
      const lse = refs.logsumexp(col);
      col.forEach((v, j) => expect(Math.abs(lg[i][j][k] - (v - lse))).toBeLessThan(1e-14));
    }));
    const h = mp.tensor(data, { dtype: 'float16' });
    const hs = mp.softmax(h, -1).toArray() as number[][][];
    data.forEach((a, i) => a.forEach((r, j) => sm(r).forEach((v, k) => expect(hs[i][j][k]).toBe(roundTo(v, 'float16')))));
    const rows = mp.softmax(mp.randn([64, 10]), 1).sum({ dim: 1 }).dataSync();
    rows.forEach((v) => expect(Math.abs(v - 1)).toBeLessThan(1e-6));
  });
});

test('NaN, empty and integer inputs', () => {
  mp.tidy(() => {
    const n = mp.tensor([1, NaN, 3]);
    expect(n.max().item()).toBeNaN();
    expect(n.argmax().item()).toBe(1);
    expect(n.logsumexp().item()).toBeNaN();
    expect(mp.tensor([-Infinity, -Infinity]).logsumexp().item()).toBe(-Infinity);
    expect(mp.zeros([0]).prod().item()).toBe(1);
    expect(() => mp.zeros([2, 0]).max({ dim: 1 })).toThrow(/there is no max of no elements/);
    const i = mp.tensor([[3, -2], [5, 4]], { dtype: 'int32' });
    expect(i.prod({ dim: 1 }).toArray()).toEqual([-6, 20]);
    expect(i.max().dtype).toBe('int32');
    expect(i.max({ dim: 0 }).toArray()).toEqual([5, 4]);
    expect(i.argmin({ dim: 1 }).toArray()).toEqual([1, 1]);
    expect(i.logsumexp().dtype).toBe('float32');
    expect(() => i.std()).toThrow(/needs a floating-point input/);
    expect(mp.tensor([1, 2, 3, 4]).var({ correction: 0 }).item()).toBe(1.25);
    expect(() => mp.softmax(mp.ones([2]), 3)).toThrow("softmax: argument 'dim' must be an integer in [-1, 0] for a 1-d tensor, got 3");
  });
});

test('16-bit inputs: the kernel\'s staged (SIMD-widened) path gives, in float64, exactly the float32 input\'s results', () => {
  const { native, dtypeCode } = require('./helpers/native') as typeof import('./helpers/native');
  const { nativeTable } = require('../lib/nativeTable') as typeof import('../lib/nativeTable');
  const kinds = nativeTable('reduceKind', ['prod', 'max', 'min', 'argmax', 'argmin', 'logsumexp', 'var', 'std'] as const);
  mp.manualSeed(4);
  // [outer, size, inner]: contiguous rows (inner 1, one and many rows a block), column blocks
  // (inner >= 8 per block), and the narrow strided case that reads element by element.
  const shapes = [[1000, 4, 1], [3, 5000, 1], [6, 4, 196], [2, 9, 1030], [5, 700, 3], [2, 3000, 9]];
  for (const dtype of ['float16', 'bfloat16'] as const) {
    for (const [outer, size, inner] of shapes) {
      mp.tidy(() => {
        const x = mp.randn([outer * size * inner]).mul(3).to(dtype);
        const wide = x.float();
        for (const [name, kind] of Object.entries(kinds)) {
          const integer = name.startsWith('arg');
          const outDtype = integer ? 'int32' : 'float64';
          const run = (t: mp.Tensor) => {
            const out = mp.empty([outer * inner], { dtype: outDtype });
            native.reduceAlong(kind, dtypeCode(t.dtype), t.storage.handle, 0, dtypeCode(outDtype), out.storage.handle, 0, outer, size, inner, 1);
            return Array.from(out.dataSync() as ArrayLike<number>);
          };
          expect({ dtype, shape: [outer, size, inner], name, got: run(x) }).toEqual({ dtype, shape: [outer, size, inner], name, got: run(wide) });
        }
      });
    }
  }
});
