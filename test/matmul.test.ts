// matmul / mm / bmm / linear against a float64 triple loop in the test.
import * as mp from '../lib';
import { roundTo } from './helpers/floatReference';

afterEach(() => expect(mp.memory().numTensors).toBe(0));

/** Reference product of row-major [m, k] and [k, n] arrays, in float64. */
function ref(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number): { value: number[]; scale: number[] } {
  const value: number[] = [];
  const scale: number[] = [];
  for (let i = 0; i < m; ++i) {
    for (let j = 0; j < n; ++j) {
      let s = 0;
      let mag = 0;
      for (let t = 0; t < k; ++t) {
        s += a[i * k + t] * b[t * n + j];
        mag += Math.abs(a[i * k + t] * b[t * n + j]);
      }
      value.push(s);
      scale.push(mag);
    }
  }
  return { value, scale };
}

describe.each(['float32', 'float64', 'float16', 'bfloat16'] as const)('%s', (dtype) => {
  // float32 accumulation: error below k * 2^-24 of the magnitudes, plus the result's rounding.
  const tol = (want: number, scale: number, k: number) =>
    k * 2 ** -23 * scale + Math.abs(roundTo(want, dtype === 'float64' ? 'float32' : dtype) - want) * (dtype === 'float64' ? 0 : 1) + (dtype === 'float64' ? 1e-12 * scale : 0);

  test('mm, and matmul with broadcast batches', () => {
    mp.manualSeed(21);
    mp.tidy(() => {
      const a = mp.randn([5, 7], { dtype });
      const b = mp.randn([7, 3], { dtype });
      const got = mp.mm(a, b).double().dataSync();
      const { value, scale } = ref(a.double().dataSync(), b.double().dataSync(), 5, 7, 3);
      value.forEach((v, i) => expect(Math.abs(got[i] - v)).toBeLessThanOrEqual(tol(v, scale[i], 7)));

      const x = mp.randn([2, 1, 4, 6], { dtype });
      const y = mp.randn([3, 6, 5], { dtype });
      const out = mp.matmul(x, y);
      expect(out.shape).toEqual([2, 3, 4, 5]);
      const xv = x.double().dataSync();
      const yv = y.double().dataSync();
      const ov = out.double().dataSync();
      for (let i = 0; i < 2; ++i) {
        for (let j = 0; j < 3; ++j) {
          const r = ref(xv.subarray(i * 24, i * 24 + 24), yv.subarray(j * 30, j * 30 + 30), 4, 6, 5);
          r.value.forEach((v, q) => expect(Math.abs(ov[(i * 3 + j) * 20 + q] - v)).toBeLessThanOrEqual(tol(v, r.scale[q], 6)));
        }
      }
    });
  });
});

test('vector cases, bmm and linear (transposed weight, bias)', () => {
  mp.tidy(() => {
    const v = mp.tensor([1, 2, 3], { dtype: 'float64' });
    const m = mp.tensor([[1, 0], [0, 1], [2, 2]], { dtype: 'float64' });
    expect(mp.matmul(v, v).shape).toEqual([]);
    expect(mp.matmul(v, v).item()).toBe(14);
    expect(mp.matmul(v, m).toArray()).toEqual([7, 8]);
    expect(mp.matmul(m.transpose(0, 1), v).toArray()).toEqual([7, 8]);
    const batch = mp.tensor([[[1, 2]], [[3, 4]]], { dtype: 'float64' });
    expect(mp.bmm(batch, mp.tensor([[[1], [1]], [[2], [0]]], { dtype: 'float64' })).toArray()).toEqual([[[3]], [[6]]]);
    const w = mp.tensor([[1, 0, 1], [0, 2, 0]], { dtype: 'float64' });
    expect(mp.linear(m.transpose(0, 1), w, mp.tensor([10, 20], { dtype: 'float64' })).toArray()).toEqual([[13, 20], [12, 22]]);
    expect(mp.linear(v, w).toArray()).toEqual([4, 4]);
    expect(mp.tensor([[2]], { dtype: 'int32' }).matmul(mp.tensor([[3, 4]], { dtype: 'int32' })).toArray()).toEqual([[6, 8]]);
    expect(mp.mm(mp.zeros([2, 0]), mp.zeros([0, 3])).toArray()).toEqual([[0, 0, 0], [0, 0, 0]]);
  });
});

test('bad inputs are clear errors', () => {
  mp.tidy(() => {
    const a = mp.ones([2, 3]);
    expect(() => mp.mm(a, mp.ones([2, 3]))).toThrow('mm: cannot multiply [2, 3] by [2, 3]: inner sizes 3 and 2 differ');
    expect(() => mp.mm(a, mp.ones([3, 2], { dtype: 'float16' }))).toThrow(/same dtype, got float32 and float16/);
    expect(() => mp.mm(a, mp.ones([3]))).toThrow(/mm: both arguments must be 2-d/);
    expect(() => mp.bmm(mp.ones([2, 2, 2]), mp.ones([3, 2, 2]))).toThrow(/same batch size/);
    expect(() => mp.matmul(mp.ones([2, 2, 3]), mp.ones([3, 3, 1]))).toThrow(/cannot be broadcast/);
    expect(() => mp.linear(a, mp.ones([4, 3]), mp.ones([3]))).toThrow('linear: bias must have shape [4], got [3]');
  });
});
