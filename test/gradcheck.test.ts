// Gradient checks: every differentiable registry op against central finite differences in
// float64 (mp.autograd.gradcheck, default tolerances), second derivatives of the common ops,
// and a gradient-penalty loss on a small MLP against finite differences computed in plain JS.
import * as mp from '../lib';
import { hash, seedRng, uniform } from './helpers/seededRandom';
import { sliceScatter } from '../lib/ops/shapeOps';
import { flashAttention } from '../lib/ops/attention';
import { normRows } from '../lib/ops/norm';
import { conv2dFused } from '../lib/ops/conv';
import { maxPool2dFused } from '../lib/ops/pool';
import { windowOf } from '../lib/ops/indexing';
import { crossEntropyRows } from '../lib/ops/crossEntropyRows';
import { thresholdBackward } from '../lib/ops/elementwise';

const F = mp.nn.functional;
type T = mp.Tensor;

afterEach(() => expect(mp.memory().numTensors).toBe(0));

/** One gradcheck: `fn` over `inputs` (those with requiresGrad are checked). */
interface Case {
  label?: string;
  fn: (...inputs: T[]) => T | T[];
  inputs: T[];
  /** Finite-difference step; only for functions that are piecewise constant at a finer scale. */
  eps?: number;
}

// ---- deterministic inputs ---------------------------------------------------------------


const numel = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/** A float64 leaf that requires grad, from explicit values. */
function leaf(values: number[], shape: number[] = [values.length]): T {
  return mp.tensor(Float64Array.from(values), { dtype: 'float64', shape }).requiresGrad_();
}

/** A float64 constant (no grad). */
function constant(values: number[], shape: number[] = [values.length]): T {
  return mp.tensor(Float64Array.from(values), { dtype: 'float64', shape });
}

interface RandOptions {
  lo?: number;
  hi?: number;
  /** Values have magnitude in [away, max(|lo|, |hi|)] with a random sign: keeps kinks at 0 away. */
  away?: number;
  grad?: boolean;
}

function values(shape: number[], o: RandOptions = {}): number[] {
  const lo = o.lo ?? -1;
  const hi = o.hi ?? 1;
  return Array.from({ length: numel(shape) }, () => {
    if (o.away !== undefined) {
      const top = Math.max(Math.abs(lo), Math.abs(hi));
      const m = o.away + (top - o.away) * uniform();
      return uniform() < 0.5 ? -m : m;
    }
    return lo + (hi - lo) * uniform();
  });
}

/** Random float64 values (requiring grad unless `grad: false`). */
function rnd(shape: number[], o: RandOptions = {}): T {
  const v = values(shape, o);
  return o.grad === false ? constant(v, shape) : leaf(v, shape);
}

/** Positive random values in [lo, hi]. */
const pos = (shape: number[], lo = 0.5, hi = 2, grad = true): T => rnd(shape, { lo, hi, grad });

/** An int32 tensor. */
const ints = (v: number[], shape: number[] = [v.length]): T => mp.tensor(Int32Array.from(v), { shape });

/** A bool tensor. */
const bools = (v: boolean[], shape: number[] = [v.length]): T => mp.tensor(v).reshape(shape);

/** Probabilities along dim 1 (rows summing to 1), positive: a klDiv target. */
function probs(rows: number, cols: number, grad = false): T {
  const out: number[] = [];
  for (let r = 0; r < rows; ++r) {
    const w = Array.from({ length: cols }, () => 0.2 + uniform());
    const s = w.reduce((a, b) => a + b, 0);
    out.push(...w.map((x) => x / s));
  }
  return grad ? leaf(out, [rows, cols]) : constant(out, [rows, cols]);
}

const reductions = ['none', 'mean', 'sum'] as const;

// ---- the table: one entry per differentiable registry op ---------------------------------

const cases: Record<string, () => Case | Case[]> = {
  reshape: () => [
    { label: '[2,3] -> [3,2]', fn: (x) => mp.reshape(x, [3, 2]), inputs: [rnd([2, 3])] },
    { label: '-1 and a number', fn: (x) => [mp.reshape(x, -1), x.reshape([1, -1, 1])], inputs: [rnd([2, 3])] },
  ],
  view: () => [
    { label: '[2,3] -> [6]', fn: (x) => mp.view(x, [6]), inputs: [rnd([2, 3])] },
    { label: 'view after permute', fn: (x) => x.permute([1, 0]).view([3, 2]).mul(x.view([3, 2])), inputs: [rnd([2, 3])] },
  ],
  to: () => [
    // x -> float32 -> float64 is rounding, constant between float32 neighbours: a step well
    // above the float32 spacing (|x| <= 1: 6e-8) makes the difference quotient 1 to ~1e-4.
    { label: 'float64 -> float32 -> float64', fn: (x) => x.to('float32').to({ dtype: 'float64' }).mul(x), inputs: [rnd([4])], eps: 1e-3 },
    { label: 'to the same dtype (no node)', fn: (x) => x.to('float64').mul(2), inputs: [rnd([3])] },
    { label: 'to {dtype, device}', fn: (x) => mp.tanh(x.to({ dtype: 'float64', device: 'cpu' })), inputs: [rnd([3])] },
  ],
  clone: () => ({ fn: (x) => mp.clone(x).mul(x), inputs: [rnd([2, 2])] }),

  add: () => [
    { label: 'same shape', fn: (a, b) => mp.add(a, b), inputs: [rnd([2, 3]), rnd([2, 3])] },
    { label: 'broadcast [2,3] + [3]', fn: (a, b) => mp.add(a, b), inputs: [rnd([2, 3]), rnd([3])] },
    { label: 'broadcast both [2,1,3] + [4,1]', fn: (a, b) => mp.add(a, b), inputs: [rnd([2, 1, 3]), rnd([4, 1])] },
    { label: 'scalar operand', fn: (a) => mp.add(a, 2.5), inputs: [rnd([3])] },
    { label: 'scalar first', fn: (a) => mp.add(-1.5, a), inputs: [rnd([3])] },
    { label: '0-d tensor operand', fn: (a, b) => a.add(b), inputs: [rnd([2, 2]), leaf([0.7], [])] },
  ],
  sub: () => [
    { label: 'broadcast [2,3] - [3]', fn: (a, b) => mp.sub(a, b), inputs: [rnd([2, 3]), rnd([3])] },
    { label: 'broadcast [3,1] - [1,2]', fn: (a, b) => a.sub(b), inputs: [rnd([3, 1]), rnd([1, 2])] },
    { label: 'scalar operand', fn: (a) => mp.sub(a, 0.5), inputs: [rnd([3])] },
    { label: 'scalar first', fn: (a) => mp.sub(1, a), inputs: [rnd([3])] },
  ],
  mul: () => [
    { label: 'broadcast [2,3] * [3]', fn: (a, b) => mp.mul(a, b), inputs: [rnd([2, 3]), rnd([3])] },
    { label: 'broadcast both [2,1,3] * [4,1]', fn: (a, b) => a.mul(b), inputs: [rnd([2, 1, 3]), rnd([4, 1])] },
    { label: 'self product', fn: (a) => a.mul(a), inputs: [rnd([4])] },
    { label: 'scalar operand', fn: (a) => mp.mul(a, -3), inputs: [rnd([3])] },
    { label: 'scalar first', fn: (a) => mp.mul(0.25, a), inputs: [rnd([3])] },
  ],
  div: () => [
    { label: 'broadcast [2,3] / [3]', fn: (a, b) => mp.div(a, b), inputs: [rnd([2, 3]), rnd([3], { away: 0.5, hi: 2 })] },
    { label: 'broadcast [3,1] / [1,2]', fn: (a, b) => a.div(b), inputs: [rnd([3, 1]), rnd([1, 2], { away: 0.5, hi: 2 })] },
    { label: 'scalar divisor', fn: (a) => mp.div(a, 2.5), inputs: [rnd([3])] },
    { label: 'scalar numerator', fn: (b) => mp.div(2.5, b), inputs: [rnd([3], { away: 0.5, hi: 2 })] },
  ],
  pow: () => [
    { label: 'tensor ** tensor, broadcast', fn: (a, b) => mp.pow(a, b), inputs: [pos([2, 3]), rnd([3])] },
    { label: 'tensor ** 3 (negative base)', fn: (a) => mp.pow(a, 3), inputs: [rnd([4], { away: 0.2 })] },
    { label: 'tensor ** 2.5', fn: (a) => a.pow(2.5), inputs: [pos([4])] },
    { label: 'tensor ** -1', fn: (a) => a.pow(-1), inputs: [pos([3])] },
    { label: 'tensor ** 0', fn: (a) => a.pow(0).add(a), inputs: [rnd([3])] },
    { label: 'scalar ** tensor', fn: (b) => mp.pow(2, b), inputs: [rnd([3])] },
    { label: 'tensor ** tensor, broadcast exponent [2,1]', fn: (a, b) => a.pow(b), inputs: [pos([3]), rnd([2, 1])] },
  ],
  maximum: () => [
    { label: 'broadcast [2,3] vs [3]', fn: (a, b) => mp.maximum(a, b), inputs: [leaf([0.1, -0.9, 0.7, -0.3, 0.8, 0.2], [2, 3]), leaf([0.4, -0.5, 0.3])] },
    { label: 'broadcast [3,1] vs [1,2]', fn: (a, b) => a.maximum(b), inputs: [leaf([0.1, -0.6, 0.9], [3, 1]), leaf([-0.2, 0.5], [1, 2])] },
    { label: 'scalar operand', fn: (a) => mp.maximum(a, 0.1), inputs: [leaf([-0.5, 0.4, 1.2, -0.1])] },
    { label: 'scalar first', fn: (a) => mp.maximum(0.1, a), inputs: [leaf([-0.5, 0.4, 1.2, -0.1])] },
  ],
  minimum: () => [
    { label: 'broadcast [2,3] vs [3]', fn: (a, b) => mp.minimum(a, b), inputs: [leaf([0.1, -0.9, 0.7, -0.3, 0.8, 0.2], [2, 3]), leaf([0.4, -0.5, 0.3])] },
    { label: 'broadcast [3,1] vs [1,2]', fn: (a, b) => a.minimum(b), inputs: [leaf([0.1, -0.6, 0.9], [3, 1]), leaf([-0.2, 0.5], [1, 2])] },
    { label: 'scalar operand', fn: (a) => mp.minimum(a, 0.1), inputs: [leaf([-0.5, 0.4, 1.2, -0.1])] },
    { label: 'scalar first', fn: (a) => mp.minimum(0.1, a), inputs: [leaf([-0.5, 0.4, 1.2, -0.1])] },
  ],

  neg: () => ({ fn: (x) => mp.neg(x), inputs: [rnd([2, 3])] }),
  abs: () => ({ fn: (x) => mp.abs(x), inputs: [rnd([2, 3], { away: 0.1 })] }),
  exp: () => ({ fn: (x) => mp.exp(x), inputs: [rnd([2, 3])] }),
  log: () => ({ fn: (x) => mp.log(x), inputs: [pos([2, 3], 0.2, 3)] }),
  log1p: () => ({ fn: (x) => mp.log1p(x), inputs: [rnd([2, 3], { lo: -0.5, hi: 2 })] }),
  expm1: () => ({ fn: (x) => mp.expm1(x), inputs: [rnd([2, 3])] }),
  sqrt: () => ({ fn: (x) => mp.sqrt(x), inputs: [pos([2, 3], 0.2, 3)] }),
  rsqrt: () => ({ fn: (x) => mp.rsqrt(x), inputs: [pos([2, 3], 0.2, 3)] }),
  reciprocal: () => ({ fn: (x) => mp.reciprocal(x), inputs: [rnd([2, 3], { away: 0.3, hi: 2 })] }),
  sin: () => ({ fn: (x) => mp.sin(x), inputs: [rnd([2, 3], { lo: -3, hi: 3 })] }),
  cos: () => ({ fn: (x) => mp.cos(x), inputs: [rnd([2, 3], { lo: -3, hi: 3 })] }),
  tanh: () => ({ fn: (x) => mp.tanh(x), inputs: [rnd([2, 3], { lo: -2, hi: 2 })] }),
  sigmoid: () => ({ fn: (x) => mp.sigmoid(x), inputs: [rnd([2, 3], { lo: -3, hi: 3 })] }),
  relu: () => ({ fn: (x) => mp.relu(x), inputs: [rnd([2, 3], { away: 0.1 })] }),
  // Linear in the gradient; relu's output (here a constant with both signs and a zero) only masks.
  thresholdBackward: () => ({ fn: (g) => thresholdBackward(g, mp.tensor([[0.5, -0.2, 0], [1.5, -3, 0.01]], { dtype: g.dtype })), inputs: [rnd([2, 3])] }),
  silu: () => ({ fn: (x) => mp.silu(x), inputs: [rnd([2, 3], { lo: -3, hi: 3 })] }),
  erf: () => ({ fn: (x) => mp.erf(x), inputs: [rnd([2, 3], { lo: -2, hi: 2 })] }),
  sign: () => ({ fn: (x) => mp.sign(x).add(x), inputs: [rnd([2, 3], { away: 0.1 })] }),
  leakyRelu: () => [
    { label: 'default slope', fn: (x) => mp.leakyRelu(x), inputs: [rnd([2, 3], { away: 0.1 })] },
    { label: 'slope 0.2', fn: (x) => mp.leakyRelu(x, 0.2), inputs: [rnd([2, 3], { away: 0.1 })] },
  ],
  elu: () => [
    { label: 'default alpha', fn: (x) => mp.elu(x), inputs: [rnd([2, 3], { away: 0.1, hi: 2 })] },
    { label: 'alpha 0.5', fn: (x) => mp.elu(x, 0.5), inputs: [rnd([2, 3], { away: 0.1, hi: 2 })] },
  ],
  gelu: () => [
    { label: "approximate 'none'", fn: (x) => mp.gelu(x), inputs: [rnd([2, 3], { lo: -3, hi: 3 })] },
    { label: "approximate 'tanh'", fn: (x) => mp.gelu(x, { approximate: 'tanh' }), inputs: [rnd([2, 3], { lo: -3, hi: 3 })] },
  ],
  softplus: () => [
    { label: 'defaults', fn: (x) => mp.softplus(x), inputs: [rnd([2, 3], { lo: -3, hi: 3 })] },
    // beta*x above the threshold (linear part) for some elements, below for the others.
    { label: 'beta 2, threshold 1', fn: (x) => mp.softplus(x, { beta: 2, threshold: 1 }), inputs: [leaf([-1.2, -0.3, 0.1, 0.3, 0.8, 1.5])] },
  ],
  clamp: () => [
    { label: 'min and max', fn: (x) => mp.clamp(x, -0.5, 0.5), inputs: [leaf([-0.9, -0.3, 0.1, 0.4, 0.8, -0.6])] },
    { label: 'min only', fn: (x) => mp.clamp(x, 0.2), inputs: [leaf([-0.9, -0.3, 0.1, 0.4, 0.8, 0.6])] },
    { label: 'max only', fn: (x) => x.clamp(undefined, -0.2), inputs: [leaf([-0.9, -0.3, 0.1, 0.4, 0.8, -0.6])] },
  ],

  permute: () => [
    { label: '[2,0,1]', fn: (x) => mp.permute(x, [2, 0, 1]), inputs: [rnd([2, 3, 2])] },
    { label: 'negative dims', fn: (x) => x.permute([-1, 0, -2]), inputs: [rnd([2, 3, 2])] },
    { label: 'transpose', fn: (x) => mp.transpose(x, 0, -1), inputs: [rnd([2, 3])] },
  ],
  slice: () => [
    { label: 'dim 1, step 2', fn: (x) => mp.slice(x, 1, 1, 5, 2), inputs: [rnd([2, 6])] },
    { label: 'negative dim and start, step 3', fn: (x) => x.slice(-1, -5, undefined, 3), inputs: [rnd([2, 6])] },
    { label: 'dim 0', fn: (x) => x.slice(0, 1), inputs: [rnd([3, 2])] },
    { label: 'narrow and split', fn: (x) => [mp.narrow(x, 1, 1, 2), ...mp.split(x, [1, 3], 1)], inputs: [rnd([2, 4])] },
  ],
  sliceScatter: () => [
    { label: 'dim 1, start 1, step 2', fn: (src) => sliceScatter(src, [2, 5], 1, 1, 2), inputs: [rnd([2, 2])] },
    { label: 'dim 0, start 0, step 1', fn: (src) => sliceScatter(src, [4, 2], 0, 0, 1), inputs: [rnd([3, 2])] },
  ],
  expand: () => [
    { label: '[3,1] -> [2,3,4]', fn: (x) => mp.expand(x, [2, 3, 4]), inputs: [rnd([3, 1])] },
    { label: '-1 keeps a size', fn: (x) => x.expand([2, -1]), inputs: [rnd([1, 3])] },
  ],
  cat: () => [
    { label: 'three tensors along dim 1', fn: (a, b, c) => mp.cat([a, b, c], 1), inputs: [rnd([2, 1]), rnd([2, 3]), rnd([2, 2])] },
    { label: 'negative dim', fn: (a, b) => mp.cat([a, b], -1), inputs: [rnd([2, 2, 1]), rnd([2, 2, 2])] },
    { label: 'dim 0, one input constant', fn: (a, b) => mp.cat([a, b, a]), inputs: [rnd([1, 3]), rnd([2, 3], { grad: false })] },
    { label: 'stack', fn: (a, b) => mp.stack([a, b], 1), inputs: [rnd([2, 3]), rnd([2, 3])] },
  ],

  // The internal strided GEMM: reached through mm (no transposes), linear (transposed weight),
  // and their backward (transposed operands of every kind).
  stridedProduct: () => {
    const twice = [rnd([2, 3]), rnd([2, 3])];
    return [
      { label: 'via mm', fn: (a, b) => mp.mm(a, b), inputs: [rnd([2, 3]), rnd([3, 2])] },
      { label: 'via linear (transB)', fn: (x, w) => mp.linear(x, w), inputs: [rnd([2, 3]), rnd([4, 3])] },
      { label: 'backward of linear (transA/transB products)', fn: gradsOf((x, w) => mp.linear(x, w).pow(2).sum(), twice), inputs: twice },
    ];
  },
  matmul: () => [
    { label: '1-D . 1-D', fn: (a, b) => mp.matmul(a, b), inputs: [rnd([3]), rnd([3])] },
    { label: '1-D . 2-D', fn: (a, b) => mp.matmul(a, b), inputs: [rnd([3]), rnd([3, 2])] },
    { label: '2-D . 1-D', fn: (a, b) => mp.matmul(a, b), inputs: [rnd([2, 3]), rnd([3])] },
    { label: '2-D . 2-D', fn: (a, b) => a.matmul(b), inputs: [rnd([2, 3]), rnd([3, 2])] },
    { label: 'batched [2,2,3] . [3,2] (broadcast)', fn: (a, b) => mp.matmul(a, b), inputs: [rnd([2, 2, 3]), rnd([3, 2])] },
    { label: 'batched [2,1,2,3] . [3,3,2] (broadcast batch)', fn: (a, b) => mp.matmul(a, b), inputs: [rnd([2, 1, 2, 3]), rnd([3, 3, 2])] },
    { label: '1-D . 3-D', fn: (a, b) => mp.matmul(a, b), inputs: [rnd([3]), rnd([2, 3, 2])] },
    { label: '3-D . 1-D', fn: (a, b) => mp.matmul(a, b), inputs: [rnd([2, 2, 3]), rnd([3])] },
  ],
  mm: () => ({ fn: (a, b) => mp.mm(a, b), inputs: [rnd([2, 3]), rnd([3, 4])] }),
  bmm: () => ({ fn: (a, b) => mp.bmm(a, b), inputs: [rnd([2, 2, 3]), rnd([2, 3, 2])] }),
  linear: () => [
    { label: 'with bias', fn: (x, w, b) => mp.linear(x, w, b), inputs: [rnd([2, 3]), rnd([4, 3]), rnd([4])] },
    { label: 'without bias', fn: (x, w) => mp.linear(x, w), inputs: [rnd([2, 3]), rnd([4, 3])] },
    { label: '1-D input', fn: (x, w, b) => F.linear(x, w, b), inputs: [rnd([3]), rnd([2, 3]), rnd([2])] },
    { label: '3-D input', fn: (x, w, b) => mp.linear(x, w, b), inputs: [rnd([2, 2, 3]), rnd([2, 3]), rnd([2])] },
  ],
  addmm: () => [
    { label: 'defaults', fn: (i, a, b) => mp.addmm(i, a, b), inputs: [rnd([2, 4]), rnd([2, 3]), rnd([3, 4])] },
    { label: 'alpha 0.5, beta 2', fn: (i, a, b) => mp.addmm(i, a, b, { alpha: 0.5, beta: 2 }), inputs: [rnd([2, 4]), rnd([2, 3]), rnd([3, 4])] },
    { label: 'broadcast input [4], alpha -1', fn: (i, a, b) => mp.addmm(i, a, b, { alpha: -1, beta: 0.3 }), inputs: [rnd([4]), rnd([2, 3]), rnd([3, 4])] },
    { label: 'beta 0', fn: (i, a, b) => mp.addmm(i, a, b, { beta: 0 }), inputs: [rnd([2, 4]), rnd([2, 3]), rnd([3, 4])] },
  ],
  baddbmm: () => [
    { label: 'alpha 1.5, beta 0.5', fn: (i, a, b) => mp.baddbmm(i, a, b, { alpha: 1.5, beta: 0.5 }), inputs: [rnd([2, 2, 2]), rnd([2, 2, 3]), rnd([2, 3, 2])] },
    { label: 'broadcast input [2]', fn: (i, a, b) => mp.baddbmm(i, a, b, { beta: -2 }), inputs: [rnd([2]), rnd([2, 2, 3]), rnd([2, 3, 2])] },
  ],

  sum: () => [
    { label: 'all', fn: (x) => mp.sum(x), inputs: [rnd([2, 3])] },
    { label: 'dim 1', fn: (x) => x.sum({ dim: 1 }), inputs: [rnd([2, 3, 2])] },
    { label: 'dims [0, 2], keepdim', fn: (x) => x.sum({ dim: [0, 2], keepdim: true }), inputs: [rnd([2, 3, 2])] },
    { label: 'negative dim', fn: (x) => x.sum({ dim: -1 }), inputs: [rnd([2, 3])] },
    { label: 'negative dims [-3, -1]', fn: (x) => x.sum({ dim: [-3, -1] }), inputs: [rnd([2, 3, 2])] },
  ],
  mean: () => [
    { label: 'all', fn: (x) => mp.mean(x), inputs: [rnd([2, 3])] },
    { label: 'dim 0, keepdim', fn: (x) => x.mean({ dim: 0, keepdim: true }), inputs: [rnd([2, 3])] },
    { label: 'dims [0, 2]', fn: (x) => x.mean({ dim: [0, 2] }), inputs: [rnd([2, 3, 2])] },
    { label: 'negative dim', fn: (x) => x.mean({ dim: -2 }), inputs: [rnd([2, 3, 2])] },
  ],
  norm: () => [
    { label: 'p 2, all', fn: (x) => mp.norm(x), inputs: [rnd([2, 3])] },
    { label: 'p 1, dim 1', fn: (x) => mp.norm(x, 1, { dim: 1 }), inputs: [rnd([2, 3], { away: 0.1 })] },
    { label: 'p Infinity, negative dim, keepdim', fn: (x) => x.norm(Infinity, { dim: -1, keepdim: true }), inputs: [leaf([0.3, -0.8, 0.5, 1.2, -0.1, 0.9], [2, 3])] },
    { label: 'p 3, dims [0, 2]', fn: (x) => x.norm(3, { dim: [0, 2] }), inputs: [rnd([2, 3, 2], { away: 0.1 })] },
    { label: 'p 0.5, all', fn: (x) => x.norm(0.5), inputs: [rnd([4], { away: 0.2 })] },
    // A zero row: the gradient there is 0, and so is each one-element central difference.
    { label: 'p 2, dim 1, a zero row', fn: (x) => x.norm(2, { dim: 1 }), inputs: [leaf([0.3, -0.8, 0.5, 0, 0, 0], [2, 3])] },
    { label: 'p 1, dim 1, a zero row', fn: (x) => x.norm(1, { dim: 1 }), inputs: [leaf([0.3, -0.8, 0.5, 0, 0, 0], [2, 3])] },
  ],
  prod: () => [
    { label: 'all', fn: (x) => mp.prod(x), inputs: [rnd([2, 3], { away: 0.5, hi: 1.5 })] },
    { label: 'dim 1, keepdim', fn: (x) => x.prod({ dim: 1, keepdim: true }), inputs: [rnd([2, 3], { away: 0.5, hi: 1.5 })] },
    { label: 'negative dim', fn: (x) => x.prod({ dim: -2 }), inputs: [rnd([3, 2], { away: 0.5, hi: 1.5 })] },
    { label: 'all, one zero', fn: (x) => x.prod(), inputs: [leaf([0.7, -1.3, 0, 1.1, 0.9], [5])] },
    { label: 'all, two zeros', fn: (x) => x.prod(), inputs: [leaf([0.7, 0, -1.3, 0, 1.1], [5])] },
    // Row 0: no zero; row 1: one zero; row 2: two zeros.
    { label: 'dim 1, rows with 0, 1 and 2 zeros', fn: (x) => x.prod({ dim: 1 }), inputs: [leaf([0.7, -1.2, 1.1, 0.8, 0, -1.3, 0, 1.4, 0], [3, 3])] },
  ],
  max: () => [
    { label: 'all', fn: (x) => mp.max(x), inputs: [leaf([0.3, -0.8, 1.2, 0.5, -0.1, 0.9], [2, 3])] },
    { label: 'dim 1', fn: (x) => x.max({ dim: 1 }), inputs: [leaf([0.3, -0.8, 1.2, 0.5, -0.1, 0.9], [2, 3])] },
    { label: 'negative dim, keepdim', fn: (x) => x.max({ dim: -2, keepdim: true }), inputs: [leaf([0.3, -0.8, 1.2, 0.5, -0.1, 0.9], [2, 3])] },
  ],
  min: () => [
    { label: 'all', fn: (x) => mp.min(x), inputs: [leaf([0.3, -0.8, 1.2, 0.5, -0.1, 0.9], [2, 3])] },
    { label: 'dim 0', fn: (x) => x.min({ dim: 0 }), inputs: [leaf([0.3, -0.8, 1.2, 0.5, -0.1, 0.9], [2, 3])] },
    { label: 'negative dim, keepdim', fn: (x) => x.min({ dim: -1, keepdim: true }), inputs: [leaf([0.3, -0.8, 1.2, 0.5, -0.1, 0.9], [2, 3])] },
  ],
  logsumexp: () => [
    { label: 'all', fn: (x) => mp.logsumexp(x), inputs: [rnd([2, 3], { lo: -2, hi: 2 })] },
    { label: 'dim 1', fn: (x) => x.logsumexp({ dim: 1 }), inputs: [rnd([2, 3], { lo: -2, hi: 2 })] },
    { label: 'negative dim, keepdim', fn: (x) => x.logsumexp({ dim: -3, keepdim: true }), inputs: [rnd([2, 3, 2], { lo: -2, hi: 2 })] },
  ],
  var: () => [
    { label: 'all (correction 1)', fn: (x) => mp.variance(x), inputs: [rnd([2, 3])] },
    { label: 'dim 1, correction 0', fn: (x) => x.var({ dim: 1, correction: 0 }), inputs: [rnd([2, 4])] },
    { label: 'dim -1, correction 2, keepdim', fn: (x) => x.var({ dim: -1, correction: 2, keepdim: true }), inputs: [rnd([2, 4])] },
    { label: 'dim 0 of 3-D', fn: (x) => x.var({ dim: 0 }), inputs: [rnd([3, 2, 2])] },
  ],
  std: () => [
    { label: 'all (correction 1)', fn: (x) => mp.std(x), inputs: [rnd([2, 3])] },
    { label: 'dim 1, correction 0', fn: (x) => x.std({ dim: 1, correction: 0 }), inputs: [rnd([2, 4])] },
    { label: 'dim -2, correction 2, keepdim', fn: (x) => x.std({ dim: -2, correction: 2, keepdim: true }), inputs: [rnd([4, 2])] },
  ],
  softmax: () => [
    { label: 'dim 1', fn: (x) => mp.softmax(x, 1), inputs: [rnd([2, 3], { lo: -2, hi: 2 })] },
    { label: 'dim -1 of 3-D', fn: (x) => x.softmax(-1), inputs: [rnd([2, 2, 3], { lo: -2, hi: 2 })] },
    { label: 'dim 0', fn: (x) => x.softmax(0), inputs: [rnd([3, 2], { lo: -2, hi: 2 })] },
  ],
  logSoftmax: () => [
    { label: 'dim 1', fn: (x) => mp.logSoftmax(x, 1), inputs: [rnd([2, 3], { lo: -2, hi: 2 })] },
    { label: 'dim -2 of 3-D', fn: (x) => x.logSoftmax(-2), inputs: [rnd([2, 3, 2], { lo: -2, hi: 2 })] },
  ],

  where: () => [
    {
      label: 'both branches tensors, broadcast',
      fn: (a, b) => mp.where(bools([true, false, false, true, true, false], [2, 3]), a, b),
      inputs: [rnd([2, 3]), rnd([3])],
    },
    { label: 'broadcast condition [3,1]', fn: (a, b) => mp.where(bools([true, false, true], [3, 1]), a, b), inputs: [rnd([1, 2]), rnd([3, 2])] },
    { label: 'scalar other', fn: (a) => mp.where(bools([false, true, true]), a, 0.5), inputs: [rnd([3])] },
    { label: 'scalar input', fn: (b) => mp.where(bools([false, true, true]), -2, b), inputs: [rnd([3])] },
  ],
  gather: () => [
    { label: 'dim 1 with repeats', fn: (x) => mp.gather(x, 1, ints([0, 0, 3, 1, 2, 2], [3, 2])), inputs: [rnd([3, 4])] },
    { label: 'dim 0, index smaller than input', fn: (x) => x.gather(0, ints([2, 0, 2, 1], [2, 2])), inputs: [rnd([3, 4])] },
    { label: 'negative dim', fn: (x) => x.gather(-1, ints([1, 1, 0], [3, 1])), inputs: [rnd([3, 2])] },
  ],
  scatterAdd: () => [
    {
      label: 'dim 0 with repeats, src larger than index',
      fn: (i, s) => mp.scatterAdd(i, 0, ints([0, 2, 0, 1, 0, 0], [2, 3]), s),
      inputs: [rnd([3, 4]), rnd([3, 4])],
    },
    { label: 'dim 1', fn: (i, s) => i.scatterAdd(1, ints([1, 1, 0, 2], [2, 2]), s), inputs: [rnd([2, 3]), rnd([2, 2])] },
    { label: 'negative dim, constant input', fn: (i, s) => i.scatterAdd(-1, ints([2, 0], [1, 2]), s), inputs: [rnd([2, 3], { grad: false }), rnd([1, 3])] },
  ],
  indexSelect: () => [
    { label: 'dim 0 with repeats', fn: (x) => mp.indexSelect(x, 0, ints([2, 0, 2])), inputs: [rnd([4, 3])] },
    { label: 'negative dim', fn: (x) => x.indexSelect(-1, ints([1, 1, 0, 2])), inputs: [rnd([2, 3])] },
    { label: '0-d index', fn: (x) => x.indexSelect(1, mp.tensor(new Int32Array([2]), { shape: [] })), inputs: [rnd([2, 3])] },
  ],
  indexAdd: () => [
    { label: 'dim 0 with repeats', fn: (i, s) => mp.indexAdd(i, 0, ints([1, 3, 1]), s), inputs: [rnd([4, 3]), rnd([3, 3])] },
    { label: 'dim 1', fn: (i, s) => i.indexAdd(1, ints([2, 0]), s), inputs: [rnd([2, 3]), rnd([2, 2])] },
    { label: 'negative dim', fn: (i, s) => i.indexAdd(-2, ints([0, 0]), s), inputs: [rnd([2, 2]), rnd([2, 2])] },
  ],
  unfold: () => [
    { label: '2x2 kernel', fn: (x) => mp.unfold(x, [2, 2]), inputs: [rnd([1, 2, 3, 3])] },
    { label: 'stride 2, padding 1, dilation 2', fn: (x) => mp.unfold(x, [2, 2], { stride: 2, padding: 1, dilation: 2 }), inputs: [rnd([2, 1, 4, 4])] },
    { label: '3-D input, rectangular kernel', fn: (x) => mp.unfold(x, [1, 2], { stride: [1, 2], padding: [0, 1] }), inputs: [rnd([2, 2, 3])] },
  ],
  fold: () => [
    { label: '2x2 kernel into 3x3', fn: (x) => mp.fold(x, [3, 3], [2, 2]), inputs: [rnd([1, 8, 4])] },
    { label: 'stride 2, padding 1, dilation 2', fn: (x) => mp.fold(x, [4, 4], [2, 2], { stride: 2, padding: 1, dilation: 2 }), inputs: [rnd([1, 4, 4])] },
    { label: '2-D input', fn: (x) => mp.fold(x, [2, 3], [1, 2], { stride: [1, 1] }), inputs: [rnd([2, 4])] },
  ],

  conv2d: () => [
    { label: '3x3, padding 1, bias', fn: (x, w, b) => F.conv2d(x, w, b, { padding: 1 }), inputs: [rnd([1, 2, 3, 3]), rnd([2, 2, 3, 3]), rnd([2])] },
    { label: 'stride 2, dilation 2, no bias', fn: (x, w) => F.conv2d(x, w, undefined, { stride: 2, dilation: 2 }), inputs: [rnd([2, 1, 5, 5]), rnd([2, 1, 2, 2])] },
    { label: 'groups 2, bias', fn: (x, w, b) => F.conv2d(x, w, b, { groups: 2 }), inputs: [rnd([1, 4, 3, 3]), rnd([4, 2, 2, 2]), rnd([4])] },
    {
      label: 'rectangular stride/padding pairs',
      fn: (x, w, b) => F.conv2d(x, w, b, { stride: [1, 2], padding: [1, 0] }),
      inputs: [rnd([1, 1, 3, 4]), rnd([2, 1, 2, 2]), rnd([2])],
    },
  ],
  maxPool2d: () => [
    { label: 'kernel 2', fn: (x) => F.maxPool2d(x, 2), inputs: [rnd([1, 2, 4, 4])] },
    { label: 'kernel 3, stride 2, padding 1', fn: (x) => F.maxPool2d(x, 3, { stride: 2, padding: 1 }), inputs: [rnd([1, 1, 5, 5])] },
    { label: 'dilation 2, stride 1', fn: (x) => F.maxPool2d(x, 2, { stride: 1, dilation: 2 }), inputs: [rnd([1, 1, 4, 4])] },
  ],
  avgPool2d: () => [
    { label: 'kernel 2', fn: (x) => F.avgPool2d(x, 2), inputs: [rnd([1, 2, 4, 4])] },
    { label: 'kernel 3, stride 2, padding 1, countIncludePad', fn: (x) => F.avgPool2d(x, 3, { stride: 2, padding: 1 }), inputs: [rnd([1, 1, 5, 5])] },
    { label: 'kernel 3, stride 2, padding 1, countIncludePad false', fn: (x) => F.avgPool2d(x, 3, { stride: 2, padding: 1, countIncludePad: false }), inputs: [rnd([1, 1, 5, 5])] },
    { label: 'rectangular kernel', fn: (x) => F.avgPool2d(x, [2, 1], { stride: [1, 1], padding: [1, 0], countIncludePad: false }), inputs: [rnd([1, 1, 3, 2])] },
  ],
  adaptiveAvgPool2d: () => [
    { label: '[5,7] -> [3,4] (non-divisible)', fn: (x) => F.adaptiveAvgPool2d(x, [3, 4]), inputs: [rnd([1, 1, 5, 7])] },
    { label: 'number 2', fn: (x) => F.adaptiveAvgPool2d(x, 2), inputs: [rnd([2, 1, 3, 3])] },
    { label: '[null, 1]', fn: (x) => F.adaptiveAvgPool2d(x, [null, 1]), inputs: [rnd([1, 2, 2, 3])] },
  ],
  batchNorm: () => {
    const rm = () => constant([0.1, -0.2, 0.3]);
    const rv = () => constant([0.8, 1.3, 0.6]);
    const runMean = rm();
    const runVar = rv();
    return [
      {
        label: 'training, running stats, affine, [4,3]',
        fn: (x, w, b) => F.batchNorm(x, runMean, runVar, w, b, { training: true, momentum: 0.2 }),
        inputs: [rnd([4, 3]), rnd([3]), rnd([3])],
      },
      { label: 'training, no running stats, [2,3,2,2]', fn: (x, w, b) => F.batchNorm(x, undefined, undefined, w, b, { training: true }), inputs: [rnd([2, 3, 2, 2]), rnd([3]), rnd([3])] },
      { label: 'training, no affine, eps 0.1', fn: (x) => F.batchNorm(x, undefined, undefined, undefined, undefined, { training: true, eps: 0.1 }), inputs: [rnd([3, 3, 2])] },
      { label: 'eval, affine', fn: (x, w, b) => F.batchNorm(x, rm(), rv(), w, b), inputs: [rnd([2, 3, 2]), rnd([3]), rnd([3])] },
      { label: 'eval, no affine', fn: (x) => F.batchNorm(x, rm(), rv(), undefined, undefined, { training: false }), inputs: [rnd([2, 3])] },
    ];
  },
  layerNorm: () => [
    { label: 'last dim, affine', fn: (x, w, b) => F.layerNorm(x, [4], w, b), inputs: [rnd([2, 3, 4]), rnd([4]), rnd([4])] },
    { label: 'last two dims, weight only', fn: (x, w) => F.layerNorm(x, [2, 3], w), inputs: [rnd([2, 2, 3]), rnd([2, 3])] },
    { label: 'no affine, eps 0.01', fn: (x) => F.layerNorm(x, [3], undefined, undefined, 0.01), inputs: [rnd([2, 3])] },
  ],
  // The fused kernel under layerNorm / rmsNorm, called directly: [y, mean, rstd] with y checked.
  normRows: () => [
    { label: 'layer, affine', fn: (x, w, b) => normRows(x, w, b, { rms: false, eps: 1e-5 })[0], inputs: [rnd([3, 5]), rnd([5]), rnd([5])] },
    { label: 'rms, weight', fn: (x, w) => normRows(x, w, undefined, { rms: true, eps: 1e-5 })[0], inputs: [rnd([2, 4]), rnd([4])] },
    { label: 'layer, bias only, row of 1', fn: (x, b) => normRows(x, undefined, b, { rms: false, eps: 0.1 })[0], inputs: [rnd([3, 1]), rnd([1])] },
  ],
  rmsNorm: () => [
    { label: 'last dim, weight', fn: (x, w) => F.rmsNorm(x, [4], w), inputs: [rnd([2, 3, 4]), rnd([4])] },
    { label: 'last two dims, no weight, eps 0.01', fn: (x) => F.rmsNorm(x, [2, 3], undefined, 0.01), inputs: [rnd([2, 2, 3])] },
  ],
  biasGelu: () => [
    { label: "approximate 'none'", fn: (x, b) => F.biasGelu(x, b), inputs: [rnd([3, 4], { lo: -3, hi: 3 }), rnd([4])] },
    { label: "approximate 'tanh', 3-d", fn: (x, b) => F.biasGelu(x, b, { approximate: 'tanh' }), inputs: [rnd([2, 2, 3], { lo: -3, hi: 3 }), rnd([3])] },
  ],
  crossEntropyRows: () => [
    { label: 'plain', fn: (x) => crossEntropyRows(x, ints([2, 0, 3]), { ignoreIndex: -100, labelSmoothing: 0 })[0], inputs: [rnd([3, 4], { lo: -2, hi: 2 })] },
    { label: 'ignored row, smoothing 0.2', fn: (x) => crossEntropyRows(x, ints([2, 7, 3]), { ignoreIndex: 7, labelSmoothing: 0.2 })[0], inputs: [rnd([3, 4], { lo: -2, hi: 2 })] },
  ],
  groupNorm: () => [
    { label: '2 groups, affine', fn: (x, w, b) => F.groupNorm(x, 2, w, b), inputs: [rnd([2, 4, 2]), rnd([4]), rnd([4])] },
    { label: '1 group, [1,2,2,2]', fn: (x, w, b) => F.groupNorm(x, 1, w, b), inputs: [rnd([1, 2, 2, 2]), rnd([2]), rnd([2])] },
    { label: 'one channel per group, no affine', fn: (x) => F.groupNorm(x, 3, undefined, undefined, 0.01), inputs: [rnd([2, 3, 3])] },
  ],
  dropout: () => [
    { label: 'p 0, training', fn: (x) => F.dropout(x, 0, true), inputs: [rnd([2, 3])] },
    { label: 'p 0.5, not training', fn: (x) => F.dropout(x, 0.5, false), inputs: [rnd([2, 3])] },
    {
      // Reseeded on every call, so every evaluation sees the same mask.
      label: 'p 0.4, training, seeded',
      fn: (x) => {
        mp.manualSeed(11);
        return F.dropout(x, 0.4, true);
      },
      inputs: [rnd([3, 4])],
    },
    { label: 'p 1', fn: (x) => F.dropout(x, 1, true).add(x), inputs: [rnd([3])] },
  ],
  embedding: () => [
    { label: '[2,3] indices with repeats', fn: (w) => F.embedding(ints([1, 4, 1, 0, 2, 4], [2, 3]), w), inputs: [rnd([5, 2])] },
    // paddingIdx rows deliberately get no gradient (PyTorch's rule, not the derivative): the
    // padding row is a constant here, so the check covers the other rows on the padding path.
    {
      label: 'paddingIdx (present in the indices)',
      fn: (w) => F.embedding(ints([1, 3, 1, 0]), mp.cat([w.slice(0, 0, 1), constant([0.3, -0.2, 0.5], [1, 3]), w.slice(0, 1)]), { paddingIdx: 1 }),
      inputs: [rnd([3, 3])],
    },
  ],

  mseLoss: () => reductions.map((reduction) => ({ label: reduction, fn: (x, y) => F.mseLoss(x, y, { reduction }), inputs: [rnd([2, 3]), rnd([2, 3])] })),
  l1Loss: () => {
    const target = [0.5, -0.5, 0.2, 0.9, -0.7, 0];
    const input = target.map((t, i) => t + (i % 2 === 0 ? 0.3 : -0.4));
    return reductions.map((reduction) => ({ label: reduction, fn: (x, y) => F.l1Loss(x, y, { reduction }), inputs: [leaf(input, [2, 3]), leaf(target, [2, 3])] }));
  },
  smoothL1Loss: () => {
    // |input - target| is 0.3, 1.6, 0.45, 0.7, 1.2, 0.15: both sides of beta 1 and beta 0.5, none near them.
    const target = [0.5, -0.5, 0.2, 0.9, -0.7, 0];
    const input = [0.8, 1.1, -0.25, 0.2, 0.5, -0.15];
    const out: Case[] = [];
    for (const reduction of reductions) {
      out.push({ label: `${reduction}, default beta`, fn: (x, y) => F.smoothL1Loss(x, y, { reduction }), inputs: [leaf(input, [2, 3]), leaf(target, [2, 3])] });
    }
    out.push({ label: 'beta 0.5', fn: (x, y) => F.smoothL1Loss(x, y, { beta: 0.5, reduction: 'none' }), inputs: [leaf(input, [2, 3]), leaf(target, [2, 3])] });
    out.push({ label: 'beta 0 (l1)', fn: (x, y) => F.smoothL1Loss(x, y, { beta: 0, reduction: 'sum' }), inputs: [leaf(input, [2, 3]), leaf(target, [2, 3])] });
    return out;
  },
  binaryCrossEntropy: () => {
    const out: Case[] = reductions.map((reduction) => ({
      label: reduction,
      fn: (p, y) => F.binaryCrossEntropy(p, y, { reduction }),
      inputs: [rnd([2, 3], { lo: 0.1, hi: 0.9 }), rnd([2, 3], { lo: 0, hi: 1 })],
    }));
    const weight = rnd([3], { lo: 0.5, hi: 2, grad: false });
    out.push({ label: 'weight, mean', fn: (p, y) => F.binaryCrossEntropy(p, y, { weight }), inputs: [rnd([2, 3], { lo: 0.1, hi: 0.9 }), rnd([2, 3], { lo: 0, hi: 1, grad: false })] });
    return out;
  },
  binaryCrossEntropyWithLogits: () => {
    const out: Case[] = reductions.map((reduction) => ({
      label: reduction,
      fn: (x, y) => F.binaryCrossEntropyWithLogits(x, y, { reduction }),
      inputs: [rnd([2, 3], { lo: -3, hi: 3, away: 0.1 }), rnd([2, 3], { lo: 0, hi: 1 })],
    }));
    const posWeight = rnd([3], { lo: 0.5, hi: 3, grad: false });
    const weight = rnd([2, 1], { lo: 0.5, hi: 2, grad: false });
    out.push({ label: 'posWeight, sum', fn: (x, y) => F.binaryCrossEntropyWithLogits(x, y, { posWeight, reduction: 'sum' }), inputs: [rnd([2, 3], { lo: -3, hi: 3, away: 0.1 }), rnd([2, 3], { lo: 0, hi: 1 })] });
    out.push({ label: 'posWeight and weight, mean', fn: (x, y) => F.binaryCrossEntropyWithLogits(x, y, { posWeight, weight }), inputs: [rnd([2, 3], { lo: -3, hi: 3, away: 0.1 }), rnd([2, 3], { lo: 0, hi: 1, grad: false })] });
    return out;
  },
  nllLoss: () => {
    const target = ints([2, 0, 3]);
    const weight = constant([0.5, 2, 1, 1.5]);
    const out: Case[] = reductions.map((reduction) => ({ label: reduction, fn: (x) => F.nllLoss(x, target, { reduction }), inputs: [rnd([3, 4], { lo: -3, hi: 0 })] }));
    out.push({ label: 'weight, mean', fn: (x) => F.nllLoss(x, target, { weight }), inputs: [rnd([3, 4], { lo: -3, hi: 0 })] });
    out.push({ label: 'ignoreIndex, mean', fn: (x) => F.nllLoss(x, ints([2, 1, 3]), { ignoreIndex: 1 }), inputs: [rnd([3, 4], { lo: -3, hi: 0 })] });
    out.push({ label: 'ignoreIndex and weight, none', fn: (x) => F.nllLoss(x, ints([2, -100, 3]), { weight, reduction: 'none' }), inputs: [rnd([3, 4], { lo: -3, hi: 0 })] });
    out.push({ label: 'spatial [2,3,2]', fn: (x) => F.nllLoss(x, ints([0, 2, 1, 1], [2, 2])), inputs: [rnd([2, 3, 2], { lo: -3, hi: 0 })] });
    out.push({ label: '1-D input, 0-d target', fn: (x) => F.nllLoss(x, mp.tensor(new Int32Array([1]), { shape: [] })), inputs: [rnd([3], { lo: -3, hi: 0 })] });
    return out;
  },
  crossEntropy: () => {
    const target = ints([2, 0, 3]);
    const weight = constant([0.5, 2, 1, 1.5]);
    const out: Case[] = reductions.map((reduction) => ({ label: reduction, fn: (x) => F.crossEntropy(x, target, { reduction }), inputs: [rnd([3, 4], { lo: -2, hi: 2 })] }));
    out.push({ label: 'weight, mean', fn: (x) => F.crossEntropy(x, target, { weight }), inputs: [rnd([3, 4], { lo: -2, hi: 2 })] });
    out.push({ label: 'ignoreIndex, mean', fn: (x) => F.crossEntropy(x, ints([2, 1, 3]), { ignoreIndex: 1 }), inputs: [rnd([3, 4], { lo: -2, hi: 2 })] });
    for (const reduction of reductions) {
      out.push({ label: `labelSmoothing 0.2, ${reduction}`, fn: (x) => F.crossEntropy(x, target, { labelSmoothing: 0.2, reduction }), inputs: [rnd([3, 4], { lo: -2, hi: 2 })] });
    }
    out.push({
      label: 'labelSmoothing, weight and ignoreIndex, mean',
      fn: (x) => F.crossEntropy(x, ints([2, -100, 3]), { labelSmoothing: 0.1, weight }),
      inputs: [rnd([3, 4], { lo: -2, hi: 2 })],
    });
    out.push({ label: 'spatial [2,3,2], labelSmoothing', fn: (x) => F.crossEntropy(x, ints([0, 2, 1, 1], [2, 2]), { labelSmoothing: 0.3 }), inputs: [rnd([2, 3, 2], { lo: -2, hi: 2 })] });
    return out;
  },
  klDiv: () => {
    const out: Case[] = [];
    for (const reduction of [...reductions, 'batchmean'] as const) {
      out.push({ label: `${reduction}`, fn: (x, t) => F.klDiv(x, t, { reduction }), inputs: [probs(2, 3, true).log().detach().requiresGrad_(), probs(2, 3, true)] });
      out.push({
        label: `${reduction}, logTarget`,
        fn: (x, t) => F.klDiv(x, t, { reduction, logTarget: true }),
        inputs: [rnd([2, 3], { lo: -2, hi: -0.5 }), rnd([2, 3], { lo: -2, hi: -0.5 })],
      });
    }
    return out;
  },
  scaledDotProductAttention: () => {
    const mask = bools([true, false, true, true, true, true, false, true, false, true, true, true], [3, 4]);
    const additive = constant(values([4]), [1, 4]);
    const args = (): T[] => [rnd([2, 3, 2]), rnd([2, 4, 2]), rnd([2, 4, 3])];
    return [
      { label: 'plain', fn: (q, k, v) => F.scaledDotProductAttention(q, k, v), inputs: args() },
      { label: 'bool mask', fn: (q, k, v) => F.scaledDotProductAttention(q, k, v, { attnMask: mask }), inputs: args() },
      { label: 'additive mask', fn: (q, k, v) => F.scaledDotProductAttention(q, k, v, { attnMask: additive }), inputs: args() },
      { label: 'causal, scale', fn: (q, k, v) => F.scaledDotProductAttention(q, k, v, { isCausal: true, scale: 0.8 }), inputs: args() },
    ];
  },
  conv2dFused: () => {
    const call = (x: T, w: T, b: T | undefined, groups: number, windowOptions: { stride?: number; padding?: number; dilation?: number }) =>
      conv2dFused(x, w, b, { kernel: [w.shape[2], w.shape[3]], window: windowOf('conv2d', [w.shape[2], w.shape[3]], windowOptions, x.shape[2], x.shape[3]), windowOptions, groups });
    return [
      { label: 'padding 1, bias', fn: (x, w, b) => call(x, w, b, 1, { padding: 1 }), inputs: [rnd([2, 2, 3, 3]), rnd([3, 2, 2, 2]), rnd([3])] },
      { label: 'stride 2, dilation 2, groups 2', fn: (x, w) => call(x, w, undefined, 2, { stride: 2, dilation: 2 }), inputs: [rnd([3, 2, 5, 5]), rnd([2, 1, 2, 2])] },
    ];
  },
  maxPool2dFused: () => {
    const call = (x: T, k: number, windowOptions: { stride?: number; padding?: number; dilation?: number }) =>
      maxPool2dFused(x, { kernel: [k, k], window: windowOf('maxPool2d', [k, k], windowOptions, x.shape[2], x.shape[3]), windowOptions })[0];
    return [
      { label: 'kernel 2', fn: (x) => call(x, 2, { stride: 2 }), inputs: [rnd([1, 2, 4, 4])] },
      { label: 'kernel 3, stride 2, padding 1 (overlapping)', fn: (x) => call(x, 3, { stride: 2, padding: 1 }), inputs: [rnd([1, 1, 5, 5])] },
    ];
  },
  flashAttention: () => {
    const params = { heads: 1, scale: 0.5, causal: true, maskKind: 0 as const, maskStrides: [0, 0, 0, 0], dropoutP: 0, seed: 0n, offset: 0n };
    return { fn: (q, k, v) => flashAttention(q, k, v, undefined, params)[0], inputs: [rnd([2, 3, 2]), rnd([2, 3, 2]), rnd([2, 3, 1])] };
  },
};

// ---- running ----------------------------------------------------------------------------

function asList(c: Case | Case[]): Case[] {
  return Array.isArray(c) ? c : [c];
}

/** Runs every case of `op`, collecting failures so one bad case does not hide the others. */
function runCases(op: string): { count: number; failures: string[] } {
  seedRng(hash(op));
  return mp.tidy(() => {
    const list = asList(cases[op]());
    const failures: string[] = [];
    list.forEach((c, i) => {
      const label = c.label ?? `case ${i}`;
      try {
        mp.tidy(() => mp.autograd.gradcheck(c.fn, c.inputs, c.eps === undefined ? undefined : { eps: c.eps }));
      } catch (e) {
        failures.push(`${op} [${label}]: ${(e as Error).message}`);
      }
    });
    return { count: list.length, failures };
  });
}

describe('gradcheck of every differentiable registry op', () => {
  test('the table covers every primitive and composite op, and only those', () => {
    const ops = mp.registeredOps();
    const differentiable = ops.filter((o) => o.kind === 'primitive' || o.kind === 'composite').map((o) => o.name);
    const nondifferentiable = ops.filter((o) => o.kind === 'nondifferentiable').map((o) => o.name);
    expect(differentiable.filter((name) => !(name in cases))).toEqual([]);
    expect(Object.keys(cases).filter((name) => !differentiable.includes(name))).toEqual([]);
    // Comparisons and arg-reductions are skipped; make sure they are the expected kind.
    expect(nondifferentiable).toEqual(expect.arrayContaining(['eq', 'argmax']));
  });

  test.each(Object.keys(cases))('%s', (op) => {
    const { count, failures } = runCases(op);
    expect(count).toBeGreaterThan(0);
    if (failures.length > 0) throw new Error(failures.join('\n'));
  });
});

test('embedding: paddingIdx rows get no gradient, the others their counts', () => {
  seedRng(hash('embedding paddingIdx'));
  mp.tidy(() => {
    const w = rnd([4, 2]);
    const out = F.embedding(ints([1, 3, 1, 0]), w, { paddingIdx: 1 });
    expect(out.toArray()).toEqual(mp.indexSelect(w.detach(), 0, ints([1, 3, 1, 0])).toArray());
    out.sum().backward();
    expect(w.grad!.toArray()).toEqual([[1, 1], [0, 0], [0, 0], [1, 1]]);
    w.grad!.dispose();
  });
});

// ---- second derivatives -----------------------------------------------------------------

/**
 * x => the gradients of f at x, kept differentiable (createGraph): the function whose gradcheck
 * checks second derivatives. gradcheck evaluates it under noGrad on fresh (non-requiring) copies
 * for its finite differences, so it re-enables recording and turns the differentiated positions
 * into leaves that require grad.
 */
function gradsOf(f: (...xs: T[]) => T, inputs: T[]): (...xs: T[]) => T[] {
  const wrt = inputs.map((x, i) => (x.requiresGrad ? i : -1)).filter((i) => i >= 0);
  return (...xs) =>
    mp.enableGrad(() => {
      const args = xs.map((x, i) => (wrt.includes(i) && !x.requiresGrad ? x.detach().requiresGrad_() : x));
      const grads = mp.autograd.grad(f(...args), wrt.map((i) => args[i]), { createGraph: true, allowUnused: true });
      return grads.filter((g): g is T => g !== undefined);
    });
}

/** A fixed weighting, so a sum of outputs has distinct coefficients. */
const weights = (shape: number[]): T => rnd(shape, { lo: 0.5, hi: 1.5, grad: false });

const doubleCases: Record<string, () => Case[]> = {
  'matmul / mm': () => {
    const c = weights([2, 2]);
    return [
      { label: 'sum(c * (a @ b)^2)', fn: (a, b) => mp.matmul(a, b).pow(2).mul(c).sum(), inputs: [rnd([2, 3]), rnd([3, 2])] },
      { label: 'batched broadcast', fn: (a, b) => mp.matmul(a, b).pow(2).sum(), inputs: [rnd([2, 2, 3]), rnd([3, 2])] },
      { label: 'vector . matrix', fn: (a, b) => mp.matmul(a, b).tanh().sum(), inputs: [rnd([3]), rnd([3, 2])] },
    ];
  },
  linear: () => {
    const c = weights([2, 4]);
    return [
      { label: 'with bias', fn: (x, w, b) => mp.linear(x, w, b).pow(2).mul(c).sum(), inputs: [rnd([2, 3]), rnd([4, 3]), rnd([4])] },
      { label: 'without bias', fn: (x, w) => mp.linear(x, w).tanh().sum(), inputs: [rnd([2, 3]), rnd([2, 3])] },
    ];
  },
  'add / sub / mul / div': () => {
    const c = weights([2, 3]);
    return [
      { label: 'sum(c * a * b), broadcast', fn: (a, b) => a.mul(b).mul(c).sum(), inputs: [rnd([2, 3]), rnd([3])] },
      { label: 'sum(c * a / b), broadcast', fn: (a, b) => a.div(b).mul(c).sum(), inputs: [rnd([2, 3]), rnd([3], { away: 0.5, hi: 2 })] },
      { label: 'sum((a + b)^2 - (a - b)^3)', fn: (a, b) => a.add(b).pow(2).sub(a.sub(b).pow(3)).sum(), inputs: [rnd([2, 3]), rnd([2, 3])] },
      { label: 'scalar operands: sum(2 / a + a * 3 - 1)', fn: (a) => mp.div(2, a).add(a.mul(a).mul(3)).sub(1).sum(), inputs: [rnd([3], { away: 0.5, hi: 2 })] },
    ];
  },
  activations: () => {
    const acts: [string, (x: T) => T, RandOptions][] = [
      ['tanh', (x) => x.tanh(), { lo: -2, hi: 2 }],
      ['sigmoid', (x) => x.sigmoid(), { lo: -3, hi: 3 }],
      ['relu', (x) => x.relu(), { away: 0.1 }],
      ['gelu', (x) => x.gelu(), { lo: -3, hi: 3 }],
      ['gelu tanh', (x) => x.gelu({ approximate: 'tanh' }), { lo: -3, hi: 3 }],
      ['silu', (x) => x.silu(), { lo: -3, hi: 3 }],
      ['softplus', (x) => x.softplus(), { lo: -3, hi: 3 }],
      ['exp', (x) => x.exp(), {}],
      ['log', (x) => x.log(), { lo: 0.3, hi: 2 }],
    ];
    // sum(c * act(x)) needs act''; the squared term keeps a graph for piecewise-linear relu.
    const c = weights([2, 3]);
    return acts.map(([label, act, o]) => ({ label, fn: (x: T) => act(x).mul(c).add(act(x).pow(2)).sum(), inputs: [rnd([2, 3], o)] }));
  },
  'sum / mean': () => [
    { label: 'sum over dim, squared', fn: (x) => x.sum({ dim: 1 }).pow(2).sum(), inputs: [rnd([2, 3])] },
    { label: 'mean keepdim, times x', fn: (x) => x.mean({ dim: 0, keepdim: true }).mul(x).sum(), inputs: [rnd([2, 3])] },
    { label: 'mean of all, cubed', fn: (x) => x.mean().pow(3), inputs: [rnd([2, 2])] },
  ],
  pow: () => [
    { label: 'x ** 3', fn: (x) => x.pow(3).sum(), inputs: [rnd([3], { away: 0.2 })] },
    { label: 'x ** 2.5', fn: (x) => x.pow(2.5).sum(), inputs: [pos([3])] },
    { label: '2 ** x', fn: (x) => mp.pow(2, x).sum(), inputs: [rnd([3])] },
    { label: 'a ** b, broadcast', fn: (a, b) => a.pow(b).sum(), inputs: [pos([2, 3]), rnd([3])] },
  ],
  'fused norms, biasGelu, crossEntropy (composed backward under createGraph)': () => {
    const c = weights([2, 3]);
    return [
      { label: 'layerNorm, affine', fn: (x, w, b) => F.layerNorm(x, [3], w, b).mul(c).pow(2).sum(), inputs: [rnd([2, 3]), rnd([3]), rnd([3])] },
      { label: 'rmsNorm, weight', fn: (x, w) => F.rmsNorm(x, [3], w).mul(c).pow(2).sum(), inputs: [rnd([2, 3]), rnd([3])] },
      { label: 'biasGelu tanh', fn: (x, b) => F.biasGelu(x, b, { approximate: 'tanh' }).mul(c).sum(), inputs: [rnd([2, 3], { lo: -2, hi: 2 }), rnd([3])] },
      { label: 'gelu', fn: (x) => mp.gelu(x).mul(c).sum(), inputs: [rnd([2, 3], { lo: -2, hi: 2 })] },
      { label: 'crossEntropy, smoothing', fn: (x) => F.crossEntropy(x, ints([2, 0]), { labelSmoothing: 0.1 }), inputs: [rnd([2, 3], { lo: -2, hi: 2 })] },
    ];
  },
  mseLoss: () => [
    { label: 'mean', fn: (x, y) => F.mseLoss(x.tanh(), y), inputs: [rnd([2, 3]), rnd([2, 3])] },
    { label: 'sum', fn: (x, y) => F.mseLoss(x, y, { reduction: 'sum' }).pow(2), inputs: [rnd([2, 3]), rnd([2, 3])] },
  ],
};

describe('second derivatives (gradcheck of createGraph gradients)', () => {
  test.each(Object.keys(doubleCases))('%s', (name) => {
    seedRng(hash(`double ${name}`));
    const failures = mp.tidy(() => {
      const out: string[] = [];
      for (const c of doubleCases[name]()) {
        try {
          mp.tidy(() => mp.autograd.gradcheck(gradsOf(c.fn as (...xs: T[]) => T, c.inputs), c.inputs));
        } catch (e) {
          out.push(`${name} [${c.label}]: ${(e as Error).message}`);
        }
      }
      return out;
    });
    if (failures.length > 0) throw new Error(failures.join('\n'));
  });
});

// ---- gradient penalty -------------------------------------------------------------------

describe('gradient penalty on a small MLP (linear-tanh-linear, float64)', () => {
  const nIn = 3;
  const nHidden = 4;
  const nOut = 2;
  const batch = 3;
  const lambda = 0.7;

  /** The loss in plain JS: mse(f(x), y) + lambda * ||d mse / d x||^2, with the input gradient by hand. */
  function jsLoss(x: number[], y: number[], w1: number[], b1: number[], w2: number[], b2: number[]): number {
    const count = batch * nOut;
    let mse = 0;
    let penalty = 0;
    for (let n = 0; n < batch; ++n) {
      const h: number[] = [];
      for (let j = 0; j < nHidden; ++j) {
        let s = b1[j];
        for (let i = 0; i < nIn; ++i) s += w1[j * nIn + i] * x[n * nIn + i];
        h.push(Math.tanh(s));
      }
      const dOut: number[] = [];
      for (let k = 0; k < nOut; ++k) {
        let s = b2[k];
        for (let j = 0; j < nHidden; ++j) s += w2[k * nHidden + j] * h[j];
        const d = s - y[n * nOut + k];
        mse += (d * d) / count;
        dOut.push((2 * d) / count);
      }
      // d mse / d x = W1^T [(1 - h^2) * (W2^T dOut)]
      const dPre = h.map((hj, j) => {
        let s = 0;
        for (let k = 0; k < nOut; ++k) s += w2[k * nHidden + j] * dOut[k];
        return s * (1 - hj * hj);
      });
      for (let i = 0; i < nIn; ++i) {
        let s = 0;
        for (let j = 0; j < nHidden; ++j) s += w1[j * nIn + i] * dPre[j];
        penalty += s * s;
      }
    }
    return mse + lambda * penalty;
  }

  test('backward through the createGraph input gradient matches central differences', () => {
    seedRng(2024);
    const x = values([batch, nIn]);
    const y = values([batch, nOut]);
    const params = [values([nHidden, nIn]), values([nHidden]), values([nOut, nHidden]), values([nOut])];
    const shapes = [[nHidden, nIn], [nHidden], [nOut, nHidden], [nOut]];
    const { loss, grads } = mp.tidy(() => {
      const xt = leaf(x, [batch, nIn]);
      const yt = constant(y, [batch, nOut]);
      const [w1, b1, w2, b2] = params.map((p, i) => leaf(p, shapes[i]));
      const pred = mp.linear(mp.linear(xt, w1, b1).tanh(), w2, b2);
      const mse = F.mseLoss(pred, yt);
      const [dx] = mp.autograd.grad(mse, xt, { createGraph: true });
      const total = mse.add(dx!.pow(2).sum().mul(lambda));
      total.backward();
      const out = { loss: total.item() as number, grads: [w1, b1, w2, b2].map((w) => Array.from(w.grad!.dataSync())) };
      for (const w of [xt, w1, b1, w2, b2]) w.grad?.dispose();
      return out;
    });
    const f = (ps: number[][]) => jsLoss(x, y, ps[0], ps[1], ps[2], ps[3]);
    expect(loss).toBeCloseTo(f(params), 12);
    const eps = 1e-6;
    params.forEach((p, pi) => {
      p.forEach((_, e) => {
        const shifted = (d: number) => f(params.map((q, qi) => (qi === pi ? q.map((v, k) => (k === e ? v + d : v)) : q)));
        const numerical = (shifted(eps) - shifted(-eps)) / (2 * eps);
        const analytical = grads[pi][e];
        if (!(Math.abs(analytical - numerical) <= 1e-6 + 1e-4 * Math.abs(numerical))) {
          throw new Error(`parameter ${pi} element ${e}: analytical ${analytical}, numerical ${numerical}`);
        }
      });
    });
  });
});
