// The fused CPU convolution (lib/ops/conv.ts, csrc/cpu/convKernels.cpp) against a direct float64
// convolution written in JS: forward, input gradient, weight gradient and bias gradient, for every
// float dtype and SIMD level, with stride, padding, dilation and groups, with batches both below
// and above the thread count (the two ways images are spread over threads).
import * as mp from '../lib';
import { dtypeCode, native } from './helpers/native';

const F = mp.nn.functional;
type FloatDType = 'float32' | 'float16' | 'bfloat16' | 'float64';

afterAll(() => {
  mp.setSimdLevel(mp.backend().simdDetected);
});
afterEach(() => expect(mp.memory().numTensors).toBe(0));

const levels = ['scalar', 'f16c', 'avx512', 'avx512bf16', 'amx'];
const available = levels.slice(0, levels.indexOf(mp.backend().simdDetected) + 1);

interface Config {
  label: string;
  x: [number, number, number, number];
  w: [number, number, number, number];
  bias: boolean;
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  groups: number;
}

const configs: Config[] = [
  { label: '3x3 padding 1, bias, batch 5', x: [5, 3, 7, 6], w: [4, 3, 3, 3], bias: true, stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 },
  { label: 'stride [2, 1], padding [1, 2], dilation [1, 2], groups 2, batch 1', x: [1, 4, 6, 5], w: [6, 2, 3, 2], bias: true, stride: [2, 1], padding: [1, 2], dilation: [1, 2], groups: 2 },
  { label: '1x1, no bias, batch 17 (more images than weight chunks)', x: [17, 5, 3, 4], w: [7, 5, 1, 1], bias: false, stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 },
  { label: 'depthwise 3x3 stride 2, batch 2', x: [2, 3, 5, 5], w: [3, 1, 3, 3], bias: true, stride: [2, 2], padding: [1, 1], dilation: [1, 1], groups: 3 },
  // Stride 1 with padding within the kernel's reach and no more output than input channels: in
  // 16 bits the input gradient runs as a forward convolution of dy with flipped, channel-swapped
  // weights (convKernels.cpp). The next three cover that path with equal channels, with unequal
  // padding, dilation and groups, and (padding past the reach) the fold path it must not take.
  { label: 'stride 1, 3x3 padding 1, 8 -> 8 channels, batch 4', x: [4, 8, 6, 7], w: [8, 8, 3, 3], bias: true, stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 },
  { label: 'stride 1, padding [0, 1], dilation [2, 1], groups 2, 3x2 kernel, 6 -> 4 channels, batch 3', x: [3, 6, 9, 6], w: [4, 3, 3, 2], bias: false, stride: [1, 1], padding: [0, 1], dilation: [2, 1], groups: 2 },
  // 32 output channels per group against 36 rows of columns: the packed GEMMs pad less with the
  // weight gradient computed transposed (convKernels.cpp), with and without groups.
  { label: '32 output channels, 4 -> 32 (weight gradient transposed), batch 3', x: [3, 4, 7, 6], w: [32, 4, 3, 3], bias: true, stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 },
  { label: '2 groups of 32 output channels (weight gradient transposed), batch 2', x: [2, 8, 6, 5], w: [64, 4, 3, 3], bias: false, stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 2 },
  { label: 'stride 1, padding 3 past a 3x3 kernel\'s reach, 5 -> 3 channels, batch 2', x: [2, 5, 5, 4], w: [3, 5, 3, 3], bias: true, stride: [1, 1], padding: [3, 3], dilation: [1, 1], groups: 1 },
];

/** Deterministic values in [-1, 1). */
function values(n: number, seed: number): number[] {
  let s = seed >>> 0 || 1;
  return Array.from({ length: n }, () => {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 2 ** 31 - 1;
  });
}

/** The direct convolution and its adjoints in float64, with the sums of |terms| for tolerances. */
function reference(c: Config, x: number[], w: number[], b: number[] | undefined, gy: number[]) {
  const [N, C, H, W] = c.x;
  const [O, Cg, KH, KW] = c.w;
  const OH = Math.floor((H + 2 * c.padding[0] - c.dilation[0] * (KH - 1) - 1) / c.stride[0]) + 1;
  const OW = Math.floor((W + 2 * c.padding[1] - c.dilation[1] * (KW - 1) - 1) / c.stride[1]) + 1;
  const Og = O / c.groups;
  const y = new Array(N * O * OH * OW).fill(0), yAbs = new Array(y.length).fill(0);
  const dx = new Array(x.length).fill(0), dxAbs = new Array(x.length).fill(0);
  const dw = new Array(w.length).fill(0), dwAbs = new Array(w.length).fill(0);
  const db = new Array(O).fill(0), dbAbs = new Array(O).fill(0);
  for (let n = 0; n < N; ++n) for (let o = 0; o < O; ++o) for (let i = 0; i < OH; ++i) for (let j = 0; j < OW; ++j) {
    const yi = ((n * O + o) * OH + i) * OW + j;
    y[yi] = b ? b[o] : 0;
    yAbs[yi] = b ? Math.abs(b[o]) : 0;
    db[o] += gy[yi];
    dbAbs[o] += Math.abs(gy[yi]);
    const g = Math.floor(o / Og);
    for (let cl = 0; cl < Cg; ++cl) for (let ki = 0; ki < KH; ++ki) for (let kj = 0; kj < KW; ++kj) {
      const ih = i * c.stride[0] - c.padding[0] + ki * c.dilation[0];
      const iw = j * c.stride[1] - c.padding[1] + kj * c.dilation[1];
      if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
      const xi = ((n * C + g * Cg + cl) * H + ih) * W + iw;
      const wi = ((o * Cg + cl) * KH + ki) * KW + kj;
      y[yi] += x[xi] * w[wi];
      yAbs[yi] += Math.abs(x[xi] * w[wi]);
      dx[xi] += gy[yi] * w[wi];
      dxAbs[xi] += Math.abs(gy[yi] * w[wi]);
      dw[wi] += gy[yi] * x[xi];
      dwAbs[wi] += Math.abs(gy[yi] * x[xi]);
    }
  }
  return { shape: [N, O, OH, OW], y, yAbs, dx, dxAbs, dw, dwAbs, db, dbAbs };
}

/** Relative error allowed against the sum of |terms|: accumulation in float32, one rounding of the result. */
const tolerance: Record<FloatDType, number> = { float64: 1e-12, float32: 2e-6, float16: 1.5e-3, bfloat16: 1.2e-2 };

function expectClose(what: string, got: ArrayLike<number>, want: number[], bound: number[], tol: number): void {
  const bad: string[] = [];
  for (let i = 0; i < want.length; ++i) {
    if (!(Math.abs(got[i] - want[i]) <= tol * bound[i] + 1e-30)) bad.push(`${what}[${i}]: got ${got[i]}, want ${want[i]} (bound ${tol * bound[i]})`);
  }
  expect(bad.slice(0, 5)).toEqual([]);
}

describe.each(available)('SIMD level %s', (level) => {
  beforeAll(() => {
    mp.setSimdLevel(level);
  });

  describe.each(['float32', 'bfloat16', 'float16', 'float64'] as FloatDType[])('%s', (dtype) => {
    test.each(configs)('$label: forward and the three gradients match the direct float64 convolution', (c) => {
      mp.tidy(() => {
        // Inputs rounded into the dtype first, so the reference sees exactly what the kernel sees.
        const make = (shape: number[], seed: number) => mp.tensor(values(shape.reduce((a, b) => a * b, 1), seed)).reshape(shape).to(dtype);
        const x = make(c.x, 1).requiresGrad_();
        const w = make(c.w, 2).requiresGrad_();
        const b = c.bias ? make([c.w[0]], 3).requiresGrad_() : undefined;
        const y = F.conv2d(x, w, b, { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups });
        const gy = make(y.shape, 4);
        y.backward(gy);
        const ref = reference(c, [...x.dataSync()], [...w.dataSync()], b && [...b.dataSync()], [...gy.dataSync()]);
        expect(y.shape).toEqual(ref.shape);
        expect([y.dtype, x.grad!.dtype, w.grad!.dtype]).toEqual([dtype, dtype, dtype]);
        const tol = tolerance[dtype];
        expectClose('y', y.dataSync(), ref.y, ref.yAbs, tol);
        expectClose('dx', x.grad!.dataSync(), ref.dx, ref.dxAbs, tol);
        expectClose('dw', w.grad!.dataSync(), ref.dw, ref.dwAbs, tol);
        if (b) expectClose('db', b.grad!.dataSync(), ref.db, ref.dbAbs, tol);
        mp.dispose([x.grad, w.grad, b?.grad]);
      });
    });
  });

  test('an image convolved alone equals its slice of the batch, bit for bit (threads never change results)', () => {
    mp.tidy(() => {
      const x = mp.tensor(values(6 * 3 * 9 * 9, 5)).reshape([6, 3, 9, 9]);
      const w = mp.tensor(values(8 * 3 * 3 * 3, 6)).reshape([8, 3, 3, 3]);
      for (const dtype of ['float32', 'bfloat16'] as const) {
        const batch = F.conv2d(x.to(dtype), w.to(dtype), undefined, { padding: 1 });
        for (let n = 0; n < 6; ++n) {
          const alone = F.conv2d(x.narrow(0, n, 1).to(dtype), w.to(dtype), undefined, { padding: 1 });
          expect(Buffer.from(alone.rawData().buffer).equals(Buffer.from(batch.narrow(0, n, 1).rawData().buffer))).toBe(true);
        }
      }
    });
  });
});

test('second derivatives go through the composed backward (createGraph)', () => {
  mp.tidy(() => {
    const x = mp.tensor(values(2 * 2 * 4 * 4, 7), { dtype: 'float64' }).reshape([2, 2, 4, 4]).requiresGrad_();
    const w = mp.tensor(values(3 * 2 * 3 * 3, 8), { dtype: 'float64' }).reshape([3, 2, 3, 3]).requiresGrad_();
    const y = F.conv2d(x, w, undefined, { padding: 1 });
    const gx = mp.autograd.grad(y.mul(y).sum(), [x], { createGraph: true })[0]!;
    // d/dw of sum(gx): gx = 2 * conv_transpose(y, w) is quadratic in w, so this is non-zero and
    // must equal the float64 finite difference.
    const gw = mp.autograd.grad(gx.sum(), [w])[0]!;
    const h = 1e-6;
    const bump = (delta: number) => mp.tidy(() => {
      const w2 = w.detach().add(mp.tensor(Array.from({ length: w.numel }, (_, i) => (i === 4 ? delta : 0)), { dtype: 'float64' }).reshape(w.shape)).requiresGrad_();
      const x2 = x.detach().requiresGrad_();
      const y2 = F.conv2d(x2, w2, undefined, { padding: 1 });
      const g2 = mp.autograd.grad(y2.mul(y2).sum(), [x2])[0]!;
      return g2.sum().item() as number;
    });
    const numeric = (bump(h) - bump(-h)) / (2 * h);
    expect(gw.dataSync()[4]).toBeCloseTo(numeric, 5);
  });
});

test('a batch never materialises its im2col: the tensor peak of a step is its activations', () => {
  mp.tidy(() => {
    const x = mp.randn([32, 16, 28, 28]).requiresGrad_();
    const w = mp.randn([32, 16, 3, 3]).requiresGrad_();
    mp.resetPeakMemory();
    const start = mp.memory().numBytes;
    const y = F.conv2d(x, w, undefined, { padding: 1 });
    y.backward(mp.onesLike(y));
    mp.dispose([x.grad, w.grad]);
    // The whole batch's columns alone would be 32 * 144 * 784 floats = 14.5 MB; what the step
    // holds is activation-sized tensors of 1.6 MB each (y, the upstream gradient, dx and the
    // gradients' bookkeeping: about 8 MB measured) and dw (18 KB).
    const im2col = 32 * 16 * 9 * 28 * 28 * 4;
    expect(mp.memory().peakBytes - start).toBeLessThan(im2col);
  });
});

test('the native convolution refuses bad geometry and dtypes by name', () => {
  mp.tidy(() => {
    const t = mp.zeros([16]);
    const op = { storage: t.storage.handle, offset: 0 };
    const base = { dtype: dtypeCode('float32'), batch: 1, planes: 2, height: 2, width: 2, outChannels: 2, groups: 1, window: { kh: 1, kw: 1, dh: 1, dw: 1, ph: 0, pw: 0, sh: 1, sw: 1 } };
    expect(() => native.conv2dForward({ ...base, groups: 3, input: op, weight: op, bias: null, out: op })).toThrow(/conv2dForward: .*groups.* a positive divisor of planes and outChannels/);
    expect(() => native.conv2dForward({ ...base, dtype: dtypeCode('int32'), input: op, weight: op, bias: null, out: op })).toThrow(/conv2dForward: .*dtype.* float32, float16, bfloat16 or float64/);
    expect(() => native.conv2dBackwardWeight({ ...base, height: 100, input: op, gradOut: op, gradWeight: op })).toThrow(/conv2dBackwardWeight: .*input/);
  });
});
