// One-pass max pooling on CPU tensors (lib/ops/pool.ts, csrc/cpu/poolKernels.cpp) against two
// independent references: a float64 JS pooling by the definition (first maximum, NaN wins,
// padding reads -inf) for values and slots, and the composition it replaces (unfold with -inf
// padding, argmax, gather, differentiated by autograd) for the output and the input gradient,
// bit for bit, in every float dtype, with ties, NaN, infinities, padding, stride, dilation and
// overlapping windows.
import * as mp from '../lib';
import { dtypeCode, native } from './helpers/native';

const F = mp.nn.functional;
type FloatDType = 'float32' | 'float16' | 'bfloat16' | 'float64';
const dtypes: FloatDType[] = ['float32', 'float16', 'bfloat16', 'float64'];

afterEach(() => expect(mp.memory().numTensors).toBe(0));

interface Config {
  label: string;
  x: [number, number, number, number];
  kernel: [number, number];
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
}

const configs: Config[] = [
  { label: '2x2 stride 2 (W3), odd width', x: [3, 2, 6, 7], kernel: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1] },
  { label: '3x3 stride 2 padding 1 (overlapping windows)', x: [2, 3, 9, 8], kernel: [3, 3], stride: [2, 2], padding: [1, 1], dilation: [1, 1] },
  { label: '[2, 3] stride [1, 2] padding [1, 1] dilation [2, 1]', x: [1, 2, 7, 9], kernel: [2, 3], stride: [1, 2], padding: [1, 1], dilation: [2, 1] },
  { label: '3x3 stride 1 (every pixel in up to 9 windows)', x: [2, 1, 5, 5], kernel: [3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1] },
];

/** Values on a coarse grid (so windows tie), with NaN and infinities sprinkled in. */
function values(n: number, seed: number): number[] {
  let s = seed >>> 0 || 1;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const r = s % 23;
    if (r === 0) return NaN;
    if (r === 1) return Infinity;
    if (r === 2) return -Infinity;
    return ((s >>> 8) % 9) / 4 - 1;
  });
}

/** The float64 definition: [maxima, slots] of every window (padding -inf, first maximum, NaN wins). */
function reference(x: Float64Array, c: Config): [number[], number[]] {
  const [n, ch, h, w] = c.x;
  const [kh, kw] = c.kernel, [sh, sw] = c.stride, [ph, pw] = c.padding, [dh, dw] = c.dilation;
  const outH = Math.floor((h + 2 * ph - dh * (kh - 1) - 1) / sh) + 1;
  const outW = Math.floor((w + 2 * pw - dw * (kw - 1) - 1) / sw) + 1;
  const maxima: number[] = [], slots: number[] = [];
  for (let p = 0; p < n * ch; ++p) {
    for (let oh = 0; oh < outH; ++oh) {
      for (let ow = 0; ow < outW; ++ow) {
        let best = -Infinity, slot = 0;
        for (let q = 0; q < kh * kw; ++q) {
          const ih = oh * sh - ph + Math.floor(q / kw) * dh, iw = ow * sw - pw + (q % kw) * dw;
          const v = ih < 0 || ih >= h || iw < 0 || iw >= w ? -Infinity : x[(p * h + ih) * w + iw];
          if (q === 0 || Number.isNaN(v) || v > best) {
            best = v;
            slot = q;
          }
          if (Number.isNaN(best)) break;
        }
        maxima.push(best);
        slots.push(slot);
      }
    }
  }
  return [maxima, slots];
}

/** The composition maxPool2d ran before the one-pass kernels (and still runs on CUDA). */
function composed(x: mp.Tensor, c: Config): mp.Tensor {
  const [n, ch, h, w] = x.shape;
  const window = { stride: c.stride, padding: c.padding, dilation: c.dilation };
  const cols = F.unfold(x, c.kernel, { ...window, padValue: -Infinity });
  const outH = Math.floor((h + 2 * c.padding[0] - c.dilation[0] * (c.kernel[0] - 1) - 1) / c.stride[0]) + 1;
  const outW = Math.floor((w + 2 * c.padding[1] - c.dilation[1] * (c.kernel[1] - 1) - 1) / c.stride[1]) + 1;
  const windows = cols.reshape([n, ch, c.kernel[0] * c.kernel[1], outH * outW]);
  return mp.gather(windows, 2, windows.argmax({ dim: 2, keepdim: true })).reshape([n, ch, outH, outW]);
}

const bytes = (t: mp.Tensor) => {
  const raw = t.rawData() as ArrayLike<number> & { buffer: ArrayBufferLike; byteOffset: number; byteLength: number };
  return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
};

describe.each(dtypes)('%s', (dtype) => {
  test.each(configs)('$label: values and slots equal the float64 definition; output and input gradient equal the composition bit for bit', (c) => {
    mp.tidy(() => {
      const data = values(c.x.reduce((a, b) => a * b, 1), 7 + c.x[2]);
      const x = mp.tensor(data).reshape(c.x).to(dtype);
      const window = { stride: c.stride, padding: c.padding, dilation: c.dilation };
      const xs = x.double().dataSync() as Float64Array;
      const [maxima] = reference(xs, c);
      const fused = F.maxPool2d(x, c.kernel, window);
      expect(Array.from(fused.double().dataSync())).toEqual(maxima);

      // The slots: the native forward's second output, read straight from the kernel.
      const slots = mp.empty(fused.shape, { dtype: 'int32' });
      const out = mp.empty(fused.shape, { dtype });
      native.maxPool2dForward({ dtype: dtypeCode(dtype), input: { storage: x.storage.handle, offset: x.offset }, out: { storage: out.storage.handle, offset: out.offset },
        slots: { storage: slots.storage.handle, offset: slots.offset }, planes: c.x[0] * c.x[1], height: c.x[2], width: c.x[3],
        window: { kh: c.kernel[0], kw: c.kernel[1], dh: c.dilation[0], dw: c.dilation[1], ph: c.padding[0], pw: c.padding[1], sh: c.stride[0], sw: c.stride[1] } });
      expect(Array.from(slots.dataSync())).toEqual(reference(xs, c)[1]);

      const want = composed(x, c);
      expect(bytes(fused).equals(bytes(want))).toBe(true);

      // Gradients: the same random upstream gradient through both.
      const gy = mp.tensor(values(fused.numel, 99).map((v) => (Number.isFinite(v) ? v + 0.3 : 0.7))).reshape(fused.shape).to(dtype);
      const xa = x.clone().requiresGrad_(), xb = x.clone().requiresGrad_();
      F.maxPool2d(xa, c.kernel, window).backward(gy);
      composed(xb, c).backward(gy);
      expect(bytes(xa.grad!).equals(bytes(xb.grad!))).toBe(true);
      mp.dispose([xa.grad, xb.grad]);
    });
  });
});

test('second derivatives flow through the recorded backward (createGraph)', () => {
  mp.tidy(() => {
    const x = mp.tensor(values(2 * 2 * 5 * 5, 3).map((v) => (Number.isFinite(v) ? v : 0.5))).reshape([2, 2, 5, 5]).requiresGrad_();
    const y = F.maxPool2d(x, 3, { stride: 2, padding: 1 });
    const gy = mp.onesLike(y).requiresGrad_();
    const [dx] = mp.autograd.grad([y], [x], { gradOutputs: [gy], createGraph: true }) as mp.Tensor[];
    // dx is linear in gy: d(sum(dx * x)) / d(gy) is x at each window's maximum, i.e. the pooled values.
    const [dgy] = mp.autograd.grad([dx.mul(x).sum()], [gy]) as mp.Tensor[];
    expect(Array.from(dgy.dataSync())).toEqual(Array.from(y.detach().dataSync()));
  });
});

test('the native kernels refuse integer dtypes and wrong sizes with errors that name them', () => {
  mp.tidy(() => {
    const x = mp.zeros([1, 1, 4, 4]), out = mp.zeros([1, 1, 2, 2]), slots = mp.zeros([1, 1, 2, 2], { dtype: 'int32' });
    const op = (t: mp.Tensor) => ({ storage: t.storage.handle, offset: t.offset });
    const window = { kh: 2, kw: 2, dh: 1, dw: 1, ph: 0, pw: 0, sh: 2, sw: 2 };
    const call = (over: object) => () => native.maxPool2dForward({ dtype: dtypeCode('float32'), input: op(x), out: op(out), slots: op(slots), planes: 1, height: 4, width: 4, window, ...over });
    expect(call({ dtype: dtypeCode('int32') })).toThrow(/maxPool2dForward.*dtype.*float32, float16, bfloat16 or float64/);
    expect(call({ height: 40 })).toThrow(/maxPool2dForward.*input/);
  });
});
