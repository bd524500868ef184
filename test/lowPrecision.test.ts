// Forward and backward in float16 and bfloat16 against the float32 computation on the same
// (already rounded) inputs and upstream gradient, within each dtype's tolerance; gradients
// come back in the leaf's dtype, including a 16-bit leaf used in a float32 computation.
import * as mp from '../lib';
import { hash, seedRng, uniform } from './helpers/seededRandom';

const F = mp.nn.functional;
type T = mp.Tensor;
type LowDType = 'float16' | 'bfloat16';

afterEach(() => expect(mp.memory().numTensors).toBe(0));

/**
 * Relative tolerance per dtype: a few units of the unit roundoff (2^-11 for float16, 2^-8 for
 * bfloat16), since 16-bit forward and backward round every intermediate result.
 */
const rtols: Record<LowDType, number> = { float16: 1e-2, bfloat16: 3e-2 };

// ---- deterministic inputs ---------------------------------------------------------------


interface RandOptions {
  lo?: number;
  hi?: number;
  /** Magnitudes in [away, max(|lo|, |hi|)] with random signs (keeps kinks at 0 away). */
  away?: number;
}

/** Float32 random values; rounded into the dtype under test before use. */
function rnd(shape: number[], o: RandOptions = {}): T {
  const lo = o.lo ?? -1;
  const hi = o.hi ?? 1;
  const n = shape.reduce((a, b) => a * b, 1);
  const v = Array.from({ length: n }, () => {
    if (o.away !== undefined) {
      const m = o.away + (Math.max(Math.abs(lo), Math.abs(hi)) - o.away) * uniform();
      return uniform() < 0.5 ? -m : m;
    }
    return lo + (hi - lo) * uniform();
  });
  return mp.tensor(Float32Array.from(v), { shape });
}

const ints = (v: number[], shape: number[] = [v.length]): T => mp.tensor(Int32Array.from(v), { shape });

// ---- comparison -------------------------------------------------------------------------

/**
 * Elementwise |actual - expected| <= rtol * (|expected| + sqrt(length) * scale): relative for
 * large values, and for values that come out of cancellation (a sum of `length` rounded terms)
 * an absolute floor at the tensor's scale (its RMS value), grown by the square root of the
 * reduction length.
 */
function expectClose(what: string, actual: T, expected: T, rtol: number, length = 1): void {
  expect(actual.shape).toEqual(expected.shape);
  const a = actual.double().dataSync();
  const e = expected.double().dataSync();
  let sq = 0;
  for (let i = 0; i < e.length; ++i) sq += e[i] * e[i];
  const scale = Math.sqrt(sq / Math.max(e.length, 1));
  const floor = Math.sqrt(length) * scale;
  for (let i = 0; i < e.length; ++i) {
    const tol = rtol * (Math.abs(e[i]) + floor);
    if (!(Math.abs(a[i] - e[i]) <= tol)) {
      throw new Error(`${what}: element ${i} is ${a[i]}, float32 gives ${e[i]} (difference ${Math.abs(a[i] - e[i])} over the tolerance ${tol})`);
    }
  }
}

/**
 * mp.tidy, and afterwards (also when an expectation fails) disposes the gradients of every
 * tensor passed to `track` (gradients are kept out of tidy scopes).
 */
function scoped(fn: (track: (...ts: T[]) => void) => void): void {
  const tracked: T[] = [];
  try {
    mp.tidy(() => fn((...ts) => tracked.push(...ts)));
  } finally {
    for (const t of tracked) t.grad?.dispose();
  }
}

// ---- cases ------------------------------------------------------------------------------

interface Input {
  value: T;
  /** Whether the gradient wrt this input is checked (floating inputs only). */
  grad?: boolean;
}

interface LowCase {
  /** Float32 (or int32) inputs: floating ones are rounded into the dtype under test. */
  inputs: () => Input[];
  fn: (...xs: T[]) => T;
  /** The longest reduction (forward or backward) behind one output or gradient element. */
  length?: number;
}

const g = (value: T): Input => ({ value, grad: true });
const c = (value: T): Input => ({ value });

const lowCases: Record<string, LowCase> = {
  'add (broadcast)': { inputs: () => [g(rnd([4, 6])), g(rnd([6]))], fn: (a, b) => a.add(b), length: 4 },
  'sub (broadcast)': { inputs: () => [g(rnd([4, 1])), g(rnd([1, 6]))], fn: (a, b) => a.sub(b), length: 6 },
  'mul (broadcast, scalar)': { inputs: () => [g(rnd([4, 6])), g(rnd([6]))], fn: (a, b) => a.mul(b).mul(1.5), length: 4 },
  'div (broadcast)': { inputs: () => [g(rnd([4, 6])), g(rnd([6], { away: 0.5, hi: 2 }))], fn: (a, b) => a.div(b), length: 4 },
  'pow (tensor ** 3, tensor ** 2)': { inputs: () => [g(rnd([4, 6], { lo: 0.2, hi: 1.5 }))], fn: (x) => x.pow(3).add(x.mul(0.5).pow(2)) },
  exp: { inputs: () => [g(rnd([4, 6], { lo: -2, hi: 2 }))], fn: (x) => x.exp() },
  log: { inputs: () => [g(rnd([4, 6], { lo: 0.2, hi: 4 }))], fn: (x) => x.log() },
  sqrt: { inputs: () => [g(rnd([4, 6], { lo: 0.2, hi: 4 }))], fn: (x) => x.sqrt() },
  tanh: { inputs: () => [g(rnd([4, 6], { lo: -2, hi: 2 }))], fn: (x) => x.tanh() },
  sigmoid: { inputs: () => [g(rnd([4, 6], { lo: -3, hi: 3 }))], fn: (x) => x.sigmoid() },
  relu: { inputs: () => [g(rnd([4, 6], { away: 0.05 }))], fn: (x) => x.relu() },
  gelu: { inputs: () => [g(rnd([4, 6], { lo: -3, hi: 3 }))], fn: (x) => x.gelu() },
  'gelu tanh': { inputs: () => [g(rnd([4, 6], { lo: -3, hi: 3 }))], fn: (x) => x.gelu({ approximate: 'tanh' }) },
  silu: { inputs: () => [g(rnd([4, 6], { lo: -3, hi: 3 }))], fn: (x) => x.silu() },
  softplus: { inputs: () => [g(rnd([4, 6], { lo: -3, hi: 3 }))], fn: (x) => x.softplus() },
  'leakyRelu / elu': { inputs: () => [g(rnd([4, 6], { away: 0.05, hi: 2 }))], fn: (x) => x.leakyRelu(0.1).add(x.elu()) },
  'sum (dim)': { inputs: () => [g(rnd([4, 16]))], fn: (x) => x.sum({ dim: 1 }), length: 16 },
  'sum (all)': { inputs: () => [g(rnd([4, 16]))], fn: (x) => x.sum(), length: 64 },
  'mean (dims, keepdim)': { inputs: () => [g(rnd([2, 8, 4]))], fn: (x) => x.mean({ dim: [0, 2], keepdim: true }), length: 8 },
  'max (dim)': { inputs: () => [g(rnd([4, 8]))], fn: (x) => x.max({ dim: -1 }) },
  logsumexp: { inputs: () => [g(rnd([4, 8], { lo: -2, hi: 2 }))], fn: (x) => x.logsumexp({ dim: 1 }), length: 8 },
  'var / std': { inputs: () => [g(rnd([4, 8]))], fn: (x) => x.var({ dim: 1 }).add(x.std({ dim: 1, correction: 0 })), length: 8 },
  softmax: { inputs: () => [g(rnd([4, 8], { lo: -3, hi: 3 }))], fn: (x) => x.softmax(-1), length: 8 },
  logSoftmax: { inputs: () => [g(rnd([4, 8], { lo: -3, hi: 3 }))], fn: (x) => x.logSoftmax(1), length: 8 },
  matmul: { inputs: () => [g(rnd([4, 16])), g(rnd([16, 6]))], fn: (a, b) => a.matmul(b), length: 16 },
  'matmul (batched broadcast)': { inputs: () => [g(rnd([2, 3, 8])), g(rnd([8, 4]))], fn: (a, b) => mp.matmul(a, b), length: 8 },
  linear: { inputs: () => [g(rnd([4, 16])), g(rnd([6, 16])), g(rnd([6]))], fn: (x, w, b) => mp.linear(x, w, b), length: 16 },
  conv2d: {
    inputs: () => [g(rnd([2, 3, 5, 5])), g(rnd([4, 3, 3, 3])), g(rnd([4]))],
    fn: (x, w, b) => F.conv2d(x, w, b, { padding: 1 }),
    length: 50, // the weight gradient sums over N * H * W
  },
  'conv2d (stride 2, groups)': {
    inputs: () => [g(rnd([1, 4, 5, 5])), g(rnd([4, 2, 2, 2]))],
    fn: (x, w) => F.conv2d(x, w, undefined, { stride: 2, groups: 2 }),
    length: 8,
  },
  maxPool2d: { inputs: () => [g(rnd([2, 2, 4, 4]))], fn: (x) => F.maxPool2d(x, 2) },
  avgPool2d: { inputs: () => [g(rnd([2, 2, 5, 5]))], fn: (x) => F.avgPool2d(x, 3, { stride: 2, padding: 1, countIncludePad: false }), length: 9 },
  adaptiveAvgPool2d: { inputs: () => [g(rnd([1, 2, 5, 7]))], fn: (x) => F.adaptiveAvgPool2d(x, [2, 3]), length: 12 },
  layerNorm: { inputs: () => [g(rnd([4, 16])), g(rnd([16], { lo: 0.5, hi: 1.5 })), g(rnd([16]))], fn: (x, w, b) => F.layerNorm(x, [16], w, b), length: 16 },
  'batchNorm (training)': {
    inputs: () => [g(rnd([8, 3, 2])), g(rnd([3], { lo: 0.5, hi: 1.5 })), g(rnd([3])), c(mp.zeros([3])), c(mp.ones([3]))],
    fn: (x, w, b, rm, rv) => F.batchNorm(x, rm, rv, w, b, { training: true }),
    length: 16,
  },
  'batchNorm (eval)': {
    inputs: () => [g(rnd([4, 3, 2])), g(rnd([3], { lo: 0.5, hi: 1.5 })), g(rnd([3])), c(rnd([3], { lo: -0.2, hi: 0.2 })), c(rnd([3], { lo: 0.5, hi: 2 }))],
    fn: (x, w, b, rm, rv) => F.batchNorm(x, rm, rv, w, b),
    length: 8,
  },
  crossEntropy: { inputs: () => [g(rnd([6, 5], { lo: -2, hi: 2 })), c(ints([0, 4, 2, 2, 1, 3]))], fn: (x, t) => F.crossEntropy(x, t), length: 6 },
  'crossEntropy (labelSmoothing, none)': {
    inputs: () => [g(rnd([6, 5], { lo: -2, hi: 2 })), c(ints([0, 4, 2, 2, 1, 3]))],
    fn: (x, t) => F.crossEntropy(x, t, { labelSmoothing: 0.1, reduction: 'none' }),
    length: 5,
  },
  mseLoss: { inputs: () => [g(rnd([4, 6])), g(rnd([4, 6]))], fn: (x, y) => F.mseLoss(x, y), length: 24 },
  'mseLoss (sum)': { inputs: () => [g(rnd([4, 6])), g(rnd([4, 6]))], fn: (x, y) => F.mseLoss(x, y, { reduction: 'sum' }), length: 24 },
};

/** The inputs in `dtype` (floating ones rounded; the checked ones as leaves requiring grad). */
function prepare(inputs: Input[], dtype: mp.DType): T[] {
  return inputs.map((i) => {
    if (!i.value.isFloatingPoint()) return i.value;
    const t = i.value.to(dtype);
    const leaf = t === i.value ? t.clone() : t;
    return i.grad ? leaf.requiresGrad_() : leaf;
  });
}

function runCase(name: string, dtype: LowDType): void {
  const spec = lowCases[name];
  const rtol = rtols[dtype];
  seedRng(hash(name));
  scoped((track) => {
    const raw = spec.inputs();
    const low = prepare(raw, dtype);
    // The float32 reference on exactly the same (rounded) values.
    const ref = prepare(raw.map((i, k) => ({ ...i, value: low[k].isFloatingPoint() ? low[k].detach().float() : low[k] })), 'float32');
    track(...low, ...ref);
    const yLow = spec.fn(...low);
    const yRef = spec.fn(...ref);
    expect(yLow.dtype).toBe(dtype);
    expect(yRef.dtype).toBe('float32');
    expectClose(`${name} ${dtype} forward`, yLow, yRef, rtol, spec.length);
    // One upstream gradient, rounded into the dtype, used by both.
    const upstream = rnd(yLow.shape, { lo: -1, hi: 1 }).to(dtype);
    yLow.backward(upstream);
    yRef.backward(upstream.float());
    raw.forEach((input, k) => {
      if (!input.grad) return;
      const gl = low[k].grad;
      const gr = ref[k].grad;
      expect(gl).toBeDefined();
      expect(gr).toBeDefined();
      expect(gl!.dtype).toBe(dtype);
      expect(gr!.dtype).toBe('float32');
      expectClose(`${name} ${dtype} gradient of input ${k}`, gl!, gr!, rtol, spec.length);
    });
  });
}

describe.each(['float16', 'bfloat16'] as const)('%s forward and backward match float32', (dtype) => {
  test.each(Object.keys(lowCases))('%s', (name) => runCase(name, dtype));

  test('batchNorm running statistics update in the dtype and match float32', () => {
    seedRng(hash(`running ${dtype}`));
    mp.tidy(() => {
      const x = rnd([8, 3]).to(dtype);
      const rmLow = mp.zeros([3], { dtype });
      const rvLow = mp.ones([3], { dtype });
      const rmRef = mp.zeros([3]);
      const rvRef = mp.ones([3]);
      F.batchNorm(x, rmLow, rvLow, undefined, undefined, { training: true, momentum: 0.3 });
      F.batchNorm(x.float(), rmRef, rvRef, undefined, undefined, { training: true, momentum: 0.3 });
      expect(rmLow.dtype).toBe(dtype);
      expect(rvLow.dtype).toBe(dtype);
      expectClose(`runningMean ${dtype}`, rmLow, rmRef, rtols[dtype], 8);
      expectClose(`runningVar ${dtype}`, rvLow, rvRef, rtols[dtype], 8);
    });
  });
});

describe.each(['float16', 'bfloat16'] as const)('%s leaves: gradient dtype', (dtype) => {
  test('a 16-bit leaf used in a float32 computation: the gradient is the float32 one rounded into the leaf dtype', () => {
    seedRng(hash(`cast ${dtype}`));
    scoped((track) => {
      const x = rnd([3, 4]).to(dtype).requiresGrad_();
      const w = rnd([5, 4]);
      const x32 = x.detach().float().requiresGrad_();
      track(x, x32);
      const f = (input: T) => mp.linear(input, w).tanh().pow(2).sum();
      const y = f(x.float());
      expect(y.dtype).toBe('float32');
      y.backward();
      f(x32).backward();
      expect(x.grad!.dtype).toBe(dtype);
      // The cast's backward rounds the float32 gradient once: exactly the float32 result rounded.
      expect(Array.from(x.grad!.dataSync())).toEqual(Array.from(x32.grad!.to(dtype).dataSync()));
    });
  });

  test('promotion: a 16-bit leaf plus a float32 leaf gives each its own gradient dtype', () => {
    seedRng(hash(`promote ${dtype}`));
    scoped((track) => {
      const a = rnd([2, 3]).to(dtype).requiresGrad_();
      const b = rnd([3]).requiresGrad_();
      track(a, b);
      const y = a.mul(b).add(a);
      expect(y.dtype).toBe('float32');
      y.sum().backward();
      expect(a.grad!.dtype).toBe(dtype);
      expect(b.grad!.dtype).toBe('float32');
      // d/da = b + 1: each path's gradient is rounded into the leaf dtype (b from mul, 1 from
      // add) and the two are summed in the leaf dtype, as PyTorch accumulates.
      const want = b.detach().to(dtype).add(1).expand([2, 3]);
      expect(Array.from(a.grad!.dataSync())).toEqual(Array.from(want.dataSync()));
      expectClose(`promotion ${dtype} grad of a`, a.grad!, b.detach().add(1).expand([2, 3]), rtols[dtype]);
      expectClose(`promotion ${dtype} grad of b`, b.grad!, a.detach().float().sum({ dim: 0 }), 1e-6, 2);
    });
  });

  test('gradients accumulate in the leaf dtype across paths and backward calls', () => {
    seedRng(hash(`accumulate ${dtype}`));
    scoped((track) => {
      const x = rnd([4]).to(dtype).requiresGrad_();
      track(x);
      // One path in the leaf dtype, one through float32.
      x.mul(2).add(x.float().mul(3)).sum().backward();
      expect(x.grad!.dtype).toBe(dtype);
      expect(Array.from(x.grad!.dataSync())).toEqual([5, 5, 5, 5]);
      x.tanh().sum().backward();
      expect(x.grad!.dtype).toBe(dtype);
      const want = x.detach().float().tanh().pow(2).neg().add(6);
      expectClose(`accumulated ${dtype}`, x.grad!, want, rtols[dtype]);
    });
  });
});
