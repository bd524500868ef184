/**
 * sum and mean over all elements or chosen dimensions. Floating inputs (16-bit included)
 * accumulate in double and round once into the result, so a float16 sum does not lose the
 * small terms.
 */
import { dtypeCode, isFloatingPoint, parseDType, type DType } from '../dtype';
import { argTypeError, MixprecTypeError } from '../errors';
import { native } from '../native';
import { resolveOptions } from '../options';
import { normalizeDim, numelOf } from '../shape';
import { castInto, Tensor } from '../tensor';
import { checkTensor, newResult } from './operands';
import { defineOp } from './registry';
import { optionalBoolean } from '../validate';

/** Options of {@link sum} and {@link mean}. */
export interface ReduceOptions {
  /** Dimension(s) to reduce (default: all). Negative values count from the end. */
  dim?: number | number[];
  /** Keep reduced dimensions as size 1 (default false). */
  keepdim?: boolean;
  /** Result dtype (default: the input's; int32 for bool). */
  dtype?: DType;
}

interface Plan {
  dims: number[];
  outShape: number[];
}

function planReduction(op: string, t: Tensor, options: ReduceOptions | undefined): Plan & { keepdim: boolean; dtype?: DType } {
  const o = resolveOptions(op, options, ['dim', 'keepdim', 'dtype']);
  const keepdim = optionalBoolean(op, 'options.keepdim', o.keepdim, false);
  const dtype = (options as ReduceOptions | undefined)?.dtype === undefined ? undefined : parseDType(op, 'options.dtype', o.dtype);
  const shape = t.shape;
  const raw = o.dim === undefined ? shape.map((_, i) => i) : Array.isArray(o.dim) ? o.dim : [o.dim];
  const dims = [...new Set(raw.map((d, i) => normalizeDim(op, Array.isArray(o.dim) ? `options.dim[${i}]` : 'options.dim', d, shape.length)))].sort((x, y) => x - y);
  if (Array.isArray(o.dim) && dims.length !== raw.length) throw argTypeError(op, 'options.dim', 'distinct dimensions', o.dim);
  const outShape = keepdim ? shape.map((s, i) => (dims.includes(i) ? 1 : s)) : shape.filter((_, i) => !dims.includes(i));
  return { dims: shape.length === 0 ? [] : dims, outShape, keepdim, dtype };
}

/** Runs of consecutive dims, innermost first: each run is one native reduction. */
function runsOf(dims: number[]): [number, number][] {
  const runs: [number, number][] = [];
  for (const d of dims) {
    const last = runs[runs.length - 1];
    if (last && last[1] === d - 1) last[1] = d;
    else runs.push([d, d]);
  }
  return runs.reverse();
}

function reduce(op: 'sum' | 'mean', input: Tensor, options: ReduceOptions | undefined): Tensor {
  const t = checkTensor(op, 'input', input);
  const plan = planReduction(op, t, options);
  const natural: DType = isFloatingPoint(t.dtype) ? t.dtype : 'int32';
  const outDtype = plan.dtype ?? natural;
  if (op === 'mean' && !isFloatingPoint(outDtype)) {
    throw new MixprecTypeError('ERR_INVALID_DTYPE', `mean: needs a floating-point input or options.dtype, got ${t.dtype} (use { dtype: 'float32' })`);
  }
  // Intermediate results between runs stay wide so the result is rounded only once.
  const accDtype: DType = !isFloatingPoint(outDtype) ? 'int32' : outDtype === 'float64' || t.dtype === 'float64' ? 'float64' : 'float32';
  const runs = runsOf(plan.dims);
  let shape = t.shape;
  let current = t;
  if (runs.length === 0) {
    const out = newResult(op, plan.outShape, outDtype, t);
    castInto(t, out);
    return out;
  }
  for (let r = 0; r < runs.length; ++r) {
    const [first, last] = runs[r];
    const finalStep = r === runs.length - 1;
    const outer = numelOf(shape.slice(0, first));
    const size = numelOf(shape.slice(first, last + 1));
    const inner = numelOf(shape.slice(last + 1));
    const nextShape = [...shape.slice(0, first), ...new Array<number>(last - first + 1).fill(1), ...shape.slice(last + 1)];
    const dtype = finalStep ? outDtype : accDtype;
    const out = newResult(op, finalStep ? plan.outShape : nextShape, dtype, t);
    try {
      native.reduceSum(dtypeCode(current.dtype), current.storage.handle, current.offset, dtypeCode(dtype), out.storage.handle, out.offset, outer, size, inner, op === 'mean');
    } catch (e) {
      out.dispose();
      throw e;
    } finally {
      if (current !== t) current.dispose();
    }
    current = out;
    shape = nextShape;
  }
  return current;
}

/** The gradient of a sum over `dims`: `g` broadcast back over the reduced dimensions. */
function spreadGrad(op: string, input: Tensor, options: ReduceOptions | undefined, g: Tensor, scale: boolean): Tensor {
  const plan = planReduction(op, input, options);
  const shape = input.shape;
  const kept = shape.map((s, i) => (plan.dims.includes(i) ? 1 : s));
  const spread = g.reshape(kept).expand(shape);
  if (!scale) return spread;
  const count = plan.dims.reduce((n, d) => n * shape[d], 1);
  return spread.div(count);
}

/** The registered sum (options form). */
const sumOp: (input: Tensor, options?: ReduceOptions) => Tensor = defineOp({
  name: 'sum',
  autocast: { cuda: 'fp32SetOptDtype', cpu: 'passThrough' },
  dtypeArg: 1,
  forward: (input: Tensor, options?: ReduceOptions): Tensor => reduce('sum', input, options),
  backward: ({ args: [input, options] }, [g]) => [g && spreadGrad('sum', input, options, g, false)],
});

/** The registered mean (options form). */
const meanOp: (input: Tensor, options?: ReduceOptions) => Tensor = defineOp({
  name: 'mean',
  autocast: 'passThrough',
  forward: (input: Tensor, options?: ReduceOptions): Tensor => reduce('mean', input, options),
  backward: ({ args: [input, options] }, [g]) => [g && spreadGrad('mean', input, options, g, true)],
});

/** A dim (or dims) given directly, PyTorch style, as options. */
function asReduceOptions(options: ReduceOptions | number | number[] | undefined): ReduceOptions | undefined {
  return typeof options === 'number' || Array.isArray(options) ? { dim: options } : options;
}

/**
 * Sum of elements, over all dimensions or `dim` (a dim, dims, or options). Integer and bool
 * inputs sum into int32, wrapping modulo 2^32 as int32 `add` does (PyTorch sums them into int64,
 * which mixprec does not have; pass `{ dtype: 'float64' }` for the exact total up to 2^53).
 *
 * @example
 * ```ts
 * const x = mp.tensor([[1, 2], [3, 4]]);
 * const h = x.to('float16');
 * mp.sum(x);                               // 0-d
 * mp.sum(x, 1);                            // over dim 1
 * mp.sum(x, { dim: 1, keepdim: true });
 * mp.sum(h, { dtype: 'float32' });         // float16 input, float32 result
 * ```
 */
export function sum(input: Tensor, options?: ReduceOptions | number | number[]): Tensor {
  return sumOp(input, asReduceOptions(options));
}

/**
 * Mean of elements, over all dimensions or `dim` (floating point only; NaN for no elements).
 *
 * @example
 * ```ts
 * const x = mp.ones([2, 3, 4]);
 * mp.mean(x, { dim: [0, 1] });
 * x.mean(-1);
 * ```
 */
export function mean(input: Tensor, options?: ReduceOptions | number | number[]): Tensor {
  return meanOp(input, asReduceOptions(options));
}

declare module '../tensor' {
  interface Tensor {
    /** See {@link sum}. */
    sum(options?: ReduceOptions | number | number[]): Tensor;
    /** See {@link mean}. */
    mean(options?: ReduceOptions | number | number[]): Tensor;
  }
}

/** Options of {@link norm}. */
export interface NormOptions {
  /** Dimension(s) to reduce (default: all). */
  dim?: number | number[];
  keepdim?: boolean;
  /** Compute in (and return) this floating dtype; the input is converted first. */
  dtype?: DType;
}

function normOrder(p: unknown): number {
  if (typeof p !== 'number' || Number.isNaN(p) || p <= 0) throw argTypeError('norm', 'p', 'a positive number or Infinity', p);
  return p;
}

/** The norm itself, from recorded ops (its own backward below handles the zero-norm case). */
function normForward(x: Tensor, p: number, options: NormOptions | undefined): Tensor {
  const input = checkTensor('norm', 'input', x);
  if (!isFloatingPoint(input.dtype)) throw new MixprecTypeError('ERR_INVALID_DTYPE', `norm: needs a floating-point input, got ${input.dtype}`);
  const dtype = options?.dtype === undefined ? input.dtype : parseDType('norm', 'options.dtype', options.dtype);
  if (!isFloatingPoint(dtype)) throw new MixprecTypeError('ERR_INVALID_DTYPE', `norm: options.dtype must be a floating-point dtype, got ${dtype}`);
  const t = input.to(dtype);
  const o = { dim: options?.dim, keepdim: options?.keepdim ?? false };
  const abs = t.abs();
  if (p === Infinity) return flatMax(abs, o);
  if (p === 1) return abs.sum(o);
  if (p === 2) return abs.mul(abs).sum(o).sqrt();
  return abs.pow(p).sum(o).pow(1 / p);
}

/** max of |x| over one or several dims (max along one dim at a time). */
function flatMax(abs: Tensor, o: { dim?: number | number[]; keepdim: boolean }): Tensor {
  const shape = abs.shape;
  const dims = o.dim === undefined ? shape.map((_, i) => i) : (Array.isArray(o.dim) ? o.dim : [o.dim]).map((d) => normalizeDim('norm', 'options.dim', d, shape.length));
  let out = abs;
  for (const d of [...dims].sort((a, b) => b - a)) out = out.max({ dim: d, keepdim: true });
  if (o.keepdim) return out;
  return out.reshape(shape.filter((_, i) => !dims.includes(i)));
}

/**
 * Vector p-norm over all elements or `dim` (p = 2 by default; 1, Infinity or any p > 0). The
 * gradient at a zero norm is 0, as in PyTorch (not NaN).
 *
 * @example
 * ```ts
 * const x = mp.tensor([[3, 4], [1, 2]]);
 * mp.norm(x);                          // Euclidean norm of all elements
 * mp.norm(x, 1, { dim: 1, keepdim: true });
 * ```
 */
export const norm: (input: Tensor, p?: number, options?: NormOptions) => Tensor = defineOp({
  name: 'norm',
  autocast: { cuda: 'fp32SetOptDtype', cpu: 'passThrough' },
  dtypeArg: 2,
  forward: (input: Tensor, p = 2, options?: NormOptions): Tensor => normForward(input, normOrder(p), options),
  save: ([input], out) => [input, out],
  backward: ({ args: [, p = 2, options], saved: [x, out] }, [g]) => {
    if (!g) return [];
    const shape = x.shape;
    const dims = options?.dim === undefined ? shape.map((_, i) => i) : (Array.isArray(options.dim) ? options.dim : [options.dim]).map((d) => normalizeDim('norm', 'options.dim', d, shape.length));
    const kept = shape.map((s, i) => (dims.includes(i) ? 1 : s));
    const n = out.reshape(kept);
    const gk = g.reshape(kept);
    if (p === Infinity) {
      const hits = x.abs().eq(n).to(x.dtype);
      return [gk.mul(x.sign()).mul(hits).div(hits.sum({ dim: dims, keepdim: true }))];
    }
    if (p === 1) return [gk.mul(x.sign())];
    // |x|^(p-1) sign(x) / norm^(p-1), and 0 where the norm is 0.
    const safe = n.add(n.eq(0).to(n.dtype));
    const scaled = p === 2 ? x.div(safe) : x.abs().pow(p - 1).mul(x.sign()).div(safe.pow(p - 1));
    return [gk.mul(scaled).mul(n.ne(0).to(n.dtype))];
  },
});

declare module '../tensor' {
  interface Tensor {
    /** See {@link norm}. */
    norm(p?: number, options?: NormOptions): Tensor;
  }
}

/** Attaches the Tensor methods declared above. Called once by `ops/install.ts`. */
export function installReduceMethods(): void {
  Tensor.prototype.sum = function (this: Tensor, options?: ReduceOptions | number | number[]) { return sum(this, options); };
  Tensor.prototype.mean = function (this: Tensor, options?: ReduceOptions | number | number[]) { return mean(this, options); };
  Tensor.prototype.norm = function (this: Tensor, p?: number, options?: NormOptions) { return norm(this, p, options); };
}
