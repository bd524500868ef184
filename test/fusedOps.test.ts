// The fused LayerNorm / RMSNorm, GELU (+ bias) and cross-entropy kernels: values against float64
// math in JS, every SIMD level against the scalar rows, 16-bit results equal to the float32
// computation rounded once, autocast categories, and the errors for bad input. The gradchecks
// (float64, central differences) are in test/gradcheck.test.ts.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import * as mp from '../lib';
import { hash, seedRng, uniform } from './helpers/seededRandom';
import { skippedBecause } from './helpers/skipReason';

const F = mp.nn.functional;
type T = mp.Tensor;
type Half = 'float16' | 'bfloat16';

const levels = ['scalar', 'f16c', 'avx512', 'avx512bf16', 'amx'];
const vectorLevels = levels.slice(1, levels.indexOf(mp.backend().simdDetected) + 1);

afterAll(() => {
  mp.setSimdLevel(mp.backend().simdDetected);
});
afterEach(() => expect(mp.memory().numTensors).toBe(0));

function values(n: number, label: string, scale = 2, shift = 0): number[] {
  seedRng(hash(label));
  return Array.from({ length: n }, () => (uniform() * 2 - 1) * scale + shift);
}
const f32 = (v: number[], shape: number[]): T => mp.tensor(Float32Array.from(v), { shape });
const ints = (v: number[]): T => mp.tensor(Int32Array.from(v), { dtype: 'int32' });
const arr = (t: T): number[] => Array.from(t.dataSync() as ArrayLike<number>);
/** A leaf's gradient as a tensor the enclosing tidy owns (the one autograd kept is disposed). */
function gradTensor(t: T): T {
  const g = t.grad!;
  t.grad = undefined;
  const owned = g.mul(1);
  g.dispose();
  return owned;
}
/** A leaf's gradient as numbers; the gradient (kept by autograd, outside tidy) is disposed. */
function takeGrad(t: T): number[] {
  const g = t.grad!;
  t.grad = undefined;
  const values = arr(g);
  g.dispose();
  return values;
}

/** Largest |a - b| / (atol + rtol |b|); <= 1 passes (NaN where the other is not fails). */
function worst(a: number[], b: number[], atol: number, rtol: number): number {
  expect(a.length).toBe(b.length);
  let w = 0;
  for (let i = 0; i < a.length; ++i) {
    if (a[i] === b[i] || (Number.isNaN(a[i]) && Number.isNaN(b[i]))) continue; // equal infinities, NaN for NaN
    w = Math.max(w, Math.abs(a[i] - b[i]) / (atol + rtol * Math.abs(b[i])));
  }
  return w;
}

/** LayerNorm / RMSNorm of rows in float64. */
function normReference(x: number[], cols: number, rms: boolean, eps: number, w?: number[], b?: number[]): number[] {
  const out: number[] = [];
  for (let r = 0; r < x.length / cols; ++r) {
    const row = x.slice(r * cols, (r + 1) * cols);
    const mean = rms ? 0 : row.reduce((s, v) => s + v, 0) / cols;
    const rstd = 1 / Math.sqrt(row.reduce((s, v) => s + (v - mean) ** 2, 0) / cols + eps);
    row.forEach((v, i) => out.push((v - mean) * rstd * (w ? w[i] : 1) + (b ? b[i] : 0)));
  }
  return out;
}

/** Per-row cross-entropy in float64 and its gradient (softmax - smoothed onehot), times rowScale. */
function crossEntropyReference(x: number[], cols: number, target: number[], s: number, ignore: number): { loss: number[]; grad: (scale: number[]) => number[] } {
  const rows = target.length;
  const lse: number[] = [];
  const loss = target.map((t, r) => {
    const row = x.slice(r * cols, (r + 1) * cols);
    const m = Math.max(...row);
    lse.push(m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0)));
    if (t === ignore) return 0;
    const meanX = row.reduce((a, v) => a + v, 0) / cols;
    return (1 - s) * (lse[r] - row[t]) + s * (lse[r] - meanX);
  });
  const grad = (scale: number[]) => {
    const g: number[] = [];
    for (let r = 0; r < rows; ++r) {
      for (let c = 0; c < cols; ++c) {
        g.push(target[r] === ignore ? 0 : scale[r] * (Math.exp(x[r * cols + c] - lse[r]) - s / cols - (c === target[r] ? 1 - s : 0)));
      }
    }
    return g;
  };
  return { loss, grad };
}

const shapes: [number, number][] = [[1, 1], [3, 7], [5, 33], [2, 768], [2, 4100]];

describe('layerNorm / rmsNorm', () => {
  test.each(shapes)('float32 [%i, %i] forward and backward match float64 math', (rows, cols) => {
    for (const rms of [false, true]) {
      mp.tidy(() => {
        const xv = values(rows * cols, `ln x ${rows} ${cols}`, 3, 1);
        const wv = values(cols, `ln w ${cols}`);
        const bv = values(cols, `ln b ${cols}`);
        const x = f32(xv, [rows, cols]).requiresGrad_();
        const w = f32(wv, [cols]).requiresGrad_();
        const b = f32(bv, [cols]).requiresGrad_();
        const y = rms ? F.rmsNorm(x, [cols], w, 1e-5) : F.layerNorm(x, [cols], w, b);
        // 1e-5 absolute: a row of one element normalizes to 0 (its variance is 0).
        expect(worst(arr(y), normReference(xv, cols, rms, 1e-5, wv, rms ? undefined : bv), 1e-5, 1e-5)).toBeLessThanOrEqual(1);
        // Backward against the float64 composition (same ops in float64, autograd).
        const gv = values(rows * cols, `ln g ${rows} ${cols}`);
        y.backward(f32(gv, [rows, cols]));
        const x64 = mp.tensor(Float64Array.from(xv), { dtype: 'float64', shape: [rows, cols] }).requiresGrad_();
        const w64 = mp.tensor(Float64Array.from(wv), { dtype: 'float64' }).requiresGrad_();
        const b64 = mp.tensor(Float64Array.from(bv), { dtype: 'float64' }).requiresGrad_();
        const centered = rms ? x64 : x64.sub(x64.mean({ dim: 1, keepdim: true }));
        const ref = centered.mul(centered.mul(centered).mean({ dim: 1, keepdim: true }).add(1e-5).rsqrt()).mul(w64);
        (rms ? ref : ref.add(b64)).backward(mp.tensor(Float64Array.from(gv), { dtype: 'float64', shape: [rows, cols] }));
        expect(worst(takeGrad(x), takeGrad(x64), 1e-4, 1e-4)).toBeLessThanOrEqual(1);
        expect(worst(takeGrad(w), takeGrad(w64), 1e-4, 1e-4)).toBeLessThanOrEqual(1);
        if (!rms) expect(worst(takeGrad(b), takeGrad(b64), 1e-4, 1e-4)).toBeLessThanOrEqual(1);
      });
    }
  });

  test('normalizes over several trailing dims, with and without affine tensors', () => {
    mp.tidy(() => {
      const xv = values(2 * 3 * 4, 'ln multi');
      const y = F.layerNorm(f32(xv, [2, 3, 4]), [3, 4]);
      expect(y.shape).toEqual([2, 3, 4]);
      expect(worst(arr(y), normReference(xv, 12, false, 1e-5), 1e-5, 1e-5)).toBeLessThanOrEqual(1);
      const norm = new mp.nn.RMSNorm([3, 4]);
      const r = norm.forward(f32(xv, [2, 3, 4]));
      norm.weight!.dispose();
      expect(worst(arr(r), normReference(xv, 12, true, 2 ** -23), 1e-5, 1e-5)).toBeLessThanOrEqual(1);
    });
  });

  test.each(['float16', 'bfloat16'] as Half[])('%s: output and dx equal the float32 computation rounded once', (dtype) => {
    for (const rms of [false, true]) {
      mp.tidy(() => {
        const [rows, cols] = [9, 300];
        const x16 = f32(values(rows * cols, `ln16 ${dtype}`, 4, 2), [rows, cols]).to(dtype);
        const w = f32(values(cols, 'ln16 w'), [cols]);
        const b = f32(values(cols, 'ln16 b'), [cols]);
        const g16 = f32(values(rows * cols, 'ln16 g'), [rows, cols]).to(dtype);
        const run = (x: T, g: T) => {
          const xi = x.detach().requiresGrad_();
          const y = rms ? F.rmsNorm(xi, [cols], w, 1e-5) : F.layerNorm(xi, [cols], w, b);
          y.backward(g);
          return { y, dx: gradTensor(xi) };
        };
        const half = run(x16, g16);
        const full = run(x16.to('float32'), g16.to('float32'));
        expect(half.y.dtype).toBe(dtype);
        expect(arr(half.y)).toEqual(arr(full.y.to(dtype)));
        expect(arr(half.dx)).toEqual(arr(full.dx.to(dtype)));
      });
    }
  });

  test.each(vectorLevels.length > 0 ? vectorLevels : ['(no SIMD level on this CPU)'])('SIMD level %s against the scalar rows', (level) => {
    for (const dtype of ['float32', 'bfloat16', 'float16'] as const) {
      for (const [rows, cols] of [[1, 1], [3, 7], [4, 17], [2, 4100], [130, 9]] as [number, number][]) {
        mp.tidy(() => {
          const x = f32(values(rows * cols, `simd ${rows} ${cols}`, 3, 0.5), [rows, cols]).to(dtype);
          const w = f32(values(cols, `simd w ${cols}`), [cols]).requiresGrad_();
          const b = f32(values(cols, `simd b ${cols}`), [cols]).requiresGrad_();
          const g = f32(values(rows * cols, `simd g ${rows} ${cols}`), [rows, cols]).to(dtype);
          const run = (l: string) => {
            mp.setSimdLevel(l);
            const xi = x.detach().requiresGrad_();
            const y = F.layerNorm(xi, [cols], w, b);
            y.backward(g);
            return [arr(y), takeGrad(xi), takeGrad(w), takeGrad(b)];
          };
          if (!levels.includes(level)) return;
          const ref = run('scalar');
          const vec = run(level);
          // Float32 sums in another order: a few float32 ulps, one 16-bit ulp after rounding.
          const tol = dtype === 'float32' ? 2e-5 : dtype === 'bfloat16' ? 8e-3 : 1e-3;
          for (let k = 0; k < 4; ++k) expect(worst(vec[k], ref[k], tol, tol)).toBeLessThanOrEqual(1);
        });
      }
    }
  });

  test('dx, dweight and dbias are bit-identical with 1, 2 and 7 threads (fixed row blocks for the column sums)', () => {
    // A child process per thread count (the pool size is read at load), on the built dist/.
    const script = `
      const mp = require(${JSON.stringify(path.join(__dirname, '..', 'dist'))});
      mp.manualSeed(3);
      const x = mp.randn([1000, 300]).requiresGrad_(), w = mp.randn([300]).requiresGrad_(), b = mp.randn([300]).requiresGrad_();
      mp.nn.functional.layerNorm(x, [300], w, b).mul(mp.randn([1000, 300])).sum().backward();
      const hex = (t) => Buffer.from(t.rawData().buffer).toString('base64');
      process.stdout.write(JSON.stringify([mp.backend().numThreads, hex(x.grad), hex(w.grad), hex(b.grad)]));`;
    const runs = [1, 2, 7].map((n) => JSON.parse(execFileSync(process.execPath, ['-e', script], { env: { ...process.env, MIXPREC_NUM_THREADS: String(n) }, encoding: 'utf8', maxBuffer: 16 << 20 })) as [number, string, string, string]);
    expect(runs.map((r) => r[0])).toEqual([1, 2, 7]);
    for (const r of runs.slice(1)) expect(r.slice(1)).toEqual(runs[0].slice(1));
  });

  test('autocast: passThrough on the CPU (16-bit in, 16-bit out), float32 under the CUDA policy', () => {
    mp.tidy(() => {
      const x = f32(values(24, 'ac ln'), [3, 8]).to('bfloat16');
      const w = mp.ones([8]);
      const y = mp.amp.autocast({ deviceType: 'cpu', dtype: 'bfloat16' }, () => F.layerNorm(x, [8], w, mp.zeros([8])));
      expect(y.dtype).toBe('bfloat16');
      expect(mp.amp.policies.cuda.categoryOf('layerNorm')).toBe('fp32');
      expect(mp.amp.policies.cuda.categoryOf('rmsNorm')).toBe('passThrough');
      expect(mp.amp.policies.cpu.categoryOf('rmsNorm')).toBe('passThrough');
    });
  });

  test('bad input is refused with a clear error', () => {
    mp.tidy(() => {
      const x = mp.zeros([2, 4]);
      expect(() => F.layerNorm(x, [3])).toThrow(/layerNorm: normalizedShape \[3\] must match the input's trailing sizes/);
      expect(() => F.layerNorm(x, [4], mp.ones([3]))).toThrow(/layerNorm: weight must have shape \[4\], got \[3\]/);
      expect(() => F.rmsNorm(mp.zeros([2, 4], { dtype: 'int32' }), [4])).toThrow(/rmsNorm: needs a floating-point input, got int32/);
      expect(() => F.layerNorm(x, [4], undefined, undefined, -1)).toThrow(/layerNorm.*eps/);
      expect(() => new mp.nn.RMSNorm(0)).toThrow(/RMSNorm/);
    });
  });
});

describe('gelu and biasGelu', () => {
  const cdf = (x: number) => 0.5 * (1 + erf(x / Math.SQRT2));
  function erf(x: number): number {
    // Series / continued fraction to double precision is overkill here: 1e-12 via many Taylor terms for |x| < 6.
    let sum = 0;
    let term = x;
    for (let n = 0; n < 200; ++n) {
      sum += term / (2 * n + 1);
      term *= (-x * x) / (n + 1);
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  const k = Math.sqrt(2 / Math.PI);
  const geluRef = (x: number, tanh: boolean) => (tanh ? 0.5 * x * (1 + Math.tanh(k * (x + 0.044715 * x ** 3))) : x * cdf(x));
  const geluGradRef = (x: number, tanh: boolean) => {
    if (!tanh) return cdf(x) + (x * Math.exp(-0.5 * x * x)) / Math.sqrt(2 * Math.PI);
    const t = Math.tanh(k * (x + 0.044715 * x ** 3));
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x);
  };

  test.each([['none', false], ['tanh', true]] as const)('approximate %s: biasGelu forward and both gradients match float64 math', (approximate, tanh) => {
    for (const [rows, cols] of [[1, 1], [3, 7], [5, 37], [2, 1030]] as [number, number][]) {
      mp.tidy(() => {
        const xv = values(rows * cols, `bg x ${rows} ${cols}`, 4);
        const bv = values(cols, `bg b ${cols}`);
        const gv = values(rows * cols, `bg g ${rows} ${cols}`);
        const x = f32(xv, [rows, cols]).requiresGrad_();
        const b = f32(bv, [cols]).requiresGrad_();
        const y = F.biasGelu(x, b, { approximate });
        const pre = xv.map((v, i) => Math.fround(v) + Math.fround(bv[i % cols]));
        expect(worst(arr(y), pre.map((v) => geluRef(v, tanh)), 1e-6, 1e-5)).toBeLessThanOrEqual(1);
        y.backward(f32(gv, [rows, cols]));
        const dx = pre.map((v, i) => Math.fround(gv[i]) * geluGradRef(v, tanh));
        expect(worst(takeGrad(x), dx, 1e-5, 1e-5)).toBeLessThanOrEqual(1);
        const db = bv.map((_, c) => dx.filter((_v, i) => i % cols === c).reduce((a, v) => a + v, 0));
        expect(worst(takeGrad(b), db, 1e-5, 1e-5)).toBeLessThanOrEqual(1);
      });
    }
  });

  test.each([['none', false], ['tanh', true]] as const)('approximate %s: gelu backward is one native pass matching float64 math, every dtype', (approximate, tanh) => {
    for (const dtype of ['float32', 'bfloat16', 'float16', 'float64'] as const) {
      mp.tidy(() => {
        const xv = values(1003, `g x ${dtype}`, 5);
        const x = f32(xv, [1003]).to(dtype).requiresGrad_();
        mp.gelu(x, { approximate }).sum().backward();
        const exact = arr(x.detach().to('float64')).map((v) => geluGradRef(v, tanh));
        const tol = dtype === 'float64' ? 1e-12 : dtype === 'float32' ? 2e-6 : dtype === 'float16' ? 1e-3 : 8e-3;
        expect(x.grad!.dtype).toBe(dtype);
        expect(worst(takeGrad(x), exact, tol, tol)).toBeLessThanOrEqual(1);
      });
    }
  });

  test.each(vectorLevels.length > 0 ? vectorLevels : ['(no SIMD level on this CPU)'])('SIMD level %s against the scalar path', (level) => {
    if (!levels.includes(level)) return;
    for (const approximate of ['none', 'tanh'] as const) {
      for (const dtype of ['float32', 'bfloat16'] as const) {
        mp.tidy(() => {
          const special = [0, -0, 1e-30, -20, 20, 100, -100, 9.5, -9.5, Infinity, -Infinity, NaN, 3e38, -3e38];
          const x = f32([...special, ...values(1000, 'gs x', 8)], [special.length + 1000]).to(dtype);
          const b = f32([0.25], [1]).to(dtype);
          const run = (l: string) => {
            mp.setSimdLevel(l);
            const xi = x.detach().requiresGrad_();
            const y = F.biasGelu(xi.reshape([special.length + 1000, 1]), b, { approximate });
            y.sum().backward();
            return [arr(y), takeGrad(xi)];
          };
          const ref = run('scalar');
          const vec = run(level);
          // The vector exp / erf differ by float32 ulps: up to 2 bfloat16 ulps after rounding.
          const tol = dtype === 'float32' ? 2e-6 : 1.6e-2;
          expect(worst(vec[0], ref[0], tol, tol)).toBeLessThanOrEqual(1);
          expect(worst(vec[1], ref[1], tol, tol)).toBeLessThanOrEqual(1);
        });
      }
    }
  });

  const rowLevels = vectorLevels.filter((l) => levels.includes(l));
  const bothRows = rowLevels.length >= 2;
  const bitsTitle = 'the AVX2 and AVX-512 rows give the same bits (forward and backward, with and without bias, full vectors and tails)';
  (bothRows ? test : test.skip)(bothRows ? bitsTitle : `${bitsTitle} ${skippedBecause(`this CPU has no AVX-512 (${mp.backend().simdDetected})`)}`, () => {
    const simd = rowLevels;
    for (const approximate of ['none', 'tanh'] as const) {
      mp.tidy(() => {
        const special = [0, -0, 1e-30, -20, 20, 100, -100, 9.5, -9.5, Infinity, -Infinity, NaN, 3e38, -3e38];
        const x = f32([...special, ...values(3 * 1013 - special.length, 'gb x', 8)], [3, 1013]);
        const b = f32(values(1013, 'gb b', 2), [1013]);
        const run = (l: string) => {
          mp.setSimdLevel(l);
          const xi = x.detach().requiresGrad_(), xj = x.detach().requiresGrad_();
          const y = F.biasGelu(xi, b, { approximate });
          y.sum().backward();
          const z = mp.gelu(xj, { approximate });
          z.mul(z).sum().backward();
          return [arr(y), takeGrad(xi), arr(z), takeGrad(xj)];
        };
        const first = run(simd[0]);
        for (const level of simd.slice(1)) expect({ level, bits: run(level) }).toEqual({ level, bits: first });
      });
    }
  });

  test('bfloat16: x + bias is not rounded before the GELU (one rounding of the float32 result)', () => {
    mp.tidy(() => {
      mp.setSimdLevel('scalar');
      const x = f32(values(64, 'bg16 x', 3), [8, 8]).to('bfloat16');
      const b = f32(values(8, 'bg16 b'), [8]).to('bfloat16');
      const y = F.biasGelu(x, b);
      const full = F.biasGelu(x.to('float32'), b.to('float32')).to('bfloat16');
      expect(arr(y)).toEqual(arr(full));
      mp.setSimdLevel(mp.backend().simdDetected);
    });
  });

  test('bad input is refused with a clear error', () => {
    mp.tidy(() => {
      expect(() => F.biasGelu(mp.zeros([2, 4]), mp.zeros([3]))).toThrow(/biasGelu: bias must be 1-d with the size of x's last dimension \[4\], got \[3\]/);
      expect(() => F.biasGelu(mp.zeros([2, 4]), mp.zeros([4]), { approximate: 'fast' as 'tanh' })).toThrow(/biasGelu: .*approximate/);
      expect(() => F.biasGelu(mp.zeros([2, 4], { dtype: 'int32' }), mp.zeros([4], { dtype: 'int32' }))).toThrow(/biasGelu: x and bias must be floating point/);
    });
  });
});

describe('crossEntropy (fused)', () => {
  test.each([[4, 5, 0], [7, 4096, 0], [3, 33, 0.1], [1, 1, 0]] as [number, number, number][])('[%i, %i] labelSmoothing %d: losses, reductions and dlogits match float64 math', (rows, cols, s) => {
    mp.tidy(() => {
      const xv = values(rows * cols, `ce x ${rows} ${cols}`, 6);
      seedRng(hash(`ce t ${rows}`));
      const tv = Array.from({ length: rows }, (_, r) => (r === 1 ? -100 : Math.floor(uniform() * cols)));
      const ref = crossEntropyReference(xv, cols, tv, s, -100);
      const count = tv.filter((t) => t !== -100).length;
      for (const reduction of ['none', 'sum', 'mean'] as const) {
        const x = f32(xv, [rows, cols]).requiresGrad_();
        const loss = F.crossEntropy(x, ints(tv), { reduction, labelSmoothing: s });
        const expected = reduction === 'none' ? ref.loss : [ref.loss.reduce((a, v) => a + v, 0) / (reduction === 'mean' ? count : 1)];
        expect(worst(arr(loss), expected, 1e-5, 1e-5)).toBeLessThanOrEqual(1);
        const up = reduction === 'none' ? values(rows, 'ce up') : [1];
        loss.backward(reduction === 'none' ? f32(up, [rows]) : undefined);
        const scale = Array.from({ length: rows }, (_, r) => (reduction === 'none' ? Math.fround(up[r]) : reduction === 'mean' ? 1 / count : 1));
        expect(worst(takeGrad(x), ref.grad(scale), 1e-6, 1e-5)).toBeLessThanOrEqual(1);
      }
    });
  });

  test.each(['float16', 'bfloat16'] as Half[])('%s logits: float32 math, loss in the logits dtype, dlogits equal to the float32 computation rounded once', (dtype) => {
    mp.tidy(() => {
      const [rows, cols] = [6, 1000];
      const x16 = f32(values(rows * cols, `ce16 ${dtype}`, 8), [rows, cols]).to(dtype);
      const t = ints([0, 999, 5, 500, 3, 7]);
      const run = (x: T) => {
        const xi = x.detach().requiresGrad_();
        const loss = F.crossEntropy(xi, t, { reduction: 'sum' });
        loss.backward();
        return { loss, dx: gradTensor(xi) };
      };
      const half = run(x16);
      const full = run(x16.to('float32'));
      expect(half.loss.dtype).toBe(dtype);
      expect(half.loss.item()).toBe(full.loss.to(dtype).item());
      expect(arr(half.dx)).toEqual(arr(full.dx.to(dtype)));
    });
  });

  test.each(vectorLevels.length > 0 ? vectorLevels : ['(no SIMD level on this CPU)'])('SIMD level %s against the scalar rows', (level) => {
    if (!levels.includes(level)) return;
    for (const [rows, cols] of [[1, 1], [3, 7], [2, 4097], [65, 9]] as [number, number][]) {
      mp.tidy(() => {
        const x = f32(values(rows * cols, `ces ${rows} ${cols}`, 30), [rows, cols]);
        seedRng(hash(`ces t ${rows} ${cols}`));
        const t = ints(Array.from({ length: rows }, () => Math.floor(uniform() * cols)));
        const run = (l: string) => {
          mp.setSimdLevel(l);
          const xi = x.detach().requiresGrad_();
          const loss = F.crossEntropy(xi, t, { reduction: 'none', labelSmoothing: 0.05 });
          loss.sum().backward();
          return [arr(loss), takeGrad(xi)];
        };
        const ref = run('scalar');
        const vec = run(level);
        expect(worst(vec[0], ref[0], 1e-5, 1e-5)).toBeLessThanOrEqual(1);
        expect(worst(vec[1], ref[1], 1e-7, 1e-5)).toBeLessThanOrEqual(1);
      });
    }
  });

  test('a row of -inf but the target, huge logits and NaN behave as logSoftmax + nll does', () => {
    mp.tidy(() => {
      const x = f32([0, -Infinity, -Infinity, 1e30, 0, 0, NaN, 1, 2], [3, 3]);
      const loss = F.crossEntropy(x, ints([0, 0, 1]), { reduction: 'none' });
      const ref = F.nllLoss(x.logSoftmax(1), ints([0, 0, 1]), { reduction: 'none' });
      // + 0: the composition's -(-0) is -0 where the fused row computes lse - x = +0.
      expect(arr(loss)).toEqual(arr(ref).map((v) => v + 0));
    });
  });

  test('autocast: fp32 category (16-bit logits are computed and returned in float32)', () => {
    mp.tidy(() => {
      const x = f32(values(12, 'ac ce'), [3, 4]).to('bfloat16');
      const loss = mp.amp.autocast({ deviceType: 'cpu', dtype: 'bfloat16' }, () => F.crossEntropy(x, ints([0, 1, 2])));
      expect(loss.dtype).toBe('float32');
      expect(loss.item()).toBeCloseTo(F.crossEntropy(x.to('float32'), ints([0, 1, 2])).item() as number, 6);
    });
  });

  test('an out-of-range target is refused before anything is written, naming the position', () => {
    mp.tidy(() => {
      const x = mp.zeros([3, 4]);
      expect(() => F.crossEntropy(x, ints([0, 4, 1]))).toThrow(/crossEntropy: argument 'target' holds a class index out of range for 4 classes \(valid: 0..3 or ignoreIndex -100\): 4 at position 1/);
      expect(() => F.crossEntropy(x, ints([0, -1, 1]))).toThrow(/: -1 at position 1/);
      expect(() => F.crossEntropy(x, ints([0, 1]))).toThrow(/crossEntropy: input \[3, 4\].*target/);
      expect(() => F.crossEntropy(x, ints([0, 1, 1]), { ignoreIndex: 0.5 })).toThrow(/crossEntropy: .*ignoreIndex/);
      expect(() => F.crossEntropy(mp.zeros([2, 0]), ints([0, 0]))).toThrow(/crossEntropy: input \[2, 0\] has no classes/);
    });
  });
});

// The AVX2 GELU and cross-entropy rows read and write 16-bit storage in registers (the AVX-512
// rows go through float32 scratch rows): on every SIMD level, a 16-bit op must give the bits of the
// same level's float32 computation on the widened values, rounded once. Sizes cover the 16-lane
// main loop, an 8-lane step and partial tails; values cover NaN, infinities, subnormals and ties.
describe.each(vectorLevels.length > 0 ? vectorLevels.filter((l) => levels.includes(l)) : ['scalar'])('16-bit fused rows on SIMD level %s', (level) => {
  beforeAll(() => {
    expect(mp.setSimdLevel(level)).toBe(true);
  });
  afterAll(() => {
    mp.setSimdLevel(mp.backend().simdDetected);
  });
  const special = [0, -0, 1e-40, -3e-39, 1.00390625, 1.01171875, Infinity, -Infinity, NaN, 60000, -7, 7];

  describe.each(['float16', 'bfloat16'] as Half[])('%s', (dtype) => {
    test.each([[1, 1], [3, 7], [2, 24], [5, 37], [2, 1030]] as [number, number][])('biasGelu and gelu [%i, %i]: values and dx equal the float32 computation rounded once', (rows, cols) => {
      for (const approximate of ['none', 'tanh'] as const) {
        mp.tidy(() => {
          const n = rows * cols;
          const xv = [...special, ...values(n, `g16 x ${rows} ${cols}`, 5)].slice(0, n);
          const x16 = f32(xv, [rows, cols]).to(dtype);
          const b16 = f32(values(cols, `g16 b ${cols}`), [cols]).to(dtype);
          const up16 = f32(values(n, `g16 up ${rows} ${cols}`, 3), [rows, cols]).to(dtype);
          // One op per run: two gradients summed into x would add a second 16-bit rounding.
          const run = (wide: boolean, withBias: boolean) => {
            const xi = x16.detach().requiresGrad_();
            const widen = (t: T) => (wide ? t.to('float32') : t);
            const y = withBias ? F.biasGelu(widen(xi), widen(b16), { approximate }) : mp.gelu(widen(xi), { approximate });
            y.mul(widen(up16)).sum().backward();
            return { y: arr(y.to(dtype)), dx: gradTensor(xi) };
          };
          for (const withBias of [true, false]) {
            const half = run(false, withBias);
            const full = run(true, withBias);
            expect(half.y).toEqual(full.y);
            expect(half.dx.dtype).toBe(dtype);
            expect(arr(half.dx)).toEqual(arr(full.dx));
          }
        });
      }
    });

    test.each([[1, 1], [3, 7], [4, 24], [3, 37], [2, 4097]] as [number, number][])('crossEntropy [%i, %i]: loss and dlogits equal the float32 computation rounded once', (rows, cols) => {
      for (const labelSmoothing of [0, 0.1]) {
        mp.tidy(() => {
          const x16 = f32(values(rows * cols, `ce16 x ${rows} ${cols}`, 8), [rows, cols]).to(dtype);
          // Targets in the last lanes of a row too (the tail and the lane the target term patches).
          const t = ints(Array.from({ length: rows }, (_, r) => (r === 0 ? cols - 1 : (r * 7919) % cols)));
          const run = (wide: boolean) => {
            const xi = x16.detach().requiresGrad_();
            const loss = F.crossEntropy(wide ? xi.to('float32') : xi, t, { reduction: 'sum', labelSmoothing });
            loss.backward();
            return { loss, dx: gradTensor(xi) };
          };
          const half = run(false);
          const full = run(true);
          expect(half.loss.dtype).toBe(dtype);
          expect(half.loss.item()).toBe(full.loss.to(dtype).item());
          expect(arr(half.dx)).toEqual(arr(full.dx));
        });
      }
    });
  });
});
