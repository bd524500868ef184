// clipGradNorm / clipGradValue against norms and clipping computed in float64 JS, and the
// threaded norm / scale / clamp kernels against their scalar references.
import * as mp from '../lib';
import { clipGradNorm, clipGradValue } from '../lib/nn/utils';
import { nativeLists } from '../lib/ops/multiTensor';
import { native } from './helpers/native';

afterEach(() => expect(mp.memory().numTensors).toBe(0));

function values(n: number, seed: number, scale = 1): number[] {
  let x = seed >>> 0 || 1;
  return Array.from({ length: n }, () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return (x / 2 ** 31 - 1) * scale;
  });
}

/** Parameters with gradients (the data as stored in `dtypes[i]`), and a cleanup. */
function withGrads(data: number[][], dtypes: mp.DType[]): mp.Tensor[] {
  return data.map((v, i) => {
    const p = mp.keep(mp.zeros([v.length], { dtype: dtypes[i] }));
    p.grad = mp.tensor(v, { dtype: dtypes[i] });
    return p;
  });
}
function release(params: mp.Tensor[]): void {
  for (const p of params) {
    p.grad?.dispose();
    p.grad = undefined;
    p.dispose();
  }
}
const gradValues = (params: mp.Tensor[]) => mp.tidy(() => params.map((p) => Array.from((p.grad as mp.Tensor).double().dataSync())));

function normReference(all: number[], p: number): number {
  if (p === Infinity) return Math.max(...all.map(Math.abs));
  return all.reduce((s, v) => s + Math.abs(v) ** p, 0) ** (1 / p);
}

describe('clipGradNorm', () => {
  test.each([2, 1, Infinity, 3])('norm of order %s over tensors of several dtypes, grads scaled by maxNorm / (total + 1e-6)', (p) => {
    const dtypes: mp.DType[] = ['float32', 'float64', 'float32', 'bfloat16'];
    const params = withGrads([values(7, 1, 3), values(20000, 2), values(5, 3, 2), values(33, 4)], dtypes);
    const before = gradValues(params);
    const want = normReference(before.flat(), p);
    const total = clipGradNorm(params, 0.5, { normType: p });
    expect(total.dtype).toBe('float32');
    expect(total.shape).toEqual([]);
    expect(Math.abs((total.item() as number) - want)).toBeLessThanOrEqual(want * 1e-6);
    const coef = Math.min(1, 0.5 / ((total.item() as number) + 1e-6));
    const tol: Record<string, number> = { float32: 1e-6, float64: 1e-6, bfloat16: 2 ** -8 };
    gradValues(params).forEach((g, i) => g.forEach((v, k) => {
      const w = before[i][k] * coef;
      expect(Math.abs(v - w)).toBeLessThanOrEqual(tol[dtypes[i]] * Math.abs(w) + 1e-30);
    }));
    total.dispose();
    release(params);
  });

  test('grads below maxNorm are left as they are; params without grads are skipped', () => {
    const params = withGrads([[0.5, -0.25], [0.125]], ['float16', 'float16']);
    const bare = mp.keep(mp.zeros([3]));
    const total = clipGradNorm([params[0], bare, params[1]], 10);
    expect(total.item()).toBeCloseTo(Math.hypot(0.5, 0.25, 0.125), 6);
    expect(gradValues(params)).toEqual([[0.5, -0.25], [0.125]]);
    expect(bare.grad).toBeUndefined();
    total.dispose();
    bare.dispose();
    release(params);
  });

  test('no gradients: a zero norm', () => {
    const p = mp.keep(mp.zeros([2]));
    const total = clipGradNorm(p, 1);
    expect(total.item()).toBe(0);
    total.dispose();
    p.dispose();
  });

  test('errorIfNonfinite throws on NaN or infinite norms; otherwise they scale the grads', () => {
    for (const bad of [Infinity, NaN]) {
      const params = withGrads([[1, bad, 2]], ['float32']);
      expect(() => clipGradNorm(params, 1, { errorIfNonfinite: true })).toThrow(
        expect.objectContaining({ name: 'MixprecError', code: 'ERR_NONFINITE', message: `clipGradNorm: the total norm of order 2 of the gradients is ${bad}, so they cannot be clipped; pass errorIfNonfinite: false to scale them by the non-finite norm anyway` }),
      );
      expect(gradValues(params)[0][0]).toBe(1);
      const total = clipGradNorm(params, 1);
      expect(Number.isFinite(total.item())).toBe(false);
      total.dispose();
      release(params);
    }
  });

  test('works inside mp.tidy: the grads stay, temporaries go', () => {
    const params = withGrads([values(10, 9, 4)], ['float32']);
    const norm = mp.tidy(() => clipGradNorm(params, 1).item());
    expect(norm).toBeGreaterThan(1);
    expect(Math.abs(normReference(gradValues(params)[0], 2) - 1)).toBeLessThan(1e-5);
    release(params);
  });

  test('bad arguments', () => {
    const params = withGrads([[1]], ['float32']);
    expect(() => clipGradNorm(params, NaN)).toThrow("clipGradNorm: argument 'maxNorm' must be a number, got NaN");
    expect(() => clipGradNorm(params, -1)).toThrow("clipGradNorm: argument 'maxNorm' must be a number >= 0, got -1");
    expect(() => clipGradNorm(params, 1, { normType: 0 })).toThrow("clipGradNorm: argument 'normType' must be a number > 0 or Infinity, got 0");
    expect(() => clipGradNorm(params, 1, { errorIfNonfinite: 1 as unknown as boolean })).toThrow("clipGradNorm: argument 'errorIfNonfinite' must be a boolean, got 1");
    expect(() => clipGradNorm(3 as unknown as mp.Tensor, 1)).toThrow("clipGradNorm: argument 'params' must be a Tensor or an iterable of Tensors, got 3");
    expect(() => clipGradNorm([params[0], 'w'] as unknown as mp.Tensor[], 1)).toThrow("clipGradNorm: argument 'params[1]' must be a Tensor, got \"w\"");
    expect(() => clipGradValue(params, -0.5)).toThrow("clipGradValue: argument 'clipValue' must be a number >= 0, got -0.5");
    release(params);
  });
});

describe('clipGradValue', () => {
  test.each(['float32', 'bfloat16', 'float64'] as const)('%s grads clamped in place, NaN kept', (dtype) => {
    const params = withGrads([[-3, -0.5, 0.25, NaN, 8], [1.5]], [dtype, dtype]);
    const g0 = params[0].grad as mp.Tensor;
    const v0 = g0.version;
    clipGradValue(params, 1);
    expect(params[0].grad).toBe(g0);
    expect(g0.version).toBeGreaterThan(v0);
    expect(gradValues(params)).toEqual([[-1, -0.5, 0.25, NaN, 1], [1]]);
    release(params);
  });
});

describe('threaded norm, scale and clamp kernels match their scalar references', () => {
  const at = (t: mp.Tensor) => ({ storage: t.storage.handle, offset: t.offset });
  const sizes = [3, 40000, 0, 17001];
  test.each(['float32', 'float16', 'bfloat16', 'float64'] as const)('%s', (dtype) => {
    mp.tidy(() => {
      const make = () => sizes.map((n, i) => mp.tensor(values(n, 50 + i, 2), { dtype }));
      for (const p of [2, 1, Infinity, 2.5]) {
        const ts = make();
        const l = nativeLists(dtype, [ts]);
        const [fast, ref] = [mp.zeros([]), mp.zeros([])];
        native.multiTensorNorm({ lists: l, normType: p, out: at(fast) });
        native._test.multiTensorNormReference({ lists: l, normType: p, out: at(ref) });
        // Partial sums in a different order: equal up to float32 rounding.
        expect(Math.abs((fast.item() as number) - (ref.item() as number))).toBeLessThanOrEqual(Math.abs(ref.item() as number) * 2 ** -23);
      }
      const [a, b] = [make(), make()];
      const [la, lb] = [nativeLists(dtype, [a]), nativeLists(dtype, [b])];
      const scale = mp.tensor([0.3]);
      native.multiTensorScale({ lists: la, scale: at(scale) });
      native._test.multiTensorScaleReference({ lists: lb, scale: at(scale) });
      native.multiTensorClamp({ lists: la, min: -0.2, max: 0.1 });
      native._test.multiTensorClampReference({ lists: lb, min: -0.2, max: 0.1 });
      expect(a.map((t) => Array.from(t.rawData()))).toEqual(b.map((t) => Array.from(t.rawData())));
    });
  });

  test('the bindings check lists, offsets and device scalars', () => {
    mp.tidy(() => {
      const t = mp.zeros([4]);
      const l = nativeLists('float32', [[t]]);
      const out = mp.zeros([]);
      expect(() => native.multiTensorNorm({ lists: { ...l, numels: [5] }, normType: 2, out: at(out) })).toThrow(
        'mixprec native multiTensorNorm: tensors[0] needs 5 float32 elements at offset 0 but its storage holds 16 bytes',
      );
      expect(() => native.multiTensorNorm({ lists: l, normType: 0, out: at(out) })).toThrow(
        'mixprec native multiTensorNorm: normType must be a positive number or Infinity, got 0',
      );
      expect(() => native.multiTensorScale({ lists: l, scale: { storage: t.storage.handle, offset: 4 } })).toThrow(
        'mixprec native multiTensorScale: scale needs 1 float32 elements at offset 4 but its storage holds 16 bytes',
      );
      expect(() => native.multiTensorClamp({ lists: { ...l, dtype: 4 }, min: 0, max: 1 })).toThrow(
        'mixprec native multiTensorClamp: lists.dtype must be a floating dtype code, got 4',
      );
      const adam = { lr: 1, beta1: 0.9, beta2: 0.9, eps: 0, weightDecay: 0, decoupled: false, amsgrad: false, maximize: false };
      expect(() => native.adamStep({ lists: l, gradScale: null, foundInf: null, options: adam })).toThrow(
        'mixprec native adamStep: lists.handles must be an array of 6 lists, got an array',
      );
      expect(() => native.adamStep({ lists: l, gradScale: null, foundInf: null, options: { ...adam, beta2: '0.9' as never } })).toThrow(
        'mixprec native adamStep: options.beta2 must be a number, got a string',
      );
      const g = mp.zeros([4]);
      const s = mp.zeros([]);
      const sgd = nativeLists('float32', [[t], [g], [s], []]);
      const sgdOptions = { lr: 0.1, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false, maximize: false };
      expect(() => native.sgdStep({ lists: sgd, gradScale: null, foundInf: null, options: sgdOptions })).toThrow(
        'mixprec native sgdStep: lists.handles must be an array of 1-element arrays (list 3), got an array',
      );
      t.dispose();
      expect(() => native.multiTensorNorm({ lists: l, normType: 2, out: at(out) })).toThrow(
        'mixprec native multiTensorNorm: tensors[0] uses memory that was already released (a disposed tensor)',
      );
    });
  });
});
