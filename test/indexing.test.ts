// where, gather, scatterAdd, indexSelect, indexAdd, unfold and fold against plain JS loops.
import * as mp from '../lib';
import { native, dtypeCode } from './helpers/native';
import { roundTo } from './helpers/floatReference';

afterEach(() => expect(mp.memory().numTensors).toBe(0));

const floatDtypes = ['float32', 'float64', 'float16', 'bfloat16'] as const;
type FloatDType = (typeof floatDtypes)[number];

/** Deterministic pseudo-random multiples of 1/8 in [-4, 4): exact in every float dtype, and their small sums exact in float32. */
function values(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.floor((s / 2 ** 32) * 64) / 8 - 4;
  });
}

function integers(n: number, bound: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 22695477) + 1) >>> 0;
    return Math.floor((s / 2 ** 32) * bound);
  });
}

const numelOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

function stridesOf(shape: number[]): number[] {
  const out = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; --d) {
    out[d] = s;
    s *= shape[d];
  }
  return out;
}

function coords(i: number, shape: number[]): number[] {
  const out = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; --d) {
    out[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return out;
}

const offsetOf = (c: number[], shape: number[]) => c.reduce((acc, v, d) => acc + v * stridesOf(shape)[d], 0);

const int32 = (data: number[], shape?: number[]) => {
  const t = mp.tensor(data, { dtype: 'int32' });
  return shape ? t.reshape(shape) : t;
};

const list = (t: mp.Tensor) => Array.from(t.dataSync());

/** Asserts `fn` throws an instance of `cls` with `code` and a message containing every fragment. */
function expectError(fn: () => unknown, cls: new (...args: never[]) => Error, code: string, fragments: string[]): void {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(cls);
  expect((error as { code: string }).code).toBe(code);
  for (const f of fragments) expect((error as Error).message).toContain(f);
}

describe('whereForward', () => {
  test('broadcasts condition, input and other together, for every dtype', () => {
    mp.tidy(() => {
      const condShape = [2, 1, 3];
      const aShape = [4, 1];
      const bShape = [3];
      const outShape = [2, 4, 3];
      const condData = integers(6, 2, 7).map((v) => v === 1);
      const aData = values(4, 1);
      const bData = values(3, 2);
      const read = (data: unknown[], shape: number[], c: number[]) => {
        const lead = c.length - shape.length;
        return data[offsetOf(shape.map((s, d) => (s === 1 ? 0 : c[lead + d])), shape)];
      };
      for (const dtype of [...floatDtypes, 'int32', 'bool'] as const) {
        const convert = (v: number) => (dtype === 'int32' ? v * 8 : dtype === 'bool' ? v > 0 : v);
        const cond = mp.tensor(condData).reshape(condShape);
        const a = mp.tensor(aData.map(convert) as number[], { dtype }).reshape(aShape);
        const b = mp.tensor(bData.map(convert) as number[], { dtype }).reshape(bShape);
        const out = mp.where(cond, a, b);
        expect(out.dtype).toBe(dtype);
        expect(out.shape).toEqual(outShape);
        const got = list(out);
        for (let i = 0; i < numelOf(outShape); ++i) {
          const c = coords(i, outShape);
          const want = read(condData, condShape, c) ? read(aData, aShape, c) : read(bData, bShape, c);
          expect([dtype, i, got[i]]).toEqual([dtype, i, Number(convert(want as number))]);
        }
      }
    });
  });

  test('numbers and mixed dtypes promote like binary ops; NaN passes through', () => {
    mp.tidy(() => {
      const cond = mp.tensor([true, false, true]);
      const h = mp.tensor([1.5, 2.5, NaN], { dtype: 'float16' });
      expect(mp.where(cond, h, 0).dtype).toBe('float16');
      expect(mp.where(cond, h, 0).toArray()).toEqual([1.5, 0, NaN]);
      expect(mp.where(cond, 7, h).toArray()).toEqual([7, 2.5, 7]);
      expect(mp.where(cond, h, mp.tensor([0], { dtype: 'bfloat16' })).dtype).toBe('float32');
      const i = mp.tensor([1, 2, 3], { dtype: 'int32' });
      expect(mp.where(cond, i, -1).dtype).toBe('int32');
      expect(mp.where(cond, i, -1).toArray()).toEqual([1, -1, 3]);
      expect(mp.where(cond, i, 0.5).dtype).toBe('float32');
      expect(mp.where(cond, i, 0.5).toArray()).toEqual([1, 0.5, 3]);
      const two = mp.where(cond, 1, 2);
      expect([two.dtype, two.toArray()]).toEqual(['float32', [1, 2, 1]]);
      const scalarCond = mp.where(mp.tensor(false), mp.ones([2, 2], { dtype: 'float64' }), -Infinity);
      expect([scalarCond.dtype, scalarCond.toArray()]).toEqual(['float64', [[-Infinity, -Infinity], [-Infinity, -Infinity]]]);
    });
  });

  test('bad operands are clear errors', () => {
    mp.tidy(() => {
      const x = mp.ones([3]);
      expectError(() => mp.where(x, x, x), mp.MixprecTypeError, 'ERR_INVALID_DTYPE', ["where: argument 'condition' must be a bool tensor", 'float32 tensor of shape [3]']);
      expectError(() => mp.where(x.gt(0), 'a' as never, x), mp.MixprecTypeError, 'ERR_INVALID_ARG', ["where: argument 'input' must be a Tensor"]);
      expectError(() => mp.where(x.gt(0), x, mp.ones([2])), mp.MixprecRangeError, 'ERR_SHAPE_MISMATCH', ['where:', 'cannot be broadcast']);
    });
  });
});

/** JS gather: out[c] = input[c with c[dim] = index[c]]. */
function gatherReference(input: number[], inShape: number[], dim: number, index: number[], indexShape: number[]): number[] {
  return index.map((k, i) => {
    const c = coords(i, indexShape);
    c[dim] = k;
    return input[offsetOf(c, inShape)];
  });
}

describe('gatherForward', () => {
  const inShape = [3, 4, 5];
  const indexShape = [2, 3, 4];
  test.each([0, 1, 2, -1, -3])('dim %i, every dtype, bit for bit', (dim) => {
    mp.tidy(() => {
      const d = dim < 0 ? dim + 3 : dim;
      const data = values(numelOf(inShape), 3 + d);
      const index = integers(numelOf(indexShape), inShape[d], 11 + d);
      const want = gatherReference(data, inShape, d, index, indexShape);
      for (const dtype of [...floatDtypes, 'int32'] as const) {
        const src = dtype === 'int32' ? data.map((v) => v * 8) : data;
        const x = mp.tensor(src, { dtype }).reshape(inShape);
        const out = mp.gather(x, dim, int32(index, indexShape));
        expect([out.dtype, out.shape]).toEqual([dtype, indexShape]);
        expect(list(out)).toEqual(dtype === 'int32' ? want.map((v) => v * 8) : want);
      }
    });
  });

  test('index may be longer than input along dim; 0-d tensors work', () => {
    mp.tidy(() => {
      const x = mp.tensor([[1, 2], [3, 4]]);
      expect(mp.gather(x, 1, int32([0, 0, 1, 1, 0, 1], [2, 3])).toArray()).toEqual([[1, 1, 2], [4, 3, 4]]);
      expect(mp.gather(x, 0, int32([1], [1, 1])).toArray()).toEqual([[3]]);
      expect(mp.gather(mp.tensor(5), 0, mp.tensor(0, { dtype: 'int32' })).toArray()).toBe(5);
      expect(mp.gather(x, 0, int32([], [0, 2])).shape).toEqual([0, 2]);
    });
  });

  test('bad arguments are clear errors', () => {
    mp.tidy(() => {
      const x = mp.ones([2, 3]);
      expectError(() => mp.gather(x, 0, mp.zeros([2, 3])), mp.MixprecTypeError, 'ERR_INVALID_DTYPE', ["gather: argument 'index' must be an int32 tensor", 'float32 tensor']);
      expectError(() => mp.gather(x, 0, int32([0, 1])), mp.MixprecRangeError, 'ERR_SHAPE_MISMATCH', ["gather: argument 'index' must be a tensor with 2 dimensions"]);
      expectError(() => mp.gather(x, 0, int32([0, 0, 0, 0], [1, 4])), mp.MixprecRangeError, 'ERR_SHAPE_MISMATCH', ["gather: argument 'index' must be no larger than input [2, 3] outside dimension 0"]);
      expectError(() => mp.gather(x, 2, int32([0], [1, 1])), mp.MixprecRangeError, 'ERR_INVALID_ARG', ["gather: argument 'dim' must be an integer in [-2, 1]"]);
      expectError(() => mp.gather(x, 1, int32([0, 3, 1], [1, 3])), mp.MixprecRangeError, 'ERR_INDEX_OUT_OF_RANGE',
        ["gather: argument 'index' must hold indices in [0, 3) (the size of input's dimension 1), got 3 at index position [0, 1]"]);
      expectError(() => mp.gather(x, -2, int32([0, -1], [2, 1])), mp.MixprecRangeError, 'ERR_INDEX_OUT_OF_RANGE', ['in [0, 2)', 'got -1 at index position [1, 0]']);
    });
  });
});

/** JS scatter-add in float64: out = input; out[c with c[dim] = index[c]] += src[c]. */
function scatterAddReference(input: number[], inShape: number[], dim: number, index: number[], indexShape: number[], src: number[], srcShape: number[]): number[] {
  const out = input.slice();
  index.forEach((k, i) => {
    const c = coords(i, indexShape);
    const v = src[offsetOf(c, srcShape)];
    c[dim] = k;
    out[offsetOf(c, inShape)] += v;
  });
  return out;
}

describe('scatterAddForward', () => {
  test.each([
    [0, [2, 3, 4], [5, 3, 4]],
    [1, [3, 6, 2], [3, 7, 4]],
    [2, [1, 4, 9], [2, 4, 9]],
    [-1, [3, 4, 3], [3, 4, 3]],
  ])('dim %i, index %j, src %j: every float dtype and int32, summed in float64 and rounded once', (dim, indexShape, srcShape) => {
    mp.tidy(() => {
      const inShape = [3, 4, 5];
      const d = dim < 0 ? dim + 3 : dim;
      const input = values(numelOf(inShape), 5);
      const src = values(numelOf(srcShape), 6);
      const index = integers(numelOf(indexShape), inShape[d], 17 + d);
      const exact = scatterAddReference(input, inShape, d, index, indexShape, src, srcShape);
      for (const dtype of [...floatDtypes, 'int32'] as const) {
        const scale = dtype === 'int32' ? 8 : 1;
        const out = mp.scatterAdd(mp.tensor(input.map((v) => v * scale), { dtype }).reshape(inShape), dim, int32(index, indexShape),
          mp.tensor(src.map((v) => v * scale), { dtype }).reshape(srcShape));
        expect([out.dtype, out.shape]).toEqual([dtype, inShape]);
        const want = exact.map((v) => (dtype === 'int32' ? v * 8 : roundTo(v, dtype)));
        expect(list(out)).toEqual(want);
      }
    });
  });

  test('16-bit sums round once (bfloat16 256 + 1 + 1 ... would stick at 256 if each addition rounded)', () => {
    mp.tidy(() => {
      const out = mp.scatterAdd(mp.zeros([2], { dtype: 'bfloat16' }), 0, mp.zeros([300], { dtype: 'int32' }), mp.ones([300], { dtype: 'bfloat16' }));
      expect(out.toArray()).toEqual([300, 0]);
    });
  });

  test('deterministic and thread-safe with heavy collisions', () => {
    mp.tidy(() => {
      const n = 1 << 18;
      const src = mp.randn([64, n / 64]);
      const index = int32(integers(n, 8, 3), [64, n / 64]);
      const first = mp.scatterAdd(mp.zeros([8, n / 64]), 0, index, src).rawData();
      const second = mp.scatterAdd(mp.zeros([8, n / 64]), 0, index, src).rawData();
      expect(Buffer.from(first.buffer).equals(Buffer.from(second.buffer))).toBe(true);
      // Column sums of src land in the 8 rows: their total matches the sum of src.
      const total = list(mp.scatterAdd(mp.zeros([8, n / 64]), 0, index, src)).reduce((a, b) => a + b, 0);
      const want = list(src).reduce((a, b) => a + b, 0);
      expect(Math.abs(total - want)).toBeLessThan(1e-2);
    });
  });

  test('bad arguments are clear errors', () => {
    mp.tidy(() => {
      const x = mp.zeros([2, 3]);
      const ix = int32([0, 1, 1], [1, 3]);
      expectError(() => mp.scatterAdd(x, 0, ix, mp.ones([1, 3], { dtype: 'float64' })), mp.MixprecTypeError, 'ERR_DTYPE_MISMATCH', ["scatterAdd: argument 'src' must be a float32 tensor (the dtype of input)", 'float64 tensor']);
      expectError(() => mp.scatterAdd(x.gt(0), 0, ix, x.gt(0)), mp.MixprecTypeError, 'ERR_INVALID_DTYPE', ["scatterAdd: argument 'input' must be a numeric tensor"]);
      expectError(() => mp.scatterAdd(x, 0, ix, mp.ones([1, 2])), mp.MixprecRangeError, 'ERR_SHAPE_MISMATCH', ["scatterAdd: argument 'index' must be no larger than src [1, 2]"]);
      expectError(() => mp.scatterAdd(x, 0, ix, mp.ones([3])), mp.MixprecRangeError, 'ERR_SHAPE_MISMATCH', ["scatterAdd: argument 'src' must be a tensor with 2 dimensions"]);
      expectError(() => mp.scatterAdd(x, 0, ix.float(), mp.ones([1, 3])), mp.MixprecTypeError, 'ERR_INVALID_DTYPE', ["scatterAdd: argument 'index' must be an int32 tensor"]);
      expectError(() => mp.scatterAdd(x, 0, int32([0, 2, 1], [1, 3]), mp.ones([1, 3])), mp.MixprecRangeError, 'ERR_INDEX_OUT_OF_RANGE',
        ["scatterAdd: argument 'index' must hold indices in [0, 2) (the size of input's dimension 0), got 2 at index position [0, 1]"]);
    });
  });
});

/** JS index_select / index_add over [outer, size, inner] views. */
function aroundDim(shape: number[], d: number) {
  return { outer: numelOf(shape.slice(0, d)), size: shape[d], inner: numelOf(shape.slice(d + 1)) };
}

describe('indexSelectForward and indexAddForward', () => {
  const shape = [3, 4, 5];
  test.each([0, 1, 2, -1])('indexSelect along dim %i with repeats, every dtype', (dim) => {
    mp.tidy(() => {
      const d = dim < 0 ? dim + 3 : dim;
      const data = values(numelOf(shape), 9);
      const index = [...integers(6, shape[d], 4 + d), shape[d] - 1, 0];
      const { outer, size, inner } = aroundDim(shape, d);
      const want: number[] = [];
      for (let o = 0; o < outer; ++o) for (const k of index) for (let c = 0; c < inner; ++c) want.push(data[(o * size + k) * inner + c]);
      const outShape = shape.slice();
      outShape[d] = index.length;
      for (const dtype of [...floatDtypes, 'int32', 'bool'] as const) {
        const convert = (v: number) => (dtype === 'int32' ? v * 8 : dtype === 'bool' ? Number(v > 0) : v);
        const x = mp.tensor(data.map(convert), { dtype }).reshape(shape);
        const out = mp.indexSelect(x, dim, int32(index));
        expect([out.dtype, out.shape]).toEqual([dtype, outShape]);
        expect(list(out)).toEqual(want.map(convert));
      }
    });
  });

  test('indexSelect with a 0-d index keeps the dimension with size 1', () => {
    mp.tidy(() => {
      const w = mp.tensor([[1, 2], [3, 4], [5, 6]]);
      expect(mp.indexSelect(w, 0, mp.tensor(2, { dtype: 'int32' })).toArray()).toEqual([[5, 6]]);
      expect(mp.indexSelect(w, 1, int32([])).shape).toEqual([3, 0]);
    });
  });

  test.each([0, 1, 2, -2])('indexAdd along dim %i with repeated indices, every float dtype and int32', (dim) => {
    mp.tidy(() => {
      const d = dim < 0 ? dim + 3 : dim;
      const input = values(numelOf(shape), 12);
      const index = [...integers(5, shape[d], 21 + d), 0, 0];
      const srcShape = shape.slice();
      srcShape[d] = index.length;
      const source = values(numelOf(srcShape), 13);
      const { outer, size, inner } = aroundDim(shape, d);
      const exact = input.slice();
      for (let o = 0; o < outer; ++o) {
        index.forEach((k, i) => {
          for (let c = 0; c < inner; ++c) exact[(o * size + k) * inner + c] += source[(o * index.length + i) * inner + c];
        });
      }
      for (const dtype of [...floatDtypes, 'int32'] as const) {
        const scale = dtype === 'int32' ? 8 : 1;
        const out = mp.indexAdd(mp.tensor(input.map((v) => v * scale), { dtype }).reshape(shape), dim, int32(index),
          mp.tensor(source.map((v) => v * scale), { dtype }).reshape(srcShape));
        expect([out.dtype, out.shape]).toEqual([dtype, shape]);
        expect(list(out)).toEqual(exact.map((v) => (dtype === 'int32' ? v * 8 : roundTo(v, dtype as FloatDType))));
      }
    });
  });

  test('indexAdd over wide rows is deterministic (embedding-gradient shape)', () => {
    mp.tidy(() => {
      const index = int32(integers(4096, 16, 5));
      const source = mp.randn([4096, 300]);
      const a = mp.indexAdd(mp.zeros([16, 300]), 0, index, source).rawData();
      const b = mp.indexAdd(mp.zeros([16, 300]), 0, index, source).rawData();
      expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
      const ix = list(index);
      const src = list(source);
      const row3 = new Array<number>(300).fill(0);
      ix.forEach((k, i) => {
        if (k === 3) for (let c = 0; c < 300; ++c) row3[c] += src[i * 300 + c];
      });
      const got = Array.from(a as Float32Array).slice(900, 1200);
      got.forEach((v, c) => expect(Math.abs(v - row3[c])).toBeLessThan(1e-3));
    });
  });

  test('bad arguments are clear errors', () => {
    mp.tidy(() => {
      const x = mp.ones([3, 2]);
      expectError(() => mp.indexSelect(x, 0, int32([0, 1], [1, 2])), mp.MixprecRangeError, 'ERR_INVALID_SHAPE', ["indexSelect: argument 'index' must be a 1-d (or 0-d) int32 tensor"]);
      expectError(() => mp.indexSelect(x, 0, mp.tensor([0, 1])), mp.MixprecTypeError, 'ERR_INVALID_DTYPE', ["indexSelect: argument 'index' must be an int32 tensor"]);
      expectError(() => mp.indexSelect(mp.tensor(1), 0, int32([0])), mp.MixprecRangeError, 'ERR_INVALID_SHAPE', ["indexSelect: argument 'input' must be a tensor with at least one dimension"]);
      expectError(() => mp.indexSelect(x, 0, int32([1, 3])), mp.MixprecRangeError, 'ERR_INDEX_OUT_OF_RANGE',
        ["indexSelect: argument 'index' must hold indices in [0, 3) (the size of input's dimension 0), got 3 at index position [1]"]);
      expectError(() => mp.indexSelect(x, 1, int32([-1])), mp.MixprecRangeError, 'ERR_INDEX_OUT_OF_RANGE', ['got -1']);
      expectError(() => mp.indexAdd(x, 0, int32([0]), mp.ones([2, 2])), mp.MixprecRangeError, 'ERR_SHAPE_MISMATCH',
        ["indexAdd: argument 'source' must be a tensor of shape [1, 2] (input's shape with index.numel along dimension 0)", 'shape [2, 2]']);
      expectError(() => mp.indexAdd(x, 0, int32([0]), mp.ones([1, 2], { dtype: 'float16' })), mp.MixprecTypeError, 'ERR_DTYPE_MISMATCH', ["indexAdd: argument 'source' must be a float32 tensor"]);
      expectError(() => mp.indexAdd(x, 1, int32([5]), mp.ones([3, 1])), mp.MixprecRangeError, 'ERR_INDEX_OUT_OF_RANGE', ['indexAdd:', 'in [0, 2)', 'got 5']);
    });
  });
});

interface Win { kh: number; kw: number; dh: number; dw: number; ph: number; pw: number; sh: number; sw: number }

function blocks(size: number, k: number, dl: number, p: number, s: number): number {
  return Math.floor((size + 2 * p - dl * (k - 1) - 1) / s) + 1;
}

/** JS im2col over planes [P, H, W]: out[p][ki][kj][oh][ow]. */
function unfoldReference(data: number[], planes: number, H: number, W: number, w: Win, pad: number): number[] {
  const oH = blocks(H, w.kh, w.dh, w.ph, w.sh);
  const oW = blocks(W, w.kw, w.dw, w.pw, w.sw);
  const out: number[] = [];
  for (let p = 0; p < planes; ++p) {
    for (let ki = 0; ki < w.kh; ++ki) {
      for (let kj = 0; kj < w.kw; ++kj) {
        for (let oh = 0; oh < oH; ++oh) {
          for (let ow = 0; ow < oW; ++ow) {
            const ih = oh * w.sh - w.ph + ki * w.dh;
            const iw = ow * w.sw - w.pw + kj * w.dw;
            out.push(ih >= 0 && ih < H && iw >= 0 && iw < W ? data[(p * H + ih) * W + iw] : pad);
          }
        }
      }
    }
  }
  return out;
}

/** JS col2im: each column entry added to the pixel it came from (float64). */
function foldReference(cols: number[], planes: number, H: number, W: number, w: Win): number[] {
  const oH = blocks(H, w.kh, w.dh, w.ph, w.sh);
  const oW = blocks(W, w.kw, w.dw, w.pw, w.sw);
  const out = new Array<number>(planes * H * W).fill(0);
  let i = 0;
  for (let p = 0; p < planes; ++p) {
    for (let ki = 0; ki < w.kh; ++ki) {
      for (let kj = 0; kj < w.kw; ++kj) {
        for (let oh = 0; oh < oH; ++oh) {
          for (let ow = 0; ow < oW; ++ow, ++i) {
            const ih = oh * w.sh - w.ph + ki * w.dh;
            const iw = ow * w.sw - w.pw + kj * w.dw;
            if (ih >= 0 && ih < H && iw >= 0 && iw < W) out[(p * H + ih) * W + iw] += cols[i];
          }
        }
      }
    }
  }
  return out;
}

const windows: [string, [number, number], mp.WindowOptions, Win][] = [
  ['3x3', [3, 3], {}, { kh: 3, kw: 3, dh: 1, dw: 1, ph: 0, pw: 0, sh: 1, sw: 1 }],
  ['3x3 padding 1', [3, 3], { padding: 1 }, { kh: 3, kw: 3, dh: 1, dw: 1, ph: 1, pw: 1, sh: 1, sw: 1 }],
  ['2x3 stride [2, 1] padding [1, 0]', [2, 3], { stride: [2, 1], padding: [1, 0] }, { kh: 2, kw: 3, dh: 1, dw: 1, ph: 1, pw: 0, sh: 2, sw: 1 }],
  ['3x2 dilation 2 stride 3 padding 2', [3, 2], { dilation: 2, stride: 3, padding: 2 }, { kh: 3, kw: 2, dh: 2, dw: 2, ph: 2, pw: 2, sh: 3, sw: 3 }],
  ['1x1 stride 2', [1, 1], { stride: 2 }, { kh: 1, kw: 1, dh: 1, dw: 1, ph: 0, pw: 0, sh: 2, sw: 2 }],
  ['4x4 stride 2 padding [0, 3] dilation [1, 2]', [4, 4], { stride: 2, padding: [0, 3], dilation: [1, 2] }, { kh: 4, kw: 4, dh: 1, dw: 2, ph: 0, pw: 3, sh: 2, sw: 2 }],
  // Output the input's size at stride 1: unfold copies shifted images, fold adds contiguous rows.
  ['5x3 padding [2, 1] (same size)', [5, 3], { padding: [2, 1] }, { kh: 5, kw: 3, dh: 1, dw: 1, ph: 2, pw: 1, sh: 1, sw: 1 }],
  ['3x3 dilation 2 padding 2 (same size)', [3, 3], { dilation: 2, padding: 2 }, { kh: 3, kw: 3, dh: 2, dw: 2, ph: 2, pw: 2, sh: 1, sw: 1 }],
  ['1x1 (same size, no shift)', [1, 1], {}, { kh: 1, kw: 1, dh: 1, dw: 1, ph: 0, pw: 0, sh: 1, sw: 1 }],
  ['3x3 dilation 7 padding 7 (same size, outer window slots wholly in the padding)', [3, 3], { dilation: 7, padding: 7 }, { kh: 3, kw: 3, dh: 7, dw: 7, ph: 7, pw: 7, sh: 1, sw: 1 }],
];

describe('unfold and fold', () => {
  const [N, C, H, W] = [2, 3, 7, 6];

  test.each(windows)('unfold %s matches the reference for every dtype', (_, kernel, options, w) => {
    mp.tidy(() => {
      const data = values(N * C * H * W, 31);
      const L = blocks(H, w.kh, w.dh, w.ph, w.sh) * blocks(W, w.kw, w.dw, w.pw, w.sw);
      for (const dtype of [...floatDtypes, 'int32'] as const) {
        const scale = dtype === 'int32' ? 8 : 1;
        const x = mp.tensor(data.map((v) => v * scale), { dtype }).reshape([N, C, H, W]);
        const padValue = dtype === 'int32' ? -7 : -Infinity;
        const out = mp.unfold(x, kernel, { ...options, padValue });
        expect([out.dtype, out.shape]).toEqual([dtype, [N, C * w.kh * w.kw, L]]);
        expect(list(out)).toEqual(unfoldReference(data.map((v) => v * scale), N * C, H, W, w, padValue));
      }
      const unbatched = mp.unfold(mp.tensor(data.slice(0, C * H * W)).reshape([C, H, W]), kernel, options);
      expect(unbatched.shape).toEqual([C * w.kh * w.kw, L]);
      expect(list(unbatched)).toEqual(unfoldReference(data.slice(0, C * H * W), C, H, W, w, 0));
    });
  });

  test.each(windows)('fold %s matches the reference, rounded once for 16-bit', (_, kernel, options, w) => {
    mp.tidy(() => {
      const L = blocks(H, w.kh, w.dh, w.ph, w.sh) * blocks(W, w.kw, w.dw, w.pw, w.sw);
      const cols = values(N * C * w.kh * w.kw * L, 41);
      const exact = foldReference(cols, N * C, H, W, w);
      for (const dtype of [...floatDtypes, 'int32'] as const) {
        const scale = dtype === 'int32' ? 8 : 1;
        const out = mp.fold(mp.tensor(cols.map((v) => v * scale), { dtype }).reshape([N, C * w.kh * w.kw, L]), [H, W], kernel, options);
        expect([out.dtype, out.shape]).toEqual([dtype, [N, C, H, W]]);
        expect(list(out)).toEqual(exact.map((v) => (dtype === 'int32' ? v * 8 : roundTo(v, dtype))));
      }
      const unbatched = mp.fold(mp.tensor(cols.slice(0, C * w.kh * w.kw * L)).reshape([C * w.kh * w.kw, L]), [H, W], kernel, options);
      expect(unbatched.shape).toEqual([C, H, W]);
    });
  });

  test.each(windows)('fold(unfold(x)) is x times the number of windows covering each pixel (%s)', (_, kernel, options, w) => {
    mp.tidy(() => {
      const data = values(N * C * H * W, 51);
      const x = mp.tensor(data, { dtype: 'float64' }).reshape([N, C, H, W]);
      const round = mp.fold(mp.unfold(x, kernel, options), [H, W], kernel, options);
      // Coverage counted directly: for each pixel, the (block, ki, kj) that read it.
      const oH = blocks(H, w.kh, w.dh, w.ph, w.sh);
      const oW = blocks(W, w.kw, w.dw, w.pw, w.sw);
      const cover = new Array<number>(H * W).fill(0);
      for (let oh = 0; oh < oH; ++oh) for (let ow = 0; ow < oW; ++ow) for (let ki = 0; ki < w.kh; ++ki) for (let kj = 0; kj < w.kw; ++kj) {
        const ih = oh * w.sh - w.ph + ki * w.dh;
        const iw = ow * w.sw - w.pw + kj * w.dw;
        if (ih >= 0 && ih < H && iw >= 0 && iw < W) cover[ih * W + iw] += 1;
      }
      // + 0: a pixel no window covers sums to +0, where v * 0 may be -0.
      expect(list(round)).toEqual(data.map((v, i) => v * cover[i % (H * W)] + 0));
    });
  });

  test('a large conv-like unfold and fold stay exact and deterministic across threads', () => {
    mp.tidy(() => {
      const x = mp.tensor(values(4 * 16 * 32 * 32, 61)).reshape([4, 16, 32, 32]);
      const cols = mp.unfold(x, [3, 3], { padding: 1 });
      expect(cols.shape).toEqual([4, 144, 1024]);
      const back = mp.fold(cols, [32, 32], [3, 3], { padding: 1 });
      const again = mp.fold(cols, [32, 32], [3, 3], { padding: 1 });
      expect(Buffer.from(back.rawData().buffer).equals(Buffer.from(again.rawData().buffer))).toBe(true);
      const cover = list(mp.fold(mp.unfold(mp.ones([1, 1, 32, 32]), [3, 3], { padding: 1 }), [32, 32], [3, 3], { padding: 1 }));
      expect(list(back)).toEqual(list(x).map((v, i) => v * cover[i % 1024]));
    });
  });

  test('bad windows and shapes are clear errors', () => {
    mp.tidy(() => {
      const x = mp.ones([1, 2, 5, 5]);
      expectError(() => mp.unfold(mp.ones([5, 5]), [2, 2]), mp.MixprecRangeError, 'ERR_INVALID_SHAPE', ["unfold: argument 'input' must be a 4-d [N, C, H, W] or 3-d [C, H, W] tensor", 'shape [5, 5]']);
      expectError(() => mp.unfold(x, [0, 2]), mp.MixprecRangeError, 'ERR_INVALID_ARG', ["unfold: argument 'kernelSize' must be a positive integer or a pair of positive integers, got an array of length 2"]);
      expectError(() => mp.unfold(x, [2, 2], { stride: 0 }), mp.MixprecRangeError, 'ERR_INVALID_ARG', ["unfold: argument 'options.stride' must be a positive integer", 'got 0']);
      expectError(() => mp.unfold(x, [2, 2], { padding: -1 }), mp.MixprecRangeError, 'ERR_INVALID_ARG', ["unfold: argument 'options.padding' must be a non-negative integer"]);
      expectError(() => mp.unfold(x, [2, 2], { dilation: 1.5 }), mp.MixprecRangeError, 'ERR_INVALID_ARG', ["unfold: argument 'options.dilation'"]);
      expectError(() => mp.unfold(x, [6, 2]), mp.MixprecRangeError, 'ERR_INVALID_SHAPE', ['unfold: a 6x2 kernel', 'does not fit the spatial size [5, 5]']);
      expectError(() => mp.unfold(x.int(), [2, 2], { padValue: -Infinity }), mp.MixprecTypeError, 'ERR_INVALID_ARG', ["unfold: argument 'options.padValue' must be an int32 value for a int32 input, got -Infinity"]);
      const cols = mp.ones([1, 8, 16]);
      expect(mp.fold(cols, [5, 5], [2, 2]).shape).toEqual([1, 2, 5, 5]);
      expectError(() => mp.fold(cols, [5, 5], [3, 3]), mp.MixprecRangeError, 'ERR_INVALID_SHAPE', ["fold: argument 'input' must be a tensor whose dimension 1 is divisible by the kernel's 3x3 = 9 positions"]);
      expectError(() => mp.fold(cols, [6, 5], [2, 2]), mp.MixprecRangeError, 'ERR_INVALID_SHAPE', ["fold: argument 'input' must be a tensor with 20 columns", 'got float32 tensor of shape [1, 8, 16]']);
      expectError(() => mp.fold(mp.ones([8]), [5, 5], [2, 2]), mp.MixprecRangeError, 'ERR_INVALID_SHAPE', ["fold: argument 'input' must be a 3-d"]);
      expectError(() => mp.fold(cols, [0, 5], [2, 2]), mp.MixprecRangeError, 'ERR_INVALID_ARG', ["fold: argument 'outputSize' must be a positive integer"]);
      expectError(() => mp.fold(cols.gt(0), [5, 5], [2, 2]), mp.MixprecTypeError, 'ERR_INVALID_DTYPE', ["fold: argument 'input' must be a numeric tensor"]);
    });
  });
});

describe('native argument checks', () => {
  test('the bindings reject shapes and windows that would read out of bounds', () => {
    mp.tidy(() => {
      const t = mp.zeros([4]);
      const ix = mp.zeros([4], { dtype: 'int32' });
      const h = t.storage.handle;
      const caught = (fn: () => unknown) => {
        try {
          fn();
        } catch (e) {
          return e as Error & { code: string };
        }
        throw new Error('no error');
      };
      const f32 = dtypeCode('float32');
      const o = { storage: h, offset: 0 };
      const ixo = { storage: ix.storage.handle, offset: 0 };
      const window = { kh: 3, kw: 3, dh: 1, dw: 1, ph: 0, pw: 0, sh: 1, sw: 1 };
      expect(caught(() => native.gather({ dtype: f32, input: { ...o, shape: [4] }, index: { ...ixo, shape: [5] }, out: o, dim: 0 })).code).toBe('ERR_OUT_OF_BOUNDS');
      expect(caught(() => native.gather({ dtype: f32, input: { ...o, shape: [2, 2] }, index: { ...ixo, shape: [2, 3] }, out: o, dim: 0 })).message)
        .toBe('mixprec native gather: index.shape must be sizes no larger than the input\'s (outside dim) and the source\'s, got an array');
      expect(caught(() => native.indexSelect({ dtype: f32, input: o, index: ixo, out: o, outer: 1, size: 4, inner: 2, count: 1 })).code).toBe('ERR_OUT_OF_BOUNDS');
      expect(caught(() => native.unfold({ dtype: f32, input: o, out: o, planes: 1, height: 2, width: 2, window, padValue: 0 })).message).toContain('a window that fits');
      expect(caught(() => native.unfold({ dtype: f32, input: o, out: o, planes: 1, height: 2, width: 2, window: { ...window, sh: 0 }, padValue: 0 })).message)
        .toBe('mixprec native unfold: window.sh must be a positive integer, got 0');
      expect(caught(() => native.fold({ dtype: dtypeCode('bool'), input: o, out: o, planes: 1, height: 2, width: 2, window: { ...window, kh: 1, kw: 1 } })).message)
        .toContain('a numeric dtype');
    });
  });
});
