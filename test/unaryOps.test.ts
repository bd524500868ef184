// Unary math (erf and sign included), activations, pow/maximum/minimum and comparisons against float64 math in JS.
import * as mp from '../lib';
import { roundTo } from './helpers/floatReference';

afterEach(() => expect(mp.memory().numTensors).toBe(0));

/** erfc(z) for z >= 2 by its continued fraction, evaluated backwards from 200 terms. */
function erfcLarge(z: number): number {
  let f = z;
  for (let k = 200; k >= 1; --k) f = z + k / 2 / f;
  return Math.exp(-z * z) / Math.sqrt(Math.PI) / f;
}

/** erf: Taylor series for |x| < 2 (no cancellation there), the continued fraction beyond. */
function erf(x: number): number {
  if (Math.abs(x) >= 2) return Math.sign(x) * (1 - erfcLarge(Math.abs(x)));
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; ++n) {
    term *= (-x * x) / n;
    const add = term / (2 * n + 1);
    sum += add;
    if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

const references: Record<string, (x: number) => number> = {
  abs: Math.abs,
  exp: Math.exp,
  log: Math.log,
  log1p: Math.log1p,
  expm1: Math.expm1,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  reciprocal: (x) => 1 / x,
  sin: Math.sin,
  cos: Math.cos,
  tanh: Math.tanh,
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  relu: (x) => (x > 0 ? x : 0),
  silu: (x) => x / (1 + Math.exp(-x)),
  neg: (x) => -x,
  erf,
  sign: Math.sign,
};

const inputs = [-7.5, -3, -1.25, -0.5, -1e-3, 0, 1e-3, 0.3, 0.5, 1, 2.75, 4, 9];
const positiveOnly = new Set(['log', 'sqrt', 'rsqrt']);

function close(got: number, want: number, rel: number): boolean {
  if (Number.isNaN(want)) return Number.isNaN(got);
  if (!Number.isFinite(want)) return got === want;
  return Math.abs(got - want) <= rel * Math.max(Math.abs(want), 1e-30) + 1e-300;
}

describe.each(Object.keys(references))('%s', (name) => {
  const fn = (mp as unknown as Record<string, (t: mp.Tensor) => mp.Tensor>)[name];
  const xs = positiveOnly.has(name) ? inputs.map(Math.abs).filter((v) => v > 0) : inputs;

  test('float64 and float32 match float64 math', () => {
    mp.tidy(() => {
      const d = fn(mp.tensor(Float64Array.from(xs))).dataSync();
      const f = fn(mp.tensor(xs)).dataSync();
      xs.forEach((x, i) => {
        const want = references[name](x);
        expect([x, close(d[i], want, 1e-14)]).toEqual([x, true]);
        expect([x, close(f[i], references[name](Math.fround(x)), 4e-7)]).toEqual([x, true]);
      });
    });
  });

  test('16-bit results are the float32 computation rounded once', () => {
    mp.tidy(() => {
      for (const dtype of ['float16', 'bfloat16'] as const) {
        const h = mp.tensor(xs, { dtype });
        const got = fn(h).dataSync();
        const viaF32 = fn(h.float()).dataSync();
        xs.forEach((_, i) => expect(Object.is(got[i], roundTo(viaF32[i], dtype)) || (Number.isNaN(got[i]) && Number.isNaN(viaF32[i]))).toBe(true));
        expect(fn(h).dtype).toBe(dtype);
      }
    });
  });
});

describe('parametrized activations', () => {
  test('gelu (exact and tanh), leakyRelu, elu, softplus, clamp', () => {
    mp.tidy(() => {
      const x = mp.tensor(Float64Array.from(inputs));
      const check = (t: mp.Tensor, ref: (v: number) => number, rel = 1e-13, abs = 0) =>
        Array.from(t.dataSync()).forEach((v, i) => {
          const want = ref(inputs[i]);
          expect([inputs[i], close(v, want, rel) || Math.abs(v - want) <= abs]).toEqual([inputs[i], true]);
        });
      // 1 + erf(x) and 1 + tanh(x) cancel for very negative x, in the kernel and here: absolute bounds.
      check(mp.gelu(x), (v) => (v < -2 * Math.SQRT2 ? 0.5 * v * erfcLarge(-v / Math.SQRT2) : 0.5 * v * (1 + erf(v / Math.SQRT2))), 1e-12, 1e-13);
      check(mp.gelu(x, { approximate: 'tanh' }), (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))), 1e-13, 1e-13);
      check(mp.leakyRelu(x, 0.2), (v) => (v < 0 ? 0.2 * v : v));
      check(mp.elu(x, 1.5), (v) => (v <= 0 ? 1.5 * Math.expm1(v) : v));
      check(mp.softplus(x, { beta: 2, threshold: 5 }), (v) => (2 * v > 5 ? v : Math.log1p(Math.exp(2 * v)) / 2));
      check(mp.clamp(x, -1, 2), (v) => Math.min(Math.max(v, -1), 2));
      check(x.clamp(undefined, 0), (v) => Math.min(v, 0));
    });
  });

  test('NaN passes through relu, clamp, maximum and minimum', () => {
    mp.tidy(() => {
      const x = mp.tensor([NaN, 1]);
      expect(x.relu().toArray()).toEqual([NaN, 1]);
      expect(x.clamp(0, 0.5).toArray()).toEqual([NaN, 0.5]);
      expect(mp.maximum(x, mp.tensor([0, NaN])).toArray()).toEqual([NaN, NaN]);
      expect(mp.minimum(x, 0).toArray()).toEqual([NaN, 0]);
      expect(mp.sqrt(mp.tensor([-1])).item()).toBeNaN();
      expect(mp.log(mp.tensor([0])).item()).toBe(-Infinity);
      expect(mp.sign(mp.tensor([NaN, -0, 0, -Infinity, 1e-40], { dtype: 'float64' })).toArray()).toEqual([NaN, -0, 0, -1, 1]);
      expect(mp.erf(mp.tensor([NaN, -Infinity, Infinity])).toArray()).toEqual([NaN, -1, 1]);
    });
  });

  test('integer tensors: abs/neg/relu/clamp keep int32, float-only ops compute in float32', () => {
    mp.tidy(() => {
      const i = mp.tensor([-3, 0, 5], { dtype: 'int32' });
      expect(i.abs().dtype).toBe('int32');
      expect(i.abs().toArray()).toEqual([3, 0, 5]);
      expect(i.neg().toArray()).toEqual([3, -0, -5].map((v) => v + 0));
      expect(i.relu().toArray()).toEqual([0, 0, 5]);
      expect(i.clamp(-1, 2).toArray()).toEqual([-1, 0, 2]);
      expect(i.clamp(-1.5).dtype).toBe('float32');
      expect(i.exp().dtype).toBe('float32');
      expect(i.exp().dataSync()[2]).toBe(Math.fround(Math.exp(5)));
      expect(i.sign().dtype).toBe('int32');
      expect(mp.sign(mp.tensor([-7, 0, 3, -2147483648, 2147483647], { dtype: 'int32' })).toArray()).toEqual([-1, 0, 1, -1, 1]);
      expect(i.erf().dtype).toBe('float32');
      expect(i.erf().dataSync()[0]).toBe(Math.fround(erf(-3)));
      expect(() => mp.tensor([true]).sign()).toThrow(/sign: not defined for bool/);
      expect(() => mp.tensor([true]).abs()).toThrow(/not defined for bool/);
    });
  });

  test('bad parameters are clear errors', () => {
    mp.tidy(() => {
      const x = mp.ones([2]);
      expect(() => mp.gelu(x, { approximate: 'fast' as 'tanh' })).toThrow("gelu: argument 'options.approximate' must be 'none' or 'tanh', got \"fast\"");
      expect(() => mp.clamp(x)).toThrow(/clamp: argument 'min' must be a number/);
      expect(() => mp.leakyRelu(x, NaN)).toThrow("leakyRelu: argument 'negativeSlope' must be a number, got NaN");
    });
  });
});

describe('pow, maximum, minimum', () => {
  test('pow with tensors and scalars, float and integer', () => {
    mp.tidy(() => {
      const x = mp.tensor([0.5, 2, 3], { dtype: 'float64' });
      expect(x.pow(3).toArray()).toEqual([0.125, 8, 27]);
      expect(mp.pow(2, x).toArray()).toEqual([2 ** 0.5, 4, 8]);
      expect(x.pow(mp.tensor([2, 0.5, -1], { dtype: 'float64' })).toArray()).toEqual([0.25, Math.SQRT2, 1 / 3]);
      const i = mp.tensor([2, 3, -2], { dtype: 'int32' });
      expect(i.pow(3).dtype).toBe('int32');
      expect(i.pow(3).toArray()).toEqual([8, 27, -8]);
      expect(i.pow(0.5).dtype).toBe('float32');
      // PyTorch: a negative scalar exponent of an integer tensor raises; a tensor exponent (which
      // it cannot check without reading it) truncates: 1, -1 and 0 for 1, -1 and 2.
      expect(() => mp.tensor([1, -1, 2], { dtype: 'int32' }).pow(-1)).toThrow(/Integers to negative integer powers are not allowed/);
      expect(mp.tensor([1, -1, 2], { dtype: 'int32' }).pow(mp.tensor([-1, -1, -1], { dtype: 'int32' })).toArray()).toEqual([1, -1, 0]);
    });
  });

  test('maximum and minimum broadcast and promote', () => {
    mp.tidy(() => {
      const a = mp.tensor([[1, 5], [3, -2]], { dtype: 'float16' });
      const b = mp.tensor([2, 0]);
      const mx = mp.maximum(a, b);
      expect(mx.dtype).toBe('float32');
      expect(mx.toArray()).toEqual([[2, 5], [3, 0]]);
      expect(mp.minimum(a, b).toArray()).toEqual([[1, 0], [2, -2]]);
    });
  });
});

describe('comparisons', () => {
  test('eq ne lt le gt ge with broadcasting give bool', () => {
    mp.tidy(() => {
      const a = mp.tensor([[1, 2, 3]]);
      const b = mp.tensor([[2], [3]], { dtype: 'int32' });
      expect(mp.eq(a, b).toArray()).toEqual([[false, true, false], [false, false, true]]);
      expect(mp.lt(a, b).dtype).toBe('bool');
      expect(a.lt(b).toArray()).toEqual([[true, false, false], [true, true, false]]);
      expect(a.le(2).toArray()).toEqual([[true, true, false]]);
      expect(a.gt(1.5).toArray()).toEqual([[false, true, true]]);
      expect(a.ge(mp.tensor([3, 2, 1])).toArray()).toEqual([[false, true, true]]);
      expect(a.ne(2).toArray()).toEqual([[true, false, true]]);
    });
  });

  test('NaN compares unequal; scalars round into the tensor dtype first', () => {
    mp.tidy(() => {
      const n = mp.tensor([NaN]);
      expect(n.eq(n).item()).toBe(false);
      expect(n.ne(n).item()).toBe(true);
      expect(mp.tensor([0.1], { dtype: 'float16' }).eq(0.1).item()).toBe(true);
      expect(mp.tensor([0.1]).eq(0.1).item()).toBe(true);
      expect(mp.tensor([1], { dtype: 'int32' }).lt(1.5).item()).toBe(true);
    });
  });
});

describe('relu backward (PyTorch threshold_backward at 0)', () => {
  test.each(['float32', 'bfloat16', 'float16'] as const)('%s: the gradient where the output is above 0 or NaN, +0 elsewhere, infinities included', (dtype) => {
    mp.tidy(() => {
      const x = mp.tensor([-1, 0, 2, NaN, -0, 3, -5], { dtype }).requiresGrad_();
      const y = mp.relu(x);
      y.backward(mp.tensor([Infinity, 5, -3, 7, -2, -Infinity, NaN], { dtype }));
      const g = Array.from(x.grad!.float().dataSync());
      expect(g.map((v) => (Object.is(v, -0) ? '-0' : v))).toEqual([0, 0, -3, 7, 0, -Infinity, 0]);
      x.grad!.dispose();
    });
  });

  test('second derivative through createGraph: the gradient of the gradient is the same mask', () => {
    mp.tidy(() => {
      const x = mp.tensor([-1, 0.5, 2]).requiresGrad_();
      const g = mp.tensor([3, 4, 5]).requiresGrad_();
      const [dx] = mp.autograd.grad([mp.relu(x)], [x], { gradOutputs: [g], createGraph: true });
      const [dg] = mp.autograd.grad([dx!.mul(mp.tensor([1, 10, 100])).sum()], [g]);
      expect(Array.from(dg!.dataSync())).toEqual([0, 10, 100]);
    });
  });
});
