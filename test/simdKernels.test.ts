// Every SIMD level of the vectorized CPU kernels (elementwise, sum, optimizers, AMP unscale)
// against the scalar level, on tails (odd sizes) and special values (NaN, +-Inf, -0, subnormals,
// overflow), for every float dtype. Bit-identical where the math is the same operations; exp,
// sigmoid and silu use a vector exp, so those are compared within a few float32 ulps (and one
// 16-bit ulp after rounding). NaNs compare equal to NaNs whatever their payload.
import * as mp from '../lib';
import { nativeLists } from '../lib/ops/multiTensor';
import { dtypeCode, native } from './helpers/native';

/** A tensor as a native operand. */
const at = (t: mp.Tensor) => ({ storage: t.storage.handle, offset: t.offset });

type FloatDType = 'float32' | 'float16' | 'bfloat16' | 'float64';
const levels = ['scalar', 'f16c', 'avx512', 'avx512bf16', 'amx'];
const available = levels.slice(0, levels.indexOf(mp.backend().simdDetected) + 1);
const vectorLevels = available.filter((l) => l !== 'scalar');
const dtypes: FloatDType[] = ['float32', 'float16', 'bfloat16', 'float64'];
const sizes = [0, 1, 7, 15, 16, 17, 31, 33, 1000, 4097];

afterAll(() => {
  mp.setSimdLevel(mp.backend().simdDetected);
});
afterEach(() => expect(mp.memory().numTensors).toBe(0));

const specials = [NaN, -NaN, Infinity, -Infinity, 0, -0, 1e-40, -3e-39, 1e-7, -6e-8, 3e-5, 65504, 70000, -1e30, 88.5, -90, 1, -1, 0.5];

/** n values: deterministic pseudo-random over several magnitudes, every 5th one special. */
function values(n: number, seed: number, positive = false): Float32Array {
  let x = (seed * 2654435761) >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; ++i) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    const u = x / 4294967296;
    let v = i % 5 === 3 ? specials[(x >>> 7) % specials.length] : (u - 0.5) * 2 ** ((x % 13) - 4);
    if (positive) v = Math.abs(v);
    out[i] = v;
  }
  return out;
}

function tensorOf(v: Float32Array, dtype: FloatDType): mp.Tensor {
  return mp.tidy(() => mp.tensor(v).to(dtype));
}

/** The raw bytes, every NaN rewritten to one pattern so payloads and signs of NaN do not count. */
function canon(t: mp.Tensor): Buffer {
  const raw = t.rawData().slice() as Uint16Array | Float32Array | Float64Array;
  const vals = t.dataSync();
  for (let i = 0; i < vals.length; ++i) if (Number.isNaN(vals[i])) raw[i] = raw instanceof Uint16Array ? 0x7fff : NaN;
  return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
}

/** -1 when the buffers are equal, else the first differing byte (a readable failure, and fast). */
function firstDiff(a: Buffer, b: Buffer): number {
  if (a.equals(b)) return -1;
  for (let i = 0; i < Math.max(a.length, b.length); ++i) if (a[i] !== b[i]) return i;
  return a.length;
}

/** Runs fn once at the scalar level and once at `level`; returns both results. */
function atLevels<R>(level: string, fn: () => R): [R, R] {
  mp.setSimdLevel('scalar');
  const ref = fn();
  mp.setSimdLevel(level);
  const got = fn();
  return [ref, got];
}

const ulpOf: Record<FloatDType, number> = { float32: 2 ** -23, float16: 2 ** -10, bfloat16: 2 ** -7, float64: 0 };
const tinyOf: Record<FloatDType, number> = { float32: 2 ** -149, float16: 2 ** -24, bfloat16: 2 ** -133, float64: 0 };

/** Values equal, or within `ulps` units of the dtype's precision (subnormal steps near zero). */
function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, dtype: FloatDType, ulps: number, what: string): void {
  for (let i = 0; i < want.length; ++i) {
    const a = got[i], b = want[i];
    if (Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b))) continue;
    const tol = ulps * Math.max(Math.abs(b) * ulpOf[dtype], tinyOf[dtype]);
    if (!(Math.abs(a - b) <= tol)) throw new Error(`${what}: element ${i} got ${a}, want ${b} (tolerance ${tol})`);
  }
}

const BINARY = native.enums.binaryOp;
const u = native.enums.unaryOp;
// name: [code, p0, p1]
const UNARY: Record<string, [number, number, number]> = {
  neg: [u.neg, 0, 0], abs: [u.abs, 0, 0], exp: [u.exp, 0, 0], log: [u.log, 0, 0], sqrt: [u.sqrt, 0, 0], rsqrt: [u.rsqrt, 0, 0],
  reciprocal: [u.reciprocal, 0, 0], tanh: [u.tanh, 0, 0], sigmoid: [u.sigmoid, 0, 0], relu: [u.relu, 0, 0],
  leakyRelu: [u.leakyRelu, 0.1, 0], elu: [u.elu, 1, 0], silu: [u.silu, 0, 0], clamp: [u.clamp, -0.5, 2],
  clampCrossed: [u.clamp, 1, -1], sign: [u.sign, 0, 0],
};
const vectorExp = new Set(['exp', 'sigmoid', 'silu']);

describe.each(vectorLevels)('SIMD level %s against scalar', (level) => {
  describe.each(dtypes)('%s', (dtype) => {
    const code = dtypeCode(dtype);

    test.each(Object.keys(BINARY))('binary %s: same shape, broadcast rows, scalar operand, every size', (name) => {
      const op = BINARY[name as keyof typeof BINARY];
      mp.tidy(() => {
        for (const n of [...sizes, 70000]) {
          const a = tensorOf(values(n, n + 1), dtype);
          const b = tensorOf(values(n, n + 2), dtype);
          const out = mp.empty([n], { dtype });
          const [ref, got] = atLevels(level, () => {
            native.binary({ op, dtype: code, a: { ...at(a), strides: [1] }, b: { ...at(b), strides: [1] }, out: at(out), shape: [n] });
            return canon(out);
          });
          expect([n, firstDiff(got, ref)]).toEqual([n, -1]);
          for (const s of [1.5, -0, NaN, 3e-39]) {
            for (const first of [false, true]) {
              const [r2, g2] = atLevels(level, () => {
                native.binaryScalar(op, code, a.storage.handle, 0, s, first, out.storage.handle, 0, n);
                return canon(out);
              });
              expect([n, s, first, firstDiff(g2, r2)]).toEqual([n, s, first, -1]);
            }
          }
        }
        // [5, 33] op [33] (rows of the same stride) and [5, 33] op [5, 1] (a scalar per row), both ways.
        const m = tensorOf(values(5 * 33, 7), dtype);
        const row = tensorOf(values(33, 8), dtype);
        const col = tensorOf(values(5, 9), dtype);
        const out = mp.empty([5, 33], { dtype });
        const cases: [mp.Tensor, number[], mp.Tensor, number[]][] = [
          [m, [33, 1], row, [0, 1]], [row, [0, 1], m, [33, 1]], [m, [33, 1], col, [1, 0]], [col, [1, 0], m, [33, 1]],
        ];
        for (const [x, sx, y, sy] of cases) {
          const [ref, got] = atLevels(level, () => {
            native.binary({ op, dtype: code, a: { ...at(x), strides: sx }, b: { ...at(y), strides: sy }, out: at(out), shape: [5, 33] });
            return canon(out);
          });
          expect(firstDiff(got, ref)).toBe(-1);
        }
      });
    });

    test.each(Object.keys(native.enums.compareOp))('compare %s with a scalar (NaN, ±0, ±Inf, ties), every size', (name) => {
      const op = native.enums.compareOp[name];
      mp.tidy(() => {
        for (const n of [...sizes, 70000]) {
          const a = tensorOf(values(n, 5 * n + 1), dtype);
          const out = mp.empty([n], { dtype: 'bool' });
          // 1 and -0 occur among the specials (ties); 0.1 and 1e-40 round differently per dtype.
          for (const s of [0, -0, 1, 0.1, 1e-40, NaN, Infinity, -Infinity]) {
            const [ref, got] = atLevels(level, () => {
              native.compareScalar(op, code, a.storage.handle, 0, s, out.storage.handle, 0, n);
              return Buffer.from(out.rawData() as Uint8Array);
            });
            expect([n, s, firstDiff(got, ref)]).toEqual([n, s, -1]);
          }
        }
      });
    });

    test.each(Object.keys(UNARY))('unary %s, every size', (name) => {
      const [op, p0, p1] = UNARY[name];
      mp.tidy(() => {
        for (const n of [...sizes, 70000]) {
          const a = tensorOf(values(n, 3 * n + 5), dtype);
          const out = mp.empty([n], { dtype });
          const [ref, got] = atLevels(level, () => {
            native.unary(op, code, a.storage.handle, 0, out.storage.handle, 0, n, p0, p1);
            return vectorExp.has(name) && dtype !== 'float64' ? out.dataSync().slice() : canon(out);
          });
          if (vectorExp.has(name) && dtype !== 'float64') {
            expectClose(got as Float32Array, ref as Float32Array, dtype, dtype === 'float32' ? 3 : 1, `${name} n=${n}`);
          } else {
            expect([n, firstDiff(got as Buffer, ref as Buffer)]).toEqual([n, -1]);
          }
        }
      });
    });

    test('vector exp stays within 2 ulp of float64 exp on a dense sweep, with exact edges', () => {
      if (dtype !== 'float32') return;
      mp.tidy(() => {
        const n = 200001;
        const xs = Float32Array.from({ length: n }, (_, i) => -104 + (193 * i) / (n - 1));
        const a = mp.tensor(xs);
        const out = mp.empty([n]);
        mp.setSimdLevel(level);
        native.unary(u.exp, code, a.storage.handle, 0, out.storage.handle, 0, n, 0, 0);
        expectClose(out.dataSync(), xs.map((x) => Math.fround(Math.exp(x))), 'float32', 2, 'exp sweep');
        const edges = mp.tensor([Infinity, -Infinity, NaN, 89, -104, 0, -0]).exp().dataSync();
        expect(Array.from(edges)).toEqual([Infinity, 0, NaN, Infinity, 0, 1, 1]);
      });
    });

    test('sum of every size (double accumulation, bit-identical), contiguous and per row', () => {
      mp.tidy(() => {
        for (const n of [...sizes, 70000]) {
          const finite = values(n, n + 11).map((v) => (Number.isFinite(v) ? v : 0.25));
          const a = tensorOf(finite, dtype);
          const out = mp.empty([3], { dtype: 'float64' });
          const [ref, got] = atLevels(level, () => {
            native.reduceSum(code, a.storage.handle, 0, dtypeCode('float64'), out.storage.handle, 0, 1, n, 1, false);
            const rows = Math.floor(n / 3);
            native.reduceSum(code, a.storage.handle, 0, dtypeCode('float64'), out.storage.handle, 1, 2, rows, 1, true);
            return Array.from(out.dataSync());
          });
          expect([n, got]).toEqual([n, ref]);
        }
        const nan = tensorOf(Float32Array.from([1, 2, NaN, 4, ...new Array(30).fill(1)]), dtype);
        mp.setSimdLevel(level);
        expect(nan.sum().item()).toBeNaN();
      });
    });

    test('strided sums (over a leading dim, split into column blocks) are each column\'s sequential double sum', () => {
      mp.tidy(() => {
        for (const [outer, size, inner] of [[1, 256, 1024], [3, 5, 257], [2, 64, 513], [1, 1, 7], [4, 33, 2]]) {
          const n = outer * size * inner;
          const a = tensorOf(values(n, n + 3).map((v) => (Number.isFinite(v) ? v : -0.5)), dtype);
          const stored = a.double().dataSync();
          const want = new Float64Array(outer * inner);
          for (let o = 0; o < outer; ++o) {
            for (let i = 0; i < inner; ++i) {
              let total = 0;
              for (let r = 0; r < size; ++r) total += stored[(o * size + r) * inner + i];
              want[o * inner + i] = total;
            }
          }
          const out = mp.empty([outer * inner], { dtype: 'float64' });
          mp.setSimdLevel(level);
          native.reduceSum(code, a.storage.handle, 0, dtypeCode('float64'), out.storage.handle, 0, outer, size, inner, false);
          expect([outer, size, inner, firstDiff(Buffer.from(out.dataSync().buffer), Buffer.from(want.buffer))]).toEqual([outer, size, inner, -1]);
        }
        // Contiguous sums: 16 double lanes over blocks of 16, combined in lane order, then the tail.
        for (const n of [1, 15, 16, 17, 511, 512, 513, 1000, 4099]) {
          const a = tensorOf(values(n, n + 9).map((v) => (Number.isFinite(v) ? v : 2)), dtype);
          const x = a.double().dataSync();
          const lanes = new Float64Array(16);
          let i = 0;
          for (; i + 16 <= n; i += 16) for (let l = 0; l < 16; ++l) lanes[l] += x[i + l];
          let want = 0;
          for (const lane of lanes) want += lane;
          for (; i < n; ++i) want += x[i];
          const out = mp.empty([1], { dtype: 'float64' });
          mp.setSimdLevel(level);
          native.reduceSum(code, a.storage.handle, 0, dtypeCode('float64'), out.storage.handle, 0, 1, n, 1, false);
          expect([n, out.dataSync()[0]]).toEqual([n, want]);
        }
      });
    });

    test('softmax / logSoftmax rows within one ulp of the output dtype (double math, vector exp)', () => {
      mp.tidy(() => {
        for (const size of [1, 7, 16, 17, 33, 1000, 4097]) {
          for (const special of [false, true]) {
            const rows = 3;
            const v = values(rows * size, size + 13).map((x) => (Number.isFinite(x) ? Math.max(-50, Math.min(50, x)) : 0));
            if (special) {
              v[0] = NaN;
              v[size + Math.floor(size / 2)] = Infinity;
              v[2 * size] = -Infinity;
            }
            const a = tensorOf(v, dtype);
            const out = mp.empty([rows, size], { dtype });
            for (const log of [false, true]) {
              const [ref, got] = atLevels(level, () => {
                native.softmax(log, code, a.storage.handle, 0, out.storage.handle, 0, rows, size, 1);
                return out.dataSync().slice();
              });
              if (dtype === 'float64') expect(firstDiff(Buffer.from(got.buffer), Buffer.from(ref.buffer))).toBe(-1);
              else expectClose(got, ref, dtype, 1, `softmax log=${log} size=${size}`);
            }
          }
        }
      });
    });

    test('threaded optimizers and unscale (SIMD) == their scalar references, bit for bit', () => {
      if (dtype === 'float64') return;
      const numels = [5, 40000, 0, 17, 1000, 3];
      const make = (seed: number, positive = false) => numels.map((n, i) => tensorOf(values(n, seed + i, positive), dtype));
      const stepsOf = (v: number) => numels.map(() => mp.full([], v));
      mp.tidy(() => {
        mp.setSimdLevel(level);
        const sgdVariants: [number, number, boolean, boolean, number][] = [[0.9, 0.1, false, true, 0], [0.9, 0, true, false, 0.01], [0, 0, false, false, 0.01]];
        // The last element: the step's gradient scale (null: none; the kernels skip a division by 1).
        const adamVariants: [number, boolean, boolean, boolean, number | null][] = [[0.1, true, false, false, null], [0.01, false, true, true, 4], [0, false, false, false, null],
          [0, false, false, false, 3]];
        const run = (reference: boolean) => {
          const results: Buffer[] = [];
          for (const [momentum, dampening, nesterov, maximize, wd] of sgdVariants) {
            const lists = momentum ? [make(1), make(2), stepsOf(0), make(3)] : [make(1), make(2), [], []];
            const l = nativeLists(dtype, lists);
            const scale = mp.tensor([4]);
            for (let s = 0; s < 2; ++s) {
              (reference ? native._test.sgdStepReference : native.sgdStep)({ lists: l, gradScale: at(scale), foundInf: null,
                options: { lr: 0.1, momentum, dampening, weightDecay: wd, nesterov, maximize } });
            }
            results.push(...lists[0].map(canon), ...lists[3].map(canon));
          }
          for (const [wd, decoupled, amsgrad, maximize, gradScale] of adamVariants) {
            const lists = [make(4), make(5), stepsOf(2), make(6), make(7, true), amsgrad ? make(8, true) : []];
            const l = nativeLists(dtype, lists);
            const scale = gradScale === null ? null : at(mp.tensor([gradScale]));
            for (let s = 0; s < 2; ++s) {
              (reference ? native._test.adamStepReference : native.adamStep)({ lists: l, gradScale: scale, foundInf: null,
                options: { lr: 0.01, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: wd, decoupled, amsgrad, maximize } });
            }
            results.push(...[0, 3, 4, 5].flatMap((k) => lists[k].map(canon)));
          }
          for (const scale of [1, 1024, 3]) {
            const grads = make(9 + scale);
            const found = mp.zeros([1]);
            const flags = mp.zeros([numels.length]);
            const l = nativeLists(dtype, [grads]);
            (reference ? native._test.ampUnscaleReference : native.ampUnscale)({ lists: l, scale: at(mp.tensor([scale])), foundInf: at(found),
              flags: at(flags) });
            results.push(...grads.map(canon), canon(found), canon(flags));
          }
          return results;
        };
        const got = run(false), want = run(true);
        expect(got.length).toBe(want.length);
        got.forEach((g, i) => expect([i, firstDiff(g, want[i])]).toEqual([i, -1]));
      });
    });
  });
});

describe('threading never slows small ops or changes results', () => {
  test('a 4-element op and a 1M-element op give the same values at every level', () => {
    mp.tidy(() => {
      const big = mp.tensor(values(1 << 20, 42));
      const results = available.map((level) => {
        mp.setSimdLevel(level);
        return [canon(big.add(big)), canon(big.mul(2)), canon(big.relu())];
      });
      for (const r of results) r.forEach((b, i) => expect(firstDiff(b, results[0][i])).toBe(-1));
    });
  });
});
