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
import { Tensor } from '../tensor';
import { checkTensor, newResult } from './operands';
import { defineOp } from './registry';

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
  const keepdim = o.keepdim === undefined ? false : o.keepdim;
  if (typeof keepdim !== 'boolean') throw argTypeError(op, 'options.keepdim', 'a boolean', keepdim);
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
    native.cast(t.storage.handle, t.offset, dtypeCode(t.dtype), out.storage.handle, out.offset, dtypeCode(outDtype), t.numel);
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
  autocast: 'float32',
  forward: (input: Tensor, options?: ReduceOptions): Tensor => reduce('sum', input, options),
  backward: ({ args: [input, options] }, [g]) => [g && spreadGrad('sum', input, options, g, false)],
});

/** The registered mean (options form). */
const meanOp: (input: Tensor, options?: ReduceOptions) => Tensor = defineOp({
  name: 'mean',
  autocast: 'float32',
  forward: (input: Tensor, options?: ReduceOptions): Tensor => reduce('mean', input, options),
  backward: ({ args: [input, options] }, [g]) => [g && spreadGrad('mean', input, options, g, true)],
});

/** A dim (or dims) given directly, PyTorch style, as options. */
function asReduceOptions(options: ReduceOptions | number | number[] | undefined): ReduceOptions | undefined {
  return typeof options === 'number' || Array.isArray(options) ? { dim: options } : options;
}

/**
 * Sum of elements, over all dimensions or `dim` (a dim, dims, or options).
 *
 * @example
 * ```ts
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

Tensor.prototype.sum = function (this: Tensor, options?: ReduceOptions | number | number[]) { return sum(this, options); };
Tensor.prototype.mean = function (this: Tensor, options?: ReduceOptions | number | number[]) { return mean(this, options); };
