// The packed CPU GEMM (csrc/cpu/gemm) at every SIMD level against the scalar reference
// (native._test.matmulReference) and against float64 math in JS: odd sizes and tails, every
// transposition (operands read through strides), batched and broadcast batches, 1-row and
// 1-column products, blocks of k, m and n larger than the kernels' cache blocks.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

import * as mp from '../lib';
import { stridedProduct } from '../lib/ops/matmul';
import { dtypeCode, native } from './helpers/native';

const levels = ['scalar', 'f16c', 'avx512', 'avx512bf16', 'amx'];
const available = levels.slice(0, levels.indexOf(mp.backend().simdDetected) + 1);
const dtypes = ['float32', 'float16', 'bfloat16', 'float64'] as const;
type DType = (typeof dtypes)[number];
const sizes = [1, 2, 3, 7, 15, 16, 17, 31, 33, 64, 65, 100, 257];

afterEach(() => expect(mp.memory().numTensors).toBe(0));
afterAll(() => {
  mp.setSimdLevel(mp.backend().simdDetected);
});

/** Deterministic picks (xorshift), so a failure names a reproducible case. */
function picker(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x % n;
  };
}

/** Spacing of the output dtype's values near v (one ulp), 0 for float32/float64 outputs. */
function ulp(v: number, dtype: DType): number {
  if (dtype === 'float32' || dtype === 'float64') return 0;
  const mantissa = dtype === 'float16' ? 10 : 7;
  const minExp = dtype === 'float16' ? -14 : -126;
  const e = v === 0 ? minExp : Math.max(minExp, Math.floor(Math.log2(Math.abs(v))));
  return 2 ** (e - mantissa);
}

/** One operand: storage of shape [...batch, stored rows, stored cols]; transposed operands are stored [cols, rows]. */
interface Operand { t: mp.Tensor; batch: number[]; rows: number; cols: number; rowStride: number; colStride: number; values: Float64Array }

function operand(batch: number[], rows: number, cols: number, transposed: boolean, dtype: DType, special?: number): Operand {
  const t = mp.randn([...batch, transposed ? cols : rows, transposed ? rows : cols], { dtype });
  const o: Operand = { t, batch, rows, cols, rowStride: transposed ? 1 : cols, colStride: transposed ? rows : 1, values: new Float64Array(0) };
  if (special !== undefined) {
    // One non-finite value at logical (0, 0) of every batch entry.
    const raw = t.double().dataSync() as Float64Array;
    for (let b = 0; b < raw.length; b += rows * cols) raw[b] = special;
    o.t.dispose();
    o.t = mp.tensor(Array.from(raw), { dtype: 'float64' }).reshape(t.shape).to(dtype);
  }
  o.values = o.t.double().dataSync() as Float64Array;
  return o;
}

/** Batch strides of x read against the output batch shape (0 where broadcast), as lib/ops/matmul.ts passes them. */
function batchStrides(x: Operand, outBatch: number[]): number[] {
  const lead = outBatch.length - x.batch.length;
  const strides: number[] = [];
  let s = x.rows * x.cols;
  for (let i = x.batch.length - 1; i >= 0; --i) {
    strides[i] = x.batch[i] === 1 ? 0 : s;
    s *= x.batch[i];
  }
  return outBatch.map((_, i) => (i < lead ? 0 : strides[i - lead]));
}

function product(fn: typeof native.matmul, a: Operand, b: Operand, outBatch: number[]): mp.Tensor {
  const dtype = a.t.dtype;
  const out = mp.empty([...outBatch, a.rows, b.cols], { dtype });
  const matrix = (x: Operand) => ({ storage: x.t.storage.handle, offset: x.t.offset, batchStrides: batchStrides(x, outBatch), rowStride: x.rowStride,
    colStride: x.colStride });
  fn({ dtype: dtypeCode(dtype), a: matrix(a), b: matrix(b), out: { storage: out.storage.handle, offset: out.offset }, batchShape: outBatch,
    m: a.rows, n: b.cols, k: a.cols });
  return out;
}

/** The float64 product of every output element. */
function exact(a: Operand, b: Operand, outBatch: number[]): { value: Float64Array } {
  const [m, k, n] = [a.rows, a.cols, b.cols];
  const total = outBatch.reduce((x, y) => x * y, 1);
  const sa = batchStrides(a, outBatch), sb = batchStrides(b, outBatch);
  const value = new Float64Array(total * m * n);
  for (let bi = 0; bi < total; ++bi) {
    let rest = bi, offA = 0, offB = 0;
    for (let d = outBatch.length - 1; d >= 0; --d) {
      const idx = rest % outBatch[d];
      rest = Math.floor(rest / outBatch[d]);
      offA += idx * sa[d];
      offB += idx * sb[d];
    }
    for (let i = 0; i < m; ++i) {
      for (let j = 0; j < n; ++j) {
        let s = 0;
        for (let t = 0; t < k; ++t) s += a.values[offA + i * a.rowStride + t * a.colStride] * b.values[offB + t * b.rowStride + j * b.colStride];
        value[(bi * m + i) * n + j] = s;
      }
    }
  }
  return { value };
}

/** Per-element check: non-finite values must match exactly, finite ones within tol(i). */
function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: (i: number) => number, what: string): void {
  let worst = -1, worstRatio = 0;
  for (let i = 0; i < want.length; ++i) {
    const ok = Number.isFinite(want[i]) ? Math.abs(got[i] - want[i]) <= tol(i) : Object.is(got[i], want[i]) || (Number.isNaN(got[i]) && Number.isNaN(want[i]));
    if (!ok) {
      const ratio = Math.abs(got[i] - want[i]) / tol(i);
      if (worst < 0 || ratio > worstRatio) [worst, worstRatio] = [i, ratio];
    }
  }
  if (worst >= 0) throw new Error(`${what}: element ${worst} is ${got[worst]}, expected ${want[worst]} (tolerance ${tol(worst)})`);
}

/** Runs one product both ways and checks fast vs reference and vs float64 (when small enough for JS). */
function check(dtype: DType, level: string, m: number, n: number, k: number, transA: boolean, transB: boolean,
  aBatch: number[] = [], bBatch: number[] = [], outBatch: number[] = [], special?: number): void {
  mp.tidy(() => {
    const a = operand(aBatch, m, k, transA, dtype, special);
    const b = operand(bBatch, k, n, transB, dtype);
    const what = `${dtype} ${level} [${aBatch}|${m}x${k}${transA ? 'ᵀ' : ''}] @ [${bBatch}|${k}x${n}${transB ? 'ᵀ' : ''}]`;
    const fast = product(native.matmul, a, b, outBatch).double().dataSync();
    const ref = product(native._test.matmulReference, a, b, outBatch).double().dataSync();
    // sum |a||b| per output from the reference on |a| and |b| (same layouts); float64 in JS for the
    // products it can do quickly (the reference is checked against float64 in test/matmul.test.ts).
    const scale = product(native._test.matmulReference, { ...a, t: a.t.abs() }, { ...b, t: b.t.abs() }, outBatch).double().dataSync();
    const batches = outBatch.reduce((x, y) => x * y, 1);
    const value = m * n * k * batches <= 1 << 21 ? exact(a, b, outBatch).value : undefined;
    // Same float32 accumulation in another order: the difference is bounded by the magnitudes
    // (float64 accumulates in double on both paths and the scalar level is the reference itself).
    const orderTol = dtype === 'float64' ? 1e-12 : 1e-5;
    if (level === 'scalar' || dtype === 'float64') {
      expectClose(fast, ref, (i) => (dtype === 'float64' ? 1e-12 * scale[i] : 0), `${what} vs reference`);
    } else {
      expectClose(fast, ref, (i) => ulp(ref[i], dtype) + orderTol * scale[i], `${what} vs reference`);
    }
    // float32 accumulation error below k * 2^-23 of the magnitudes, plus one ulp of a 16-bit output.
    if (value) {
      const exactTol = (i: number) => (dtype === 'float64' ? 1e-12 * scale[i] : k * 2 ** -23 * scale[i] + ulp(value[i], dtype)) + 1e-300;
      expectClose(fast, value, exactTol, `${what} vs float64`);
    }
  });
}

const transpositions = [[false, false], [true, false], [false, true], [true, true]] as const;

describe.each(available)('SIMD level %s', (level) => {
  beforeAll(() => {
    expect(mp.setSimdLevel(level)).toBe(true);
  });

  describe.each(dtypes)('%s', (dtype) => {
    test('every size in {1..257} as m, n and k, with every transposition', () => {
      const pick = picker(7 + dtypes.indexOf(dtype) * 131 + levels.indexOf(level) * 17);
      mp.manualSeed(1234);
      for (const v of sizes) {
        for (const [transA, transB] of transpositions) {
          const r = () => sizes[pick(sizes.length)];
          check(dtype, level, v, r(), r(), transA, transB);
          check(dtype, level, r(), v, r(), transA, transB);
          check(dtype, level, r(), r(), v, transA, transB);
        }
      }
    });

    test('1-row and 1-column products, and k of one', () => {
      mp.manualSeed(99);
      for (const [transA, transB] of transpositions) {
        check(dtype, level, 1, 100, 65, transA, transB);
        check(dtype, level, 65, 1, 100, transA, transB);
        check(dtype, level, 1, 1, 257, transA, transB);
        check(dtype, level, 33, 31, 1, transA, transB);
      }
    });

    test('k, m and n past the cache blocks (several k slices, row blocks and column blocks)', () => {
      mp.manualSeed(5);
      check(dtype, level, 30, 40, 1100, false, false);
      check(dtype, level, 30, 40, 1100, true, true);
      // Past the deepest slice (the AMX bfloat16 kernel's kc is 2048).
      check(dtype, level, 30, 40, 4200, false, true);
      check(dtype, level, 500, 37, 40, false, true);
      check(dtype, level, 3, 2100, 20, true, false);
      check(dtype, level, 97, 130, 530, false, false);
    });

    test('batched and broadcast batches', () => {
      mp.manualSeed(77);
      for (const [transA, transB] of transpositions) {
        check(dtype, level, 17, 33, 31, transA, transB, [2, 3], [2, 3], [2, 3]);
        check(dtype, level, 15, 16, 65, transA, transB, [2, 1], [3], [2, 3]);
        check(dtype, level, 7, 65, 17, transA, transB, [], [4], [4]);
        check(dtype, level, 64, 3, 33, transA, transB, [3], [], [3]);
      }
    });

    test('non-finite inputs reach only their own outputs', () => {
      mp.manualSeed(3);
      check(dtype, level, 20, 40, 30, false, false, [], [], [], Infinity);
      check(dtype, level, 20, 40, 30, true, true, [], [], [], NaN);
    });

    // IEEE products of the operands' own values: inf * 0 is NaN, inf * x is +-inf, inf + -inf is
    // NaN (the AMX float16 kernel splits values into pieces, which must never make 0 * inf).
    test('infinities times zeros, finite values and infinities give the IEEE results', () => {
      const m = 3, k = 40, n = 35;
      const av = new Float32Array(m * k).fill(0.5), bv = new Float32Array(k * n).fill(0.25);
      av[0 * k + 7] = Infinity;  // row 0 meets column 0's 0 (NaN), column 1's 3 (inf), column 2's -inf (-inf)
      bv[7 * n + 0] = 0;
      bv[7 * n + 1] = 3;
      bv[7 * n + 2] = -Infinity;
      bv[9 * n + 3] = -Infinity;  // with rows' 0.5 gives -inf; row 2 adds +inf at k 11 (NaN)
      av[2 * k + 11] = Infinity;
      bv[11 * n + 3] = 1.5;
      mp.tidy(() => {
        const op = (t: mp.Tensor, rows: number, cols: number): Operand =>
          ({ t, batch: [], rows, cols, rowStride: cols, colStride: 1, values: new Float64Array(0) });
        for (const transposed of [false, true]) {
          // The same matrices through the k-contiguous and the k-strided packers.
          const a = op(mp.tensor(av).reshape([m, k]).to(dtype), m, k);
          const stored = transposed ? Float32Array.from({ length: k * n }, (_, i) => bv[(i % k) * n + Math.floor(i / k)]) : bv;
          const bt = mp.tensor(stored).reshape(transposed ? [n, k] : [k, n]).to(dtype);
          const b = transposed ? { ...op(bt, k, n), rowStride: 1, colStride: k } : op(bt, k, n);
          const got = product(native.matmul, a, b, []).float().dataSync();
          const want = product(native._test.matmulReference, a, b, []).float().dataSync();
          const at = (i: number, j: number) => got[i * n + j];
          expect([at(0, 0), at(0, 1), at(0, 2), at(1, 3), at(2, 3)]).toEqual([NaN, Infinity, -Infinity, -Infinity, NaN]);
          expect([Number.isFinite(at(1, 0)), Number.isFinite(at(1, 4))]).toEqual([true, true]);
          expect(Array.from(got)).toEqual(Array.from(want));
        }
      });
    });
  });

  test('mp.matmul / stridedProduct give the native results through views and transposes', () => {
    mp.manualSeed(11);
    for (const dtype of dtypes) {
      mp.tidy(() => {
        const a = mp.randn([2, 1, 65, 33], { dtype });
        const b = mp.randn([3, 33, 17], { dtype });
        const c = mp.randn([100, 33], { dtype });
        const tol = (want: ArrayLike<number>, scale: ArrayLike<number>, k: number) => (i: number) =>
          (dtype === 'float64' ? 1e-12 : k * 2 ** -23) * scale[i] + ulp(want[i], dtype) + 1e-300;
        const got = mp.matmul(a, b).double().dataSync();
        const av = a.double().dataSync(), bv = b.double().dataSync();
        const want = new Float64Array(got.length), scale = new Float64Array(got.length);
        for (let i = 0; i < 2; ++i) for (let j = 0; j < 3; ++j) for (let r = 0; r < 65; ++r) for (let q = 0; q < 17; ++q) {
          let s = 0, mag = 0;
          for (let t = 0; t < 33; ++t) {
            const p = av[(i * 65 + r) * 33 + t] * bv[(j * 33 + t) * 17 + q];
            s += p;
            mag += Math.abs(p);
          }
          want[((i * 3 + j) * 65 + r) * 17 + q] = s;
          scale[((i * 3 + j) * 65 + r) * 17 + q] = mag;
        }
        expectClose(got, want, tol(want, scale, 33), `${dtype} ${level} mp.matmul broadcast`);
        // c (100 x 33) @ a[0,0]ᵀ (33 x 65) through the transposed-operand path, and cᵀ @ c.
        const a00 = mp.randn([65, 33], { dtype });
        const t1 = stridedProduct('test', c, a00, false, true).double().dataSync();
        const t2 = mp.matmul(c, a00.transpose(0, 1)).double().dataSync();
        const cv = c.double().dataSync(), a0 = a00.double().dataSync();
        const w1 = new Float64Array(100 * 65), s1 = new Float64Array(100 * 65);
        for (let r = 0; r < 100; ++r) for (let q = 0; q < 65; ++q) {
          let s = 0, mag = 0;
          for (let t = 0; t < 33; ++t) {
            const p = cv[r * 33 + t] * a0[q * 33 + t];
            s += p;
            mag += Math.abs(p);
          }
          w1[r * 65 + q] = s;
          s1[r * 65 + q] = mag;
        }
        expectClose(t1, w1, tol(w1, s1, 33), `${dtype} ${level} stridedProduct(c, aᵀ)`);
        expectClose(t2, w1, tol(w1, s1, 33), `${dtype} ${level} matmul(c, a.transpose)`);
        const t3 = stridedProduct('test', c, c, true, false).double().dataSync();
        const w3 = new Float64Array(33 * 33), s3 = new Float64Array(33 * 33);
        for (let r = 0; r < 33; ++r) for (let q = 0; q < 33; ++q) {
          let s = 0, mag = 0;
          for (let t = 0; t < 100; ++t) {
            const p = cv[t * 33 + r] * cv[t * 33 + q];
            s += p;
            mag += Math.abs(p);
          }
          w3[r * 33 + q] = s;
          s3[r * 33 + q] = mag;
        }
        expectClose(t3, w3, tol(w3, s3, 100), `${dtype} ${level} stridedProduct(cᵀ, c)`);
      });
    }
  });

  // Where 16-bit operands run the float32 kernel (float16 below the amx level, bfloat16 below the
  // avx512bf16 level), the GEMM rounds each tile as it stores the last k slice: the result must
  // be the float32 product of the widened operands rounded once, bit for bit. k spans several
  // slices (accumulated in float32 first) and m, n leave partial tiles.
  test('16-bit products round the float32 product once, in the GEMM epilogue', () => {
    mp.manualSeed(21);
    mp.tidy(() => {
      for (const dtype of ['float16', 'bfloat16'] as const) {
        if (dtype === 'bfloat16' && (level === 'avx512bf16' || level === 'amx')) continue;
        if (dtype === 'float16' && level === 'amx') continue;
        for (const [m, n, k] of [[37, 70, 1100], [13, 33, 40], [100, 257, 600]]) {
          for (const [transA, transB] of transpositions) {
            const a = operand([], m, k, transA, dtype), b = operand([], k, n, transB, dtype);
            const wideA = { ...a, t: a.t.float() }, wideB = { ...b, t: b.t.float() };
            const got = product(native.matmul, a, b, []).rawData() as Uint16Array;
            const want = product(native.matmul, wideA, wideB, []).to(dtype).rawData() as Uint16Array;
            const what = `${dtype} [${m}x${k}${transA ? 'ᵀ' : ''}] @ [${k}x${n}${transB ? 'ᵀ' : ''}]`;
            expect({ what, equal: Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(Buffer.from(want.buffer, want.byteOffset, want.byteLength)) })
              .toEqual({ what, equal: true });
          }
        }
      }
    });
  });

  test('a product of few rows (every k slice of a unit in turn) equals the same rows of a tall product bit for bit', () => {
    mp.manualSeed(12);
    mp.tidy(() => {
      // k = 1100 and 2200 give every kernel (kc from 256 to 2048 values) several slices within
      // the slice-inner path's 4 MB of packed operands at one of the two.
      for (const k of [1100, 2200]) {
        for (const dtype of ['float32', 'bfloat16', 'float16'] as const) {
          for (const transB of [false, true]) {
            // 700 rows take the slice-outer order, their first 200 alone the slice-inner one.
            const a = mp.randn([700, k], { dtype }), b = transB ? mp.randn([300, k], { dtype }).transpose(0, 1) : mp.randn([k, 300], { dtype });
            const tall = mp.matmul(a, b).narrow(0, 0, 200).contiguous().rawData();
            const few = mp.matmul(a.narrow(0, 0, 200), b).rawData();
            expect({ k, dtype, transB, equal: Buffer.from(few.buffer, few.byteOffset, few.byteLength).equals(Buffer.from(tall.buffer, tall.byteOffset, tall.byteLength)) })
              .toEqual({ k, dtype, transB, equal: true });
          }
        }
      }
    });
  });

  test('results are identical run to run (a fixed summation order)', () => {
    mp.manualSeed(8);
    mp.tidy(() => {
      for (const dtype of ['float32', 'bfloat16', 'float16'] as const) {
        const a = mp.randn([300, 700], { dtype }), b = mp.randn([700, 260], { dtype });
        const x = mp.matmul(a, b).rawData(), y = mp.matmul(a, b).rawData();
        expect(Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength))).toBe(true);
      }
    });
  });
});

test('results are bit-identical with 1, 2, 3 and 7 threads, at every packed level, for few-row (row x column work blocks), tall, and wide (column halves per thread) products', () => {
  // A child process per thread count (the pool size is read at load), on the built dist/. The
  // scalar level has no packed driver to split work, so it is left out.
  const script = `
    const mp = require(${JSON.stringify(path.join(__dirname, '..', 'dist'))});
    const out = [];
    for (const level of ${JSON.stringify(available.filter((l) => l !== 'scalar'))}) {
      mp.setSimdLevel(level);
      for (const dtype of ['float32', 'bfloat16', 'float16']) {
        mp.manualSeed(21);
        for (const [m, n, k] of [[200, 300, 1100], [200, 300, 2200], [37, 1000, 600], [700, 130, 530], [600, 1600, 300]]) {
          const a = mp.randn([m, k], { dtype }), b = mp.randn([n, k], { dtype }).transpose(0, 1);
          out.push(Buffer.from(mp.matmul(a, b).rawData().buffer).toString('base64'));
        }
      }
    }
    process.stdout.write(JSON.stringify([mp.backend().numThreads, out]));`;
  const runs = [1, 2, 3, 7].map((n) => JSON.parse(execFileSync(process.execPath, ['-e', script], { env: { ...process.env, MIXPREC_NUM_THREADS: String(n) }, encoding: 'utf8', maxBuffer: 64 << 20 })) as [number, string[]]);
  expect(runs.map((r) => r[0])).toEqual([1, 2, 3, 7]);
  for (const r of runs.slice(1)) expect(r[1]).toEqual(runs[0][1]);
});

// Cast fusion (MatmulShape's float32 flags): a float16/bfloat16 product reading float32 operands
// (rounded as they are packed) and writing a float32 output (the 16-bit result widened) gives the
// bits of casting the operands first and the result after, at every level and through the
// reference.
describe('cast fusion: float32 operands and outputs of a 16-bit product', () => {
  /** The product with the given operands stored as they are and the output in outDtype. */
  function fused(fn: typeof native.matmul, compute: '16' | 'float16' | 'bfloat16', a: Operand, b: Operand, outBatch: number[], outDtype: string): mp.Tensor {
    const out = mp.empty([...outBatch, a.rows, b.cols], { dtype: outDtype as DType });
    const matrix = (x: Operand) => ({ storage: x.t.storage.handle, offset: x.t.offset, batchStrides: batchStrides(x, outBatch), rowStride: x.rowStride,
      colStride: x.colStride });
    fn({ dtype: dtypeCode(compute as DType), a: matrix(a), b: matrix(b), out: { storage: out.storage.handle, offset: out.offset }, batchShape: outBatch,
      m: a.rows, n: b.cols, k: a.cols, aDtype: dtypeCode(a.t.dtype), bDtype: dtypeCode(b.t.dtype), outDtype: dtypeCode(out.dtype) });
    return out;
  }
  const bytesOf = (t: mp.Tensor) => {
    const r = t.rawData();
    return Buffer.from(r.buffer, r.byteOffset, r.byteLength);
  };
  const flagSets = [[true, false, false], [false, true, false], [false, false, true], [true, true, false], [true, true, true], [false, true, true]] as const;
  const shapes = [[37, 70, 1100, [], [], []], [13, 33, 40, [], [], []], [100, 257, 600, [], [], []], [7, 65, 17, [2, 1], [3], [2, 3]], [1, 100, 65, [], [], []],
    [65, 1, 100, [], [], []], [3, 5, 2, [], [], []]] as const;

  describe.each(available)('SIMD level %s', (level) => {
    beforeAll(() => {
      expect(mp.setSimdLevel(level)).toBe(true);
    });

    test.each(['bfloat16', 'float16'] as const)('%s: bit-identical to casting first, for every operand / output combination, transposition and batch', (compute) => {
      mp.manualSeed(31 + levels.indexOf(level));
      const pick = picker(5 + levels.indexOf(level));
      for (const [m, n, k, aBatch, bBatch, outBatch] of shapes) {
        for (const [transA, transB] of transpositions) {
          const [aF32, bF32, outF32] = flagSets[pick(flagSets.length)];
          mp.tidy(() => {
            const a32 = operand([...aBatch], m, k, transA, 'float32'), b32 = operand([...bBatch], k, n, transB, 'float32');
            const a16 = { ...a32, t: a32.t.to(compute) }, b16 = { ...b32, t: b32.t.to(compute) };
            const a = aF32 ? a32 : a16, b = bF32 ? b32 : b16;
            const outDtype = outF32 ? 'float32' : compute;
            const what = `${compute} ${level} [${aBatch}|${m}x${k}${transA ? 'ᵀ' : ''}${aF32 ? ' f32' : ''}] @ [${bBatch}|${k}x${n}${transB ? 'ᵀ' : ''}${bF32 ? ' f32' : ''}] -> ${outDtype}`;
            const castFirst = product(native.matmul, a16, b16, [...outBatch]).to(outDtype as DType);
            const got = fused(native.matmul, compute, a, b, [...outBatch], outDtype);
            const ref = fused(native._test.matmulReference, compute, a, b, [...outBatch], outDtype);
            const refCastFirst = product(native._test.matmulReference, a16, b16, [...outBatch]).to(outDtype as DType);
            expect({ what, fast: bytesOf(got).equals(bytesOf(castFirst)), reference: bytesOf(ref).equals(bytesOf(refCastFirst)) })
              .toEqual({ what, fast: true, reference: true });
          });
        }
      }
    });
  });

  test('rounding of every kind of float32 value: ties, subnormals, overflow to infinity, NaN', () => {
    const pick = picker(77);
    // Values with random exponents across both 16-bit ranges, exact ties for both roundings, and
    // the non-finite values, so the packer's rounding meets each case the cast handles.
    const special = (n: number, nonFinite: boolean) => Float32Array.from({ length: n }, (_, i) => {
      switch (i % 7) {
        case 0: return (pick(2) ? -1 : 1) * (1 + pick(1 << 20) / (1 << 20)) * 2 ** (pick(60) - 40);
        case 1: return 1 + 2 ** -8 + (pick(2) ? 2 ** -7 : 0);
        case 2: return 1 + 2 ** -11 + (pick(2) ? 2 ** -10 : 0);
        case 3: return 65520 * (pick(2) ? 1 : -1) + pick(3) * 16;
        case 4: return pick(2) ? 1e-41 : 5.96e-8;
        case 5: return nonFinite && i % 5 === 0 ? [Infinity, -Infinity, NaN][pick(3)] : 3.4e38 * (pick(2) ? 1 : -1);
        default: return pick(2) ? 0 : -0;
      }
    });
    for (const level of available) {
      mp.setSimdLevel(level);
      for (const [compute, nonFinite] of [['bfloat16', false], ['float16', false], ['bfloat16', true], ['float16', true]] as const) {
        mp.tidy(() => {
          // k = 1: each output is one product, so a wrongly rounded operand shows in its output
          // (longer sums would hide it behind infinities and NaNs).
          const [m, k, n] = [61, 1, 67];
          const a32: Operand = { t: mp.tensor(special(m * k, nonFinite), { shape: [m, k] }), batch: [], rows: m, cols: k, rowStride: k, colStride: 1, values: new Float64Array(0) };
          const b32: Operand = { t: mp.tensor(special(k * n, nonFinite), { shape: [n, k] }), batch: [], rows: k, cols: n, rowStride: 1, colStride: k, values: new Float64Array(0) };
          const castFirst = product(native.matmul, { ...a32, t: a32.t.to(compute) }, { ...b32, t: b32.t.to(compute) }, []).float();
          const got = fused(native.matmul, compute, a32, b32, [], 'float32');
          expect({ level, compute, nonFinite, equal: bytesOf(got).equals(bytesOf(castFirst)) }).toEqual({ level, compute, nonFinite, equal: true });
        });
      }
    }
  });

  test('only float32, and only in a float16 / bfloat16 product, is accepted as an operand or output dtype', () => {
    mp.tidy(() => {
      const a = operand([], 4, 3, false, 'float32'), b = operand([], 3, 5, false, 'float16');
      expect(() => fused(native.matmul, 'bfloat16', a, b, [], 'bfloat16')).toThrow(/matmul: bDtype must be the product's dtype \(bfloat16\), or float32 when that is float16 or bfloat16, got float16/);
      const a64 = operand([], 4, 3, false, 'float64');
      expect(() => fused(native.matmul, 'float16', a64, b, [], 'float16')).toThrow(/aDtype/);
      expect(() => fused(native.matmul, 'float32' as '16', a, { ...b, t: b.t.float() }, [], 'bfloat16')).toThrow(/outDtype/);
    });
  });
});
