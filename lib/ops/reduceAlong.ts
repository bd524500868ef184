/**
 * Reductions over one dimension (or all elements): prod, max, min, argmax, argmin, logsumexp,
 * var, std; and softmax / logSoftmax. Computed in double per output, rounded once.
 */
import { dtypeCode, isFloatingPoint, type DType } from '../dtype';
import { argTypeError, MixprecRangeError, MixprecTypeError } from '../errors';
import { native } from '../native';
import { resolveOptions } from '../options';
import { normalizeDim, numelOf } from '../shape';
import { Tensor } from '../tensor';
import { checkTensor, newResult, withDtype } from './operands';

/** Options of the single-dimension reductions. */
export interface DimOptions {
  /** The dimension to reduce; all elements when omitted. */
  dim?: number;
  /** Keep the reduced dimension as size 1 (default false). */
  keepdim?: boolean;
}

/** Options of {@link variance} and {@link std}. */
export interface VarOptions extends DimOptions {
  /** Degrees of freedom removed from the count (default 1: the unbiased estimate). */
  correction?: number;
}

const kinds = { prod: 0, max: 1, min: 2, argmax: 3, argmin: 4, logsumexp: 5, var: 6, std: 7 } as const;
type Kind = keyof typeof kinds;

interface Axis {
  outer: number;
  size: number;
  inner: number;
  outShape: number[];
}

function axisOf(op: string, t: Tensor, dim: unknown, keepdim: boolean, argName = 'options.dim'): Axis {
  const shape = t.shape;
  if (dim === undefined) {
    return { outer: 1, size: t.numel, inner: 1, outShape: keepdim ? shape.map(() => 1) : [] };
  }
  const d = normalizeDim(op, argName, dim, shape.length);
  if (shape.length === 0) return { outer: 1, size: 1, inner: 1, outShape: [] };
  const outShape = keepdim ? shape.map((s, i) => (i === d ? 1 : s)) : shape.filter((_, i) => i !== d);
  return { outer: numelOf(shape.slice(0, d)), size: shape[d], inner: numelOf(shape.slice(d + 1)), outShape };
}

function reduceAlong(kind: Kind, op: string, input: Tensor, options: VarOptions | undefined): Tensor {
  const t = checkTensor(op, 'input', input);
  const o = resolveOptions(op, options, kind === 'var' || kind === 'std' ? ['dim', 'keepdim', 'correction'] : ['dim', 'keepdim']);
  if (o.keepdim !== undefined && typeof o.keepdim !== 'boolean') throw argTypeError(op, 'options.keepdim', 'a boolean', o.keepdim);
  const correction = o.correction === undefined ? 1 : o.correction;
  if (typeof correction !== 'number' || !Number.isFinite(correction)) throw argTypeError(op, 'options.correction', 'a number', correction);
  const axis = axisOf(op, t, o.dim, o.keepdim === true);
  const needsValues = kind === 'max' || kind === 'min' || kind === 'argmax' || kind === 'argmin';
  if (needsValues && axis.size === 0 && axis.outer * axis.inner > 0) {
    throw new MixprecRangeError('ERR_INVALID_SHAPE', `${op}: the reduced dimension is empty (shape [${t.shape.join(', ')}]); there is no ${kind} of no elements`);
  }
  if ((kind === 'var' || kind === 'std') && !isFloatingPoint(t.dtype)) {
    throw new MixprecTypeError('ERR_INVALID_DTYPE', `${op}: needs a floating-point input, got ${t.dtype}`);
  }
  const computeDtype: DType = kind === 'logsumexp' && !isFloatingPoint(t.dtype) ? 'float32' : t.dtype;
  const outDtype: DType = kind === 'argmax' || kind === 'argmin' ? 'int32' : kind === 'prod' && !isFloatingPoint(t.dtype) ? 'int32' : computeDtype;
  const out = newResult(op, axis.outShape, outDtype, t);
  withDtype(t, computeDtype, (x) => {
    native.reduceAlong(kinds[kind], dtypeCode(computeDtype), x.storage.handle, x.offset, dtypeCode(outDtype), out.storage.handle, out.offset,
      axis.outer, axis.size, axis.inner, correction);
  });
  return out;
}

/** Product of elements (int32 for integer and bool inputs). @example `mp.prod(x, { dim: 1 })` */
export const prod = (x: Tensor, options?: DimOptions): Tensor => reduceAlong('prod', 'prod', x, options);
/** Largest value (NaN if any is NaN). @example `mp.max(x, { dim: -1 })` */
export const max = (x: Tensor, options?: DimOptions): Tensor => reduceAlong('max', 'max', x, options);
/** Smallest value (NaN if any is NaN). @example `mp.min(x)` */
export const min = (x: Tensor, options?: DimOptions): Tensor => reduceAlong('min', 'min', x, options);
/** Index (int32) of the first largest value; over all elements, the flat index. @example `mp.argmax(logits, { dim: 1 })` */
export const argmax = (x: Tensor, options?: DimOptions): Tensor => reduceAlong('argmax', 'argmax', x, options);
/** Index (int32) of the first smallest value. @example `mp.argmin(x, { dim: 0 })` */
export const argmin = (x: Tensor, options?: DimOptions): Tensor => reduceAlong('argmin', 'argmin', x, options);
/** `log(sum(exp(x)))` without overflow. @example `mp.logsumexp(x, { dim: 1 })` */
export const logsumexp = (x: Tensor, options?: DimOptions): Tensor => reduceAlong('logsumexp', 'logsumexp', x, options);
/** Variance with `correction` (default 1). @example `mp.variance(x, { dim: 0, correction: 0 })` */
export const variance = (x: Tensor, options?: VarOptions): Tensor => reduceAlong('var', 'var', x, options);
/** Standard deviation with `correction` (default 1). @example `mp.std(x)` */
export const std = (x: Tensor, options?: VarOptions): Tensor => reduceAlong('std', 'std', x, options);

function softmaxAlong(log: boolean, op: string, input: Tensor, dim: number): Tensor {
  const t = checkTensor(op, 'input', input);
  if (dim === undefined) throw argTypeError(op, 'dim', 'a dimension', dim);
  const axis = axisOf(op, t, dim, true, 'dim');
  const dtype: DType = isFloatingPoint(t.dtype) ? t.dtype : 'float32';
  const out = newResult(op, t.shape, dtype, t);
  withDtype(t, dtype, (x) => {
    native.softmax(log, dtypeCode(dtype), x.storage.handle, x.offset, out.storage.handle, out.offset, axis.outer, axis.size, axis.inner);
  });
  return out;
}

/** `exp(x) / sum(exp(x))` along `dim`. @example `mp.softmax(logits, -1)` */
export const softmax = (x: Tensor, dim: number): Tensor => softmaxAlong(false, 'softmax', x, dim);
/** `x - logsumexp(x)` along `dim`. @example `mp.logSoftmax(logits, 1)` */
export const logSoftmax = (x: Tensor, dim: number): Tensor => softmaxAlong(true, 'logSoftmax', x, dim);

declare module '../tensor' {
  interface Tensor {
    prod(options?: DimOptions): Tensor;
    max(options?: DimOptions): Tensor;
    min(options?: DimOptions): Tensor;
    argmax(options?: DimOptions): Tensor;
    argmin(options?: DimOptions): Tensor;
    logsumexp(options?: DimOptions): Tensor;
    var(options?: VarOptions): Tensor;
    std(options?: VarOptions): Tensor;
    softmax(dim: number): Tensor;
    logSoftmax(dim: number): Tensor;
  }
}

Tensor.prototype.prod = function (this: Tensor, o?: DimOptions) { return prod(this, o); };
Tensor.prototype.max = function (this: Tensor, o?: DimOptions) { return max(this, o); };
Tensor.prototype.min = function (this: Tensor, o?: DimOptions) { return min(this, o); };
Tensor.prototype.argmax = function (this: Tensor, o?: DimOptions) { return argmax(this, o); };
Tensor.prototype.argmin = function (this: Tensor, o?: DimOptions) { return argmin(this, o); };
Tensor.prototype.logsumexp = function (this: Tensor, o?: DimOptions) { return logsumexp(this, o); };
Tensor.prototype.var = function (this: Tensor, o?: VarOptions) { return variance(this, o); };
Tensor.prototype.std = function (this: Tensor, o?: VarOptions) { return std(this, o); };
Tensor.prototype.softmax = function (this: Tensor, dim: number) { return softmax(this, dim); };
Tensor.prototype.logSoftmax = function (this: Tensor, dim: number) { return logSoftmax(this, dim); };
