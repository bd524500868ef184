// scaledDotProductAttention (the fused FlashAttention-style kernel) against independent
// references: a float64 attention written in plain JS from the definition, and the unfused
// composition of mixprec's own ops (matmul → scale → mask → softmax → dropout → matmul) for
// gradients; masks, causality with L != S, seeded dropout, 16-bit results, odd sizes, errors.
import * as mp from '../lib';
import { flashAttention } from '../lib/ops/attention';
import { hash, seedRng, uniform } from './helpers/seededRandom';

const F = mp.nn.functional;
type T = mp.Tensor;

afterEach(() => expect(mp.memory().numTensors).toBe(0));

function randomTensor(shape: number[], dtype: mp.DType = 'float64', lo = -1, hi = 1): T {
  const n = shape.reduce((a, b) => a * b, 1);
  const values = Float64Array.from({ length: n }, () => lo + (hi - lo) * uniform());
  return mp.tensor(values, { dtype: 'float64', shape }).to(dtype);
}

function values(t: T): number[] {
  return Array.from(t.to('float64').dataSync() as Float64Array);
}

/** Where a key takes part and what is added to its score: the definition's mask, per element. */
type MaskFn = (b: number, i: number, j: number) => { keep: boolean; add: number };

/** softmax(q kᵀ · scale + mask) · (dropout factors) · v in float64, from the definition. */
function reference(q: number[], k: number[], v: number[], dims: { N: number; L: number; S: number; E: number; Ev: number },
  scale: number, mask?: MaskFn, dropFactor?: (b: number, i: number, j: number) => number): number[] {
  const { N, L, S, E, Ev } = dims;
  const out = new Array<number>(N * L * Ev).fill(0);
  for (let b = 0; b < N; ++b) {
    for (let i = 0; i < L; ++i) {
      const scores = new Array<number>(S);
      for (let j = 0; j < S; ++j) {
        let dot = 0;
        for (let e = 0; e < E; ++e) dot += q[(b * L + i) * E + e] * k[(b * S + j) * E + e];
        const m = mask?.(b, i, j) ?? { keep: true, add: 0 };
        scores[j] = m.keep ? dot * scale + m.add : -Infinity;
      }
      const max = Math.max(...scores);
      const w = scores.map((s) => Math.exp(s - max));
      const total = w.reduce((a, c) => a + c, 0);
      for (let j = 0; j < S; ++j) {
        const p = (w[j] / total) * (dropFactor?.(b, i, j) ?? 1);
        for (let c = 0; c < Ev; ++c) out[(b * L + i) * Ev + c] += p * v[(b * S + j) * Ev + c];
      }
    }
  }
  return out;
}

function expectClose(got: number[], want: number[], atol: number, rtol = 0): void {
  expect(got.length).toBe(want.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < got.length; ++i) {
    const excess = Math.abs(got[i] - want[i]) - (atol + rtol * Math.abs(want[i]));
    if (!(excess <= worst)) {
      worst = Number.isNaN(excess) ? Infinity : excess;
      at = i;
    }
  }
  if (at >= 0) throw new Error(`element ${at}: got ${got[at]}, want ${want[at]} (atol ${atol}, rtol ${rtol})`);
}

interface ComposeOptions { attnMask?: T; isCausal?: boolean; scale?: number; dropoutP?: number }

/** The unfused composition with mixprec's recorded ops (materialises the L×S weights). */
function composed(q: T, k: T, v: T, o: ComposeOptions = {}): T {
  const L = q.shape[q.ndim - 2];
  const S = k.shape[k.ndim - 2];
  let s = q.matmul(k.transpose(-2, -1)).mul(o.scale ?? 1 / Math.sqrt(q.shape[q.ndim - 1]));
  let keep: T | undefined;
  if (o.isCausal) keep = mp.tensor(Array.from({ length: L * S }, (_, x) => x % S <= Math.floor(x / S))).reshape([L, S]);
  if (o.attnMask?.dtype === 'bool') keep = o.attnMask;
  if (keep) s = mp.where(keep, s, -Infinity);
  if (o.attnMask && o.attnMask.dtype !== 'bool') s = s.add(o.attnMask.to(s.dtype));
  let w = s.softmax(-1);
  if (o.dropoutP) w = F.dropout(w, o.dropoutP, true);
  return w.matmul(v);
}

/** Gradients of sum(out * weights) for q, k, v. */
function gradsOf(fn: (q: T, k: T, v: T) => T, q: T, k: T, v: T, weights: T): number[][] {
  const leaves = [q, k, v].map((t) => t.detach().requiresGrad_());
  fn(leaves[0], leaves[1], leaves[2]).mul(weights).sum().backward();
  return leaves.map((t) => {
    const g = values(t.grad!);
    t.grad!.dispose();
    return g;
  });
}

describe('forward against the float64 definition', () => {
  test.each([
    // [N, H, L, S, E, Ev]
    [1, 1, 1, 1, 1, 1],
    [2, 3, 17, 17, 7, 7],
    [1, 2, 65, 65, 64, 64],
    [2, 1, 17, 65, 7, 5],
    [1, 1, 130, 70, 16, 24],
  ])('N=%i H=%i L=%i S=%i E=%i Ev=%i, float64 and float32', (N, H, L, S, E, Ev) => {
    seedRng(hash(`forward ${N} ${H} ${L} ${S} ${E} ${Ev}`));
    mp.tidy(() => {
      const q = randomTensor([N, H, L, E], 'float64', -2, 2);
      const k = randomTensor([N, H, S, E], 'float64', -2, 2);
      const v = randomTensor([N, H, S, Ev]);
      const want = reference(values(q), values(k), values(v), { N: N * H, L, S, E, Ev }, 1 / Math.sqrt(E));
      expectClose(values(F.scaledDotProductAttention(q, k, v)), want, 1e-12);
      const f32 = F.scaledDotProductAttention(q.to('float32'), k.to('float32'), v.to('float32'));
      expect(f32.dtype).toBe('float32');
      expect(f32.shape).toEqual([N, H, L, Ev]);
      expectClose(values(f32), want, 2e-6, 2e-6);
    });
  });

  test('scale, 3-D and 2-D inputs', () => {
    seedRng(hash('scale'));
    mp.tidy(() => {
      const q = randomTensor([3, 5, 4]);
      const k = randomTensor([3, 6, 4]);
      const v = randomTensor([3, 6, 2]);
      const want = reference(values(q), values(k), values(v), { N: 3, L: 5, S: 6, E: 4, Ev: 2 }, 0.7);
      expectClose(values(F.scaledDotProductAttention(q, k, v, { scale: 0.7 })), want, 1e-12);
      const first = reference(values(q).slice(0, 20), values(k).slice(0, 24), values(v).slice(0, 12), { N: 1, L: 5, S: 6, E: 4, Ev: 2 }, 0.5);
      const q2 = q.narrow(0, 0, 1).reshape([5, 4]);
      const out2 = F.scaledDotProductAttention(q2, k.narrow(0, 0, 1).reshape([6, 4]), v.narrow(0, 0, 1).reshape([6, 2]));
      expect(out2.shape).toEqual([5, 2]);
      expectClose(values(out2), first, 1e-12);
    });
  });

  test('the scalar (portable) path and every SIMD path agree within float32 rounding, forward and backward; AVX2 and AVX-512 tiles bit for bit', () => {
    seedRng(hash('simd levels'));
    const detected = mp.backend().simdDetected;
    const levels = ['scalar', 'f16c', 'avx512', 'avx512bf16', 'amx'];
    mp.tidy(() => {
      // 70 keys: tiles of 64 and of 6 columns (rounded up to 8, a half-width AVX-512 vector).
      const q = randomTensor([2, 2, 70, 24], 'float32', -3, 3);
      const k = randomTensor([2, 2, 70, 24], 'float32', -3, 3);
      const v = randomTensor([2, 2, 70, 24], 'float32');
      const w = randomTensor([2, 2, 70, 24], 'float32');
      const run = (x: T, y: T, z: T) => F.scaledDotProductAttention(x, y, z, { isCausal: true });
      const at = (level: string) => {
        mp.setSimdLevel(level);
        return [values(run(q, k, v)), ...gradsOf(run, q, k, v, w)];
      };
      try {
        const scalar = at('scalar');
        const simd = levels.slice(1, levels.indexOf(detected) + 1).map(at);
        for (const fast of simd) fast.forEach((x, i) => expectClose(x, scalar[i], 1e-5, 1e-4));
        for (const fast of simd.slice(1)) expect(fast).toEqual(simd[0]);
      } finally {
        mp.setSimdLevel(detected);
      }
    });
  });
});

describe('masks and causality', () => {
  const dims = { N: 2, H: 3, L: 5, S: 7, E: 4 };
  const shapeOf = (d: typeof dims) => ({ q: [d.N, d.H, d.L, d.E], k: [d.N, d.H, d.S, d.E] });

  test.each([
    ['[L, S]', [5, 7]],
    ['[N, 1, L, S]', [2, 1, 5, 7]],
    ['[1, H, L, S]', [1, 3, 5, 7]],
    ['[N, H, L, S]', [2, 3, 5, 7]],
    ['[1, S] (same for every query)', [1, 7]],
  ])('bool and additive masks of shape %s broadcast as PyTorch', (_label, maskShape) => {
    seedRng(hash(`mask ${maskShape.join(',')}`));
    mp.tidy(() => {
      const s = shapeOf(dims);
      const q = randomTensor(s.q);
      const k = randomTensor(s.k);
      const v = randomTensor(s.k);
      const n = maskShape.reduce((a, b) => a * b, 1);
      const keepValues = Array.from({ length: n }, (_, x) => x % 7 === 0 || uniform() < 0.6);
      const addValues = Array.from({ length: n }, () => uniform() * 4 - 2);
      const boolMask = mp.tensor(keepValues).reshape(maskShape);
      const addMask = mp.tensor(Float64Array.from(addValues), { dtype: 'float64', shape: maskShape });
      // Element (b, i, j) of the mask under broadcasting, b = n * H + h.
      const at = (b: number, i: number, j: number): number => {
        const full = [Math.floor(b / dims.H), b % dims.H, i, j].slice(4 - maskShape.length);
        return full.reduce((off, x, d) => off * maskShape[d] + (maskShape[d] === 1 ? 0 : x), 0);
      };
      const d = { N: dims.N * dims.H, L: dims.L, S: dims.S, E: dims.E, Ev: dims.E };
      const wantBool = reference(values(q), values(k), values(v), d, 0.5, (b, i, j) => ({ keep: keepValues[at(b, i, j)], add: 0 }));
      expectClose(values(F.scaledDotProductAttention(q, k, v, { attnMask: boolMask })), wantBool, 1e-12);
      const wantAdd = reference(values(q), values(k), values(v), d, 0.5, (b, i, j) => ({ keep: true, add: addValues[at(b, i, j)] }));
      expectClose(values(F.scaledDotProductAttention(q, k, v, { attnMask: addMask })), wantAdd, 1e-12);
      // A float32 mask on float64 inputs is converted; -inf entries remove keys.
      const infMask = mp.where(boolMask, 0, -Infinity).to('float32');
      expectClose(values(F.scaledDotProductAttention(q, k, v, { attnMask: infMask })), wantBool, 1e-12);
    });
  });

  test('a mask broadcast over a middle batch dimension (expanded internally)', () => {
    seedRng(hash('mask 5-d'));
    mp.tidy(() => {
      const q = randomTensor([2, 3, 2, 4, 3]);
      const k = randomTensor([2, 3, 2, 5, 3]);
      const v = randomTensor([2, 3, 2, 5, 3]);
      const keepValues = Array.from({ length: 2 * 2 * 4 * 5 }, (_, x) => x % 5 === 1 || uniform() < 0.5);
      const mask = mp.tensor(keepValues).reshape([2, 1, 2, 4, 5]);
      const maskAt = (b: number, i: number, j: number) => keepValues[((Math.floor(b / 6) * 2 + (b % 2)) * 4 + i) * 5 + j];
      const want = reference(values(q), values(k), values(v), { N: 12, L: 4, S: 5, E: 3, Ev: 3 }, 1 / Math.sqrt(3), (b, i, j) => ({ keep: maskAt(b, i, j), add: 0 }));
      expectClose(values(F.scaledDotProductAttention(q, k, v, { attnMask: mask })), want, 1e-12);
    });
  });

  test.each([[6, 6], [5, 3], [3, 5], [1, 4], [70, 130]])('isCausal with L=%i, S=%i: top-left alignment (query i sees keys j <= i)', (L, S) => {
    seedRng(hash(`causal ${L} ${S}`));
    mp.tidy(() => {
      const q = randomTensor([2, L, 8]);
      const k = randomTensor([2, S, 8]);
      const v = randomTensor([2, S, 8]);
      const want = reference(values(q), values(k), values(v), { N: 2, L, S, E: 8, Ev: 8 }, 1 / Math.sqrt(8), (_b, i, j) => ({ keep: j <= i, add: 0 }));
      expectClose(values(F.scaledDotProductAttention(q, k, v, { isCausal: true })), want, 1e-12);
      expectClose(values(F.scaledDotProductAttention(q.to('float32'), k.to('float32'), v.to('float32'), { isCausal: true })), want, 2e-6, 2e-6);
    });
  });

  test('a row whose keys are all masked is NaN, as the composition; the other rows are unaffected', () => {
    mp.tidy(() => {
      const q = randomTensor([1, 3, 2]);
      const k = randomTensor([1, 4, 2]);
      const v = randomTensor([1, 4, 2]);
      const mask = mp.tensor([true, true, false, true, false, false, false, false, true, false, true, true]).reshape([3, 4]);
      const fused = values(F.scaledDotProductAttention(q, k, v, { attnMask: mask }));
      const unfused = values(composed(q, k, v, { attnMask: mask }));
      expect(fused.slice(2, 4).every(Number.isNaN)).toBe(true);
      expect(unfused.slice(2, 4).every(Number.isNaN)).toBe(true);
      expectClose([...fused.slice(0, 2), ...fused.slice(4)], [...unfused.slice(0, 2), ...unfused.slice(4)], 1e-12);
    });
  });

  test('no keys (S = 0) gives zeros, as the composition; no queries or no value features give an empty result', () => {
    mp.tidy(() => {
      const out = F.scaledDotProductAttention(mp.ones([2, 3, 4], { dtype: 'float32' }), mp.ones([2, 0, 4]), mp.ones([2, 0, 5]));
      expect(out.shape).toEqual([2, 3, 5]);
      expect(values(out).every((x) => x === 0)).toBe(true);
      expect(F.scaledDotProductAttention(mp.ones([2, 0, 4]), mp.ones([2, 3, 4]), mp.ones([2, 3, 5])).shape).toEqual([2, 0, 5]);
      // No value features: an empty output, and zero gradients for query and key.
      const q = mp.ones([2, 3, 4], { dtype: 'float64' }).requiresGrad_();
      const empty = F.scaledDotProductAttention(q, mp.ones([2, 3, 4], { dtype: 'float64' }), mp.ones([2, 3, 0], { dtype: 'float64' }));
      expect(empty.shape).toEqual([2, 3, 0]);
      empty.sum().backward();
      expect(values(q.grad!).every((x) => x === 0)).toBe(true);
      q.grad!.dispose();
    });
  });
});

describe('gradients', () => {
  test.each([
    ['plain', {}, [2, 2, 17, 17, 7]],
    ['causal, L > S', { isCausal: true }, [1, 2, 70, 65, 8]],
    ['causal, L < S', { isCausal: true }, [2, 1, 9, 66, 5]],
    ['scale', { scale: 0.3 }, [1, 3, 5, 6, 1]],
  ] as [string, ComposeOptions, number[]][])('%s: fused gradients equal the composition\'s (float64)', (label, options, [N, H, L, S, E]) => {
    seedRng(hash(`grads ${label}`));
    mp.tidy(() => {
      const q = randomTensor([N, H, L, E], 'float64', -2, 2);
      const k = randomTensor([N, H, S, E], 'float64', -2, 2);
      const v = randomTensor([N, H, S, E + 1]);
      const w = randomTensor([N, H, L, E + 1]);
      const fused = gradsOf((a, b, c) => F.scaledDotProductAttention(a, b, c, options), q, k, v, w);
      const unfused = gradsOf((a, b, c) => composed(a, b, c, options), q, k, v, w);
      fused.forEach((g, i) => expectClose(g, unfused[i], 1e-11, 1e-11));
      // float32: within float32 rounding of the float64 gradients.
      const f32 = gradsOf((a, b, c) => F.scaledDotProductAttention(a, b, c, options), q.to('float32'), k.to('float32'), v.to('float32'), w.to('float32'));
      f32.forEach((g, i) => expectClose(g, unfused[i], 2e-5, 2e-5));
    });
  });

  test('bool and additive masks: gradients equal the composition\'s', () => {
    seedRng(hash('grads masks'));
    mp.tidy(() => {
      const q = randomTensor([2, 2, 6, 3]);
      const k = randomTensor([2, 2, 8, 3]);
      const v = randomTensor([2, 2, 8, 3]);
      const w = randomTensor([2, 2, 6, 3]);
      const boolMask = mp.tensor(Array.from({ length: 2 * 6 * 8 }, (_, x) => x % 8 === 0 || uniform() < 0.5)).reshape([2, 1, 6, 8]);
      const addMask = randomTensor([6, 8], 'float64', -1, 1);
      for (const attnMask of [boolMask, addMask]) {
        const fused = gradsOf((a, b, c) => F.scaledDotProductAttention(a, b, c, { attnMask }), q, k, v, w);
        const unfused = gradsOf((a, b, c) => composed(a, b, c, { attnMask }), q, k, v, w);
        fused.forEach((g, i) => expectClose(g, unfused[i], 1e-12, 1e-11));
      }
    });
  });

  test('gradcheck of the fused op in float64 (finite differences), with mask, causality and dropout', () => {
    seedRng(hash('gradcheck'));
    mp.tidy(() => {
      const q = randomTensor([1, 2, 3, 2]).requiresGrad_();
      const k = randomTensor([1, 2, 4, 2]).requiresGrad_();
      const v = randomTensor([1, 2, 4, 3]).requiresGrad_();
      const mask = mp.tensor([true, false, true, true, true, true, false, true, false, true, true, true]).reshape([3, 4]);
      expect(mp.autograd.gradcheck((a, b, c) => F.scaledDotProductAttention(a, b, c), [q, k, v])).toBe(true);
      expect(mp.autograd.gradcheck((a, b, c) => F.scaledDotProductAttention(a, b, c, { attnMask: mask }), [q, k, v])).toBe(true);
      expect(mp.autograd.gradcheck((a, b, c) => F.scaledDotProductAttention(a, b, c, { isCausal: true, scale: 1.3 }), [q, k, v])).toBe(true);
      // Dropout with a fixed stream per evaluation, so finite differences see one mask.
      const g = new mp.Generator(7);
      expect(mp.autograd.gradcheck((a, b, c) => {
        g.manualSeed(7);
        return F.scaledDotProductAttention(a, b, c, { dropoutP: 0.4, generator: g });
      }, [q, k, v])).toBe(true);
    });
  });

  test('second derivatives through the fused kernel are refused with a clear error', () => {
    mp.tidy(() => {
      const q = randomTensor([1, 2, 2]).requiresGrad_();
      const out = F.scaledDotProductAttention(q, q, q).sum();
      expect(() => mp.autograd.grad(out, [q], { createGraph: true })).toThrow(/second derivatives .* not available/);
    });
  });
});

describe('dropout', () => {
  test('deterministic with a seed, the same weights as dropout(softmax(...)) at the same generator state, and its backward', () => {
    seedRng(hash('dropout'));
    mp.tidy(() => {
      const q = randomTensor([2, 2, 9, 4]);
      const k = randomTensor([2, 2, 11, 4]);
      const v = randomTensor([2, 2, 11, 4]);
      const w = randomTensor([2, 2, 9, 4]);
      mp.manualSeed(123);
      const a = values(F.scaledDotProductAttention(q, k, v, { dropoutP: 0.3 }));
      mp.manualSeed(123);
      const b = values(F.scaledDotProductAttention(q, k, v, { dropoutP: 0.3 }));
      expect(a).toEqual(b);
      const c = values(F.scaledDotProductAttention(q, k, v, { dropoutP: 0.3 }));
      expect(c).not.toEqual(a);
      mp.manualSeed(123);
      expectClose(a, values(composed(q, k, v, { dropoutP: 0.3 })), 1e-12);
      // The backward regenerates the forward's mask from its counters.
      mp.manualSeed(5);
      const fused = gradsOf((x, y, z) => F.scaledDotProductAttention(x, y, z, { dropoutP: 0.5, isCausal: true }), q, k, v, w);
      mp.manualSeed(5);
      const unfused = gradsOf((x, y, z) => composed(x, y, z, { dropoutP: 0.5, isCausal: true }), q, k, v, w);
      fused.forEach((g, i) => expectClose(g, unfused[i], 1e-12, 1e-11));
    });
  });

  test('dropoutP = 1 zeroes the output; the generator advances by the L×S weights it drew', () => {
    mp.tidy(() => {
      const q = randomTensor([3, 4, 2]);
      expect(values(F.scaledDotProductAttention(q, q, q, { dropoutP: 1 })).every((x) => x === 0)).toBe(true);
      const g = new mp.Generator(1);
      F.scaledDotProductAttention(q, q, q, { dropoutP: 0.1, generator: g });
      expect(g.getState().offset).toBe(3n * 4n * 4n);
      F.scaledDotProductAttention(q, q, q, { generator: g });
      expect(g.getState().offset).toBe(3n * 4n * 4n);
    });
  });
});

describe('16-bit inputs', () => {
  test.each(['bfloat16', 'float16'] as const)('%s: equal to the float32 kernel on the widened inputs, rounded once; near the float64 definition', (dtype) => {
    seedRng(hash(`16-bit ${dtype}`));
    mp.tidy(() => {
      const [q, k, v] = [[2, 3, 65, 16], [2, 3, 40, 16], [2, 3, 40, 9]].map((s) => randomTensor(s, dtype, -2, 2));
      const mask = randomTensor([65, 40], dtype, -1, 1);
      for (const options of [{}, { isCausal: true }, { attnMask: mask }]) {
        const out = F.scaledDotProductAttention(q, k, v, options);
        expect(out.dtype).toBe(dtype);
        const wide = { ...options, ...('attnMask' in options ? { attnMask: mask.to('float32') } : {}) };
        const f32 = F.scaledDotProductAttention(q.to('float32'), k.to('float32'), v.to('float32'), wide);
        expect(values(out)).toEqual(values(f32.to(dtype)));
        const mAt = values(mask);
        const want = reference(values(q), values(k), values(v), { N: 6, L: 65, S: 40, E: 16, Ev: 9 }, 0.25, (_b, i, j) => ({
          keep: !('isCausal' in options) || j <= i, add: 'attnMask' in options ? mAt[i * 40 + j] : 0 }));
        // One rounding to the 16-bit format (relative error at most the unit roundoff, 2^-8 for
        // bfloat16 and 2^-11 for float16) plus float32 error.
        const unitRoundoff = dtype === 'bfloat16' ? 2 ** -8 : 2 ** -11;
        expectClose(values(out), want, 1e-5, unitRoundoff + 1e-5);
      }
    });
  });

  test('bfloat16 gradients are near the float64 composition\'s', () => {
    seedRng(hash('16-bit grads'));
    mp.tidy(() => {
      const [q, k, v, w] = [[1, 2, 33, 8], [1, 2, 33, 8], [1, 2, 33, 8], [1, 2, 33, 8]].map((s) => randomTensor(s, 'bfloat16'));
      const fused = gradsOf((a, b, c) => F.scaledDotProductAttention(a, b, c, { isCausal: true }), q, k, v, w);
      const want = gradsOf((a, b, c) => composed(a, b, c, { isCausal: true }), ...[q, k, v, w].map((t) => t.to('float64')) as [T, T, T, T]);
      fused.forEach((g, i) => expectClose(g, want[i], 2e-2, 2e-2));
    });
  });

  test('under CPU autocast the op runs in bfloat16 (lower-precision category, as PyTorch)', () => {
    const op = mp.registeredOps().find((o) => o.name === 'scaledDotProductAttention');
    expect(op?.autocast).toEqual({ cuda: 'lowerPrecision', cpu: 'lowerPrecision' });
    mp.tidy(() => {
      const q = randomTensor([1, 4, 8], 'float32');
      const out = mp.amp.autocast({ deviceType: 'cpu' }, () => F.scaledDotProductAttention(q, q, q, { attnMask: mp.zeros([4, 4]) }));
      expect(out.dtype).toBe('bfloat16');
    });
  });
});

describe('memory', () => {
  test('peak tensor memory of forward + backward grows with T, not T²', () => {
    const peakOf = (T: number): number => {
      global.gc?.();
      return mp.tidy(() => {
        const q = randomTensor([1, 1, T, 16], 'float32').requiresGrad_();
        const base = mp.memory().numBytes;
        mp.resetPeakMemory();
        F.scaledDotProductAttention(q, q, q, { isCausal: true }).sum().backward();
        const peak = mp.memory().peakBytes - base;
        q.grad!.dispose();
        return peak;
      });
    };
    const small = peakOf(512);
    const large = peakOf(2048);
    // The L×S float32 weights alone would be 16 MiB at T = 2048.
    expect(large).toBeLessThan(2048 * 2048 * 4 / 16);
    expect(large / small).toBeLessThan(4 * 1.25);
  });
});

describe('errors name the argument', () => {
  const q = () => mp.ones([2, 3, 4]);
  test.each([
    ['query of 1 dimension', () => F.scaledDotProductAttention(mp.ones([4]), q(), q()), /query.*at least 2 dimensions/],
    ['int32 key', () => F.scaledDotProductAttention(q(), mp.ones([2, 3, 4], { dtype: 'int32' }), q()), /key must be floating point/],
    ['mixed dtypes', () => F.scaledDotProductAttention(q(), q().to('float64'), q()), /same dtype/],
    ['feature sizes', () => F.scaledDotProductAttention(q(), mp.ones([2, 3, 5]), q()), /key must have query's feature size 4/],
    ['value length', () => F.scaledDotProductAttention(q(), q(), mp.ones([2, 5, 4])), /value must have key's sequence length 3/],
    ['batch dims', () => F.scaledDotProductAttention(q(), mp.ones([1, 3, 4]), q()), /key must have query's batch dimensions \[2\]/],
    ['mask shape', () => F.scaledDotProductAttention(q(), q(), q(), { attnMask: mp.ones([2, 2]) }), /attnMask of shape \[2, 2\] does not broadcast/],
    ['mask dtype', () => F.scaledDotProductAttention(q(), q(), q(), { attnMask: mp.ones([3, 3], { dtype: 'int32' }) }), /attnMask must be bool or floating point/],
    ['mask and causal', () => F.scaledDotProductAttention(q(), q(), q(), { attnMask: mp.ones([3, 3]), isCausal: true }), /cannot both be set/],
    ['dropoutP', () => F.scaledDotProductAttention(q(), q(), q(), { dropoutP: 1.5 }), /dropoutP.*probability/],
    ['scale', () => F.scaledDotProductAttention(q(), q(), q(), { scale: NaN }), /scale.*finite number/],
    ['unknown option', () => F.scaledDotProductAttention(q(), q(), q(), { causal: true } as never), /causal/],
    ['generator', () => F.scaledDotProductAttention(q(), q(), q(), { generator: 3 } as never), /generator.*a Generator/],
    ['mask that requires grad', () => F.scaledDotProductAttention(q(), q(), q(), { attnMask: mp.zeros([3, 3]).requiresGrad_() }), /attnMask requires grad/],
  ])('%s', (_label, call, message) => {
    mp.tidy(() => expect(call).toThrow(message));
  });

  test('the internal primitive is listed with the public op', () => {
    const names = mp.registeredOps().map((o) => o.name);
    expect(names).toEqual(expect.arrayContaining(['scaledDotProductAttention', 'flashAttention']));
    expect(typeof flashAttention).toBe('function');
  });
});

describe('nn.MultiheadAttention', () => {
  const [N, L, S, E, H] = [2, 3, 4, 6, 2];
  const Dh = E / H;

  /** The module's math in float64 from its parameters: in-projection, attention per head, out-projection. */
  function mhaReference(mha: mp.nn.MultiheadAttention, q: T, k: T, v: T, mask?: (b: number, i: number, j: number) => boolean): { out: number[]; weights: number[] } {
    const W = values(mha.inProjWeight);
    const bIn = values(mha.inProjBias!);
    const Wo = values(mha.outProj.weight);
    const bo = values(mha.outProj.bias!);
    const [qv, kv, vv] = [q, k, v].map(values); // [seq, N, E]
    const project = (x: number[], len: number, part: number) => {
      const y = new Array<number>(len * N * E).fill(0);
      for (let t = 0; t < len * N; ++t) {
        for (let r = 0; r < E; ++r) {
          let acc = bIn[part * E + r];
          for (let c = 0; c < E; ++c) acc += W[(part * E + r) * E + c] * x[t * E + c];
          y[t * E + r] = acc;
        }
      }
      return y;
    };
    const [pq, pk, pv] = [project(qv, L, 0), project(kv, S, 1), project(vv, S, 2)];
    const heads = new Array<number>(L * N * E).fill(0);
    const weights = new Array<number>(N * L * S).fill(0);
    for (let n = 0; n < N; ++n) {
      for (let h = 0; h < H; ++h) {
        for (let i = 0; i < L; ++i) {
          const scores = Array.from({ length: S }, (_, j) => {
            if (mask && !mask(n, i, j)) return -Infinity;
            let dot = 0;
            for (let d = 0; d < Dh; ++d) dot += pq[(i * N + n) * E + h * Dh + d] * pk[(j * N + n) * E + h * Dh + d];
            return dot / Math.sqrt(Dh);
          });
          const max = Math.max(...scores);
          const w = scores.map((x) => Math.exp(x - max));
          const total = w.reduce((a, b) => a + b, 0);
          for (let j = 0; j < S; ++j) {
            weights[(n * L + i) * S + j] += w[j] / total / H;
            for (let d = 0; d < Dh; ++d) heads[(i * N + n) * E + h * Dh + d] += (w[j] / total) * pv[(j * N + n) * E + h * Dh + d];
          }
        }
      }
    }
    const out = new Array<number>(L * N * E).fill(0);
    for (let t = 0; t < L * N; ++t) {
      for (let r = 0; r < E; ++r) {
        let acc = bo[r];
        for (let c = 0; c < E; ++c) acc += Wo[r * E + c] * heads[t * E + c];
        out[t * E + r] = acc;
      }
    }
    return { out, weights };
  }

  function model(): mp.nn.MultiheadAttention {
    const mha = new mp.nn.MultiheadAttention(E, H, { dtype: 'float64' });
    // Non-zero biases, so the reference checks where they are added.
    mp.tidy(() => mp.noGrad(() => {
      mha.inProjBias!.copy_(randomTensor([3 * E]));
      mha.outProj.bias!.copy_(randomTensor([E]));
    }));
    return mha;
  }

  function release(mha: mp.nn.MultiheadAttention): void {
    for (const p of mha.parameters()) {
      p.grad?.dispose();
      p.dispose();
    }
  }

  test('matches the float64 definition on the fused path and the weights path; parameters named as PyTorch\'s', () => {
    seedRng(hash('mha'));
    const mha = model();
    mp.tidy(() => {
      expect(mha.namedParameters().map(([name]) => name)).toEqual(['inProjWeight', 'inProjBias', 'outProj.weight', 'outProj.bias']);
      const [q, k, v] = [[L, N, E], [S, N, E], [S, N, E]].map((s) => randomTensor(s));
      const want = mhaReference(mha, q, k, v);
      const [out, weights] = mha.forward(q, k, v);
      expectClose(values(out), want.out, 1e-12);
      expect(weights!.shape).toEqual([N, L, S]);
      expectClose(values(weights!), want.weights, 1e-12);
      const [fused, none] = mha.forward(q, k, v, { needWeights: false });
      expect(none).toBeUndefined();
      expectClose(values(fused), want.out, 1e-12);
    });
    release(mha);
  });

  test('masks follow PyTorch\'s MHA convention (bool true = not allowed), with key padding and causality', () => {
    seedRng(hash('mha masks'));
    const mha = model();
    mp.tidy(() => {
      const [q, k, v] = [[L, N, E], [S, N, E], [S, N, E]].map((s) => randomTensor(s));
      const blocked = [[false, true, false, false], [false, false, false, true], [true, false, false, false]];
      const attnMask = mp.tensor(blocked.flat()).reshape([L, S]);
      const padding = mp.tensor([false, false, false, true, false, true, false, false]).reshape([N, S]);
      const padded = (n: number, j: number) => values(padding.to('float64'))[n * S + j] === 1;
      const cases: [MultiheadAttentionCase, (n: number, i: number, j: number) => boolean][] = [
        [{ attnMask }, (_n, i, j) => !blocked[i][j]],
        [{ keyPaddingMask: padding }, (n, _i, j) => !padded(n, j)],
        [{ attnMask, keyPaddingMask: padding }, (n, i, j) => !blocked[i][j] && !padded(n, j)],
        [{ isCausal: true }, (_n, i, j) => j <= i],
        [{ isCausal: true, keyPaddingMask: padding }, (n, i, j) => j <= i && !padded(n, j)],
      ];
      for (const [options, keep] of cases) {
        const want = mhaReference(mha, q, k, v, keep).out;
        expectClose(values(mha.forward(q, k, v, options)[0]), want, 1e-12);
        expectClose(values(mha.forward(q, k, v, { ...options, needWeights: false })[0]), want, 1e-12);
      }
    });
    release(mha);
  });

  test('batchFirst, gradients of the fused path equal the weights path\'s, and errors', () => {
    seedRng(hash('mha grads'));
    const mha = new mp.nn.MultiheadAttention(E, H, { batchFirst: true, dtype: 'float64' });
    mp.tidy(() => {
      const x = randomTensor([N, L, E]);
      const gradsOf = (needWeights: boolean) => {
        mha.forward(x, x, x, { needWeights, isCausal: true })[0].mul(mp.arange(E, { dtype: 'float64' })).sum().backward();
        return mha.parameters().map((p) => {
          const g = values(p.grad!);
          p.grad!.dispose();
          p.grad = undefined;
          return g;
        });
      };
      const fused = gradsOf(false);
      gradsOf(true).forEach((g, i) => expectClose(fused[i], g, 1e-12, 1e-11));
      expect(() => new mp.nn.MultiheadAttention(6, 4)).toThrow(/embedDim 6 must be divisible by numHeads 4/);
      expect(() => mha.forward(x, x, mp.ones([N, L + 1, E], { dtype: 'float64' }))).toThrow(/key and value must have query's batch size/);
      expect(() => mha.forward(x.reshape([N * L, E]), x, x)).toThrow(/query must be 3-d/);
      expect(() => mha.forward(x, x, x, { attnMask: mp.ones([2, 2], { dtype: 'bool' }) })).toThrow(/attnMask must be \[3, 3\]/);
    });
    release(mha);
  });
});

type MultiheadAttentionCase = mp.nn.MultiheadAttentionForwardOptions;
