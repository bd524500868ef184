/**
 * Reductions over one dimension (or all elements): prod, max, min, argmax, argmin, logsumexp,
 * var, std; and softmax / logSoftmax. Computed in double per output, rounded once.
 */
import { dtypeCode, isFloatingPoint, type DType } from '../dtype';
import { argTypeError, MixprecRangeError, MixprecTypeError } from '../errors';
import { native } from '../native';
import { nativeTable } from '../nativeTable';
import { resolveOptions } from '../options';
import { normalizeDim, numelOf } from '../shape';
import { Tensor } from '../tensor';
import { optionalBoolean } from '../validate';
import { checkTensor, newResult, withDtype } from './operands';
import type { ReduceOptions } from './reduce';
import type { OpAutocastDecl } from '../autocast/policy';
import { defineOp } from './registry';

/** Options of the single-dimension reductions. */
export interface DimOptions {
  /** The dimension to reduce; all elements when omitted. */
  dim?: number;
  /** Keep the reduced dimension as size 1 (default false). */
  keepdim?: boolean;
}

/** Options of {@link prod}. */
export interface ProdOptions extends DimOptions {
  /** Multiply in (and return) this dtype; the input is converted first. */
  dtype?: DType;
}

/** Options of {@link softmax} and {@link logSoftmax}. */
export interface SoftmaxOptions {
  /** Compute in (and return) this floating dtype; the input is converted first. */
  dtype?: DType;
}

/** Options of {@link variance} and {@link std}. */
export interface VarOptions extends DimOptions {
  /** Degrees of freedom removed from the count (default 1: the unbiased estimate). */
  correction?: number;
}

const kindNames = ['prod', 'max', 'min', 'argmax', 'argmin', 'logsumexp', 'var', 'std'] as const;
type Kind = (typeof kindNames)[number];
const kinds = nativeTable('reduceKind', kindNames);

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

function reduceAlong(kind: Kind, op: string, input: Tensor, options: VarOptions & ProdOptions | undefined): Tensor {
  const t = checkTensor(op, 'input', input);
  const o = resolveOptions(op, options, kind === 'var' || kind === 'std' ? ['dim', 'keepdim', 'correction'] : kind === 'prod' ? ['dim', 'keepdim', 'dtype'] : ['dim', 'keepdim']);
  const keepdim = optionalBoolean(op, 'options.keepdim', o.keepdim, false);
  const correction = o.correction === undefined ? 1 : o.correction;
  if (typeof correction !== 'number' || !Number.isFinite(correction)) throw argTypeError(op, 'options.correction', 'a number', correction);
  const axis = axisOf(op, t, o.dim, keepdim);
  const needsValues = kind === 'max' || kind === 'min' || kind === 'argmax' || kind === 'argmin';
  if (needsValues && axis.size === 0 && axis.outer * axis.inner > 0) {
    throw new MixprecRangeError('ERR_INVALID_SHAPE', `${op}: the reduced dimension is empty (shape [${t.shape.join(', ')}]); there is no ${kind} of no elements`);
  }
  if ((kind === 'var' || kind === 'std') && !isFloatingPoint(t.dtype)) {
    throw new MixprecTypeError('ERR_INVALID_DTYPE', `${op}: needs a floating-point input, got ${t.dtype}`);
  }
  const requested = options?.dtype === undefined ? undefined : o.dtype;
  const computeDtype: DType = requested ?? (kind === 'logsumexp' && !isFloatingPoint(t.dtype) ? 'float32' : t.dtype);
  const outDtype: DType = kind === 'argmax' || kind === 'argmin' ? 'int32' : kind === 'prod' && !isFloatingPoint(computeDtype) ? 'int32' : computeDtype;
  const out = newResult(op, axis.outShape, outDtype, t);
  withDtype(t, computeDtype, (x) => {
    native.reduceAlong(kinds[kind], dtypeCode(computeDtype), x.storage.handle, x.offset, dtypeCode(outDtype), out.storage.handle, out.offset,
      axis.outer, axis.size, axis.inner, correction);
  });
  return out;
}

/** The input's shape with the reduced dimension (all, when `dim` is undefined) kept as 1. */
function keptShape(input: Tensor, dim: number | undefined): number[] {
  if (dim === undefined) return input.shape.map(() => 1);
  const d = normalizeDim('reduce', 'options.dim', dim, input.ndim);
  return input.shape.map((s, i) => (i === d ? 1 : s));
}

/** A reduced tensor (or its gradient) shaped to broadcast against the input. */
const spread = (t: Tensor, input: Tensor, dim: number | undefined): Tensor => t.reshape(keptShape(input, dim));

/** Options for the same reduction keeping the dimension, for backward formulas. */
const keepOptions = (dim: number | undefined): ReduceOptions => (dim === undefined ? {} : { dim, keepdim: true });

/** Elements counted by a reduction over `dim` (all elements when undefined). */
function reducedCount(input: Tensor, dim: number | undefined): number {
  if (dim === undefined) return input.numel;
  return input.ndim === 0 ? 1 : input.shape[normalizeDim('reduce', 'options.dim', dim, input.ndim)];
}

/** A reduction taking its dim directly (PyTorch style) or in options. */
type AlongOp<O> = (x: Tensor, options?: O | number) => Tensor;

/** Wraps a registered reduction so a bare dim works like `{ dim }`. */
function dimFirst<O extends DimOptions>(op: (x: Tensor, options?: O) => Tensor): AlongOp<O> {
  return (x, options) => op(x, typeof options === 'number' ? ({ dim: options } as O) : options);
}

function alongOp<O extends DimOptions>(kind: Kind, autocast: OpAutocastDecl, backward: (x: Tensor, out: Tensor, g: Tensor, dim: number | undefined, options: O | undefined) => Tensor): AlongOp<O> {
  return dimFirst(defineOp({
    name: kind,
    autocast,
    dtypeArg: kind === 'prod' ? 1 : undefined,
    forward: (x: Tensor, options?: O): Tensor => reduceAlong(kind, kind, x, options),
    save: ([x], out) => [x, out],
    backward: ({ args: [, options], saved: [x, out] }, [g]) => {
      const dim = options?.dim;
      return [g && backward(x, spread(out, x, dim), spread(g, x, dim), dim, options)];
    },
  }));
}

/** Gradient of max/min: shared evenly by the elements equal to the result (PyTorch's amax rule). */
function extremumGrad(x: Tensor, out: Tensor, g: Tensor, dim: number | undefined): Tensor {
  const hits = x.eq(out).to(x.dtype);
  const count = dim === undefined ? hits.sum() : hits.sum(keepOptions(dim));
  return g.mul(hits).div(count);
}

/**
 * Product of elements (int32 for integer and bool inputs, wrapping modulo 2^32 as int32 `mul`
 * does). Its gradient is right with zeros in the input too (the product of the other elements).
 * @example `mp.prod(mp.tensor([[1, 5], [3, 2]]), { dim: 1 })`
 */
export const prod: AlongOp<ProdOptions> = alongOp('prod', { cuda: 'fp32SetOptDtype', cpu: 'fp32' }, (x, out, g, dim) => {
  const zeros = x.eq(0).to(x.dtype);
  const nonZero = x.add(zeros);
  const others = dim === undefined ? prod(nonZero).reshape(keptShape(x, dim)) : prod(nonZero, { dim, keepdim: true });
  const zeroCount = dim === undefined ? zeros.sum().reshape(keptShape(x, dim)) : zeros.sum(keepOptions(dim));
  const atZero = others.mul(zeroCount.eq(1).to(x.dtype));
  return g.mul(out.div(nonZero).mul(zeros.neg().add(1)).add(zeros.mul(atZero)));
});

/** Largest value (NaN if any is NaN). @example `mp.max(mp.tensor([[1, 5], [3, 2]]), { dim: -1 })` */
export const max: AlongOp<DimOptions> = alongOp('max', 'passThrough', extremumGrad);
/** Smallest value (NaN if any is NaN). @example `mp.min(mp.tensor([[1, 5], [3, 2]]))` */
export const min: AlongOp<DimOptions> = alongOp('min', 'passThrough', extremumGrad);
/** `log(sum(exp(x)))` without overflow. @example `mp.logsumexp(mp.tensor([[1, 5], [3, 2]]), { dim: 1 })` */
export const logsumexp: AlongOp<DimOptions> = alongOp('logsumexp', { cuda: 'fp32', cpu: 'passThrough' }, (x, out, g) => g.mul(x.sub(out).exp()));
/** Variance with `correction` (default 1). @example `mp.variance(mp.tensor([[1, 5], [3, 2]]), { dim: 0, correction: 0 })` */
export const variance: AlongOp<VarOptions> = alongOp('var', 'passThrough', (x, _out, g, dim, options) => {
  const n = reducedCount(x, dim) - (options?.correction ?? 1);
  const centered = x.sub(x.mean(keepOptions(dim)).reshape(keptShape(x, dim)));
  return g.mul(centered).mul(2 / n);
});
/** Standard deviation with `correction` (default 1). @example `mp.std(mp.tensor([[1, 5], [3, 2]]))` */
export const std: AlongOp<VarOptions> = alongOp('std', 'passThrough', (x, out, g, dim, options) => {
  const n = reducedCount(x, dim) - (options?.correction ?? 1);
  const centered = x.sub(x.mean(keepOptions(dim)).reshape(keptShape(x, dim)));
  return g.mul(centered).div(out.mul(n));
});

/** Index (int32) of the first largest value; over all elements, the flat index. @example `mp.argmax(mp.tensor([[1, 5], [3, 2]]), { dim: 1 })` */
export const argmax: AlongOp<DimOptions> = dimFirst(defineOp({
  name: 'argmax',
  autocast: 'passThrough',
  differentiable: false,
  forward: (x: Tensor, options?: DimOptions): Tensor => reduceAlong('argmax', 'argmax', x, options),
}));
/** Index (int32) of the first smallest value. @example `mp.argmin(mp.tensor([[1, 5], [3, 2]]), { dim: 0 })` */
export const argmin: AlongOp<DimOptions> = dimFirst(defineOp({
  name: 'argmin',
  autocast: 'passThrough',
  differentiable: false,
  forward: (x: Tensor, options?: DimOptions): Tensor => reduceAlong('argmin', 'argmin', x, options),
}));

function softmaxAlong(log: boolean, op: string, input: Tensor, dim: number, options: SoftmaxOptions | undefined): Tensor {
  const t = checkTensor(op, 'input', input);
  if (dim === undefined) throw argTypeError(op, 'dim', 'a dimension', dim);
  const axis = axisOf(op, t, dim, true, 'dim');
  const o = resolveOptions(op, options, ['dtype']);
  const dtype: DType = options?.dtype !== undefined ? o.dtype : isFloatingPoint(t.dtype) ? t.dtype : 'float32';
  if (!isFloatingPoint(dtype)) throw new MixprecTypeError('ERR_INVALID_DTYPE', `${op}: options.dtype must be a floating-point dtype, got ${dtype}`);
  const out = newResult(op, t.shape, dtype, t);
  withDtype(t, dtype, (x) => {
    native.softmax(log, dtypeCode(dtype), x.storage.handle, x.offset, out.storage.handle, out.offset, axis.outer, axis.size, axis.inner);
  });
  return out;
}

/**
 * `exp(x) / sum(exp(x))` along `dim`; `options.dtype` computes in (and returns) another dtype.
 * @example `mp.softmax(mp.tensor([[1, 5], [3, 2]]), -1)`
 */
export const softmax: (x: Tensor, dim: number, options?: SoftmaxOptions) => Tensor = defineOp({
  name: 'softmax',
  autocast: { cuda: 'fp32SetOptDtype', cpu: 'passThrough' },
  dtypeArg: 2,
  forward: (x: Tensor, dim: number, options?: SoftmaxOptions): Tensor => softmaxAlong(false, 'softmax', x, dim, options),
  save: (_args, out) => [out],
  backward: ({ args: [, dim], saved: [y] }, [g]) => [g && y.mul(g.sub(g.mul(y).sum({ dim, keepdim: true })))],
});

/**
 * `x - logsumexp(x)` along `dim`; `options.dtype` computes in (and returns) another dtype.
 * @example `mp.logSoftmax(mp.tensor([[1, 5], [3, 2]]), 1)`
 */
export const logSoftmax: (x: Tensor, dim: number, options?: SoftmaxOptions) => Tensor = defineOp({
  name: 'logSoftmax',
  autocast: { cuda: 'fp32SetOptDtype', cpu: 'passThrough' },
  dtypeArg: 2,
  forward: (x: Tensor, dim: number, options?: SoftmaxOptions): Tensor => softmaxAlong(true, 'logSoftmax', x, dim, options),
  save: (_args, out) => [out],
  backward: ({ args: [, dim], saved: [y] }, [g]) => [g && g.sub(y.exp().mul(g.sum({ dim, keepdim: true })))],
});

declare module '../tensor' {
  interface Tensor {
    prod(options?: ProdOptions | number): Tensor;
    max(options?: DimOptions | number): Tensor;
    min(options?: DimOptions | number): Tensor;
    argmax(options?: DimOptions | number): Tensor;
    argmin(options?: DimOptions | number): Tensor;
    logsumexp(options?: DimOptions | number): Tensor;
    var(options?: VarOptions | number): Tensor;
    std(options?: VarOptions | number): Tensor;
    softmax(dim: number, options?: SoftmaxOptions): Tensor;
    logSoftmax(dim: number, options?: SoftmaxOptions): Tensor;
  }
}

/** Attaches the Tensor methods declared above. Called once by `ops/install.ts`. */
export function installReduceAlongMethods(): void {
  Tensor.prototype.prod = function (this: Tensor, o?: ProdOptions | number) { return prod(this, o); };
  Tensor.prototype.max = function (this: Tensor, o?: DimOptions | number) { return max(this, o); };
  Tensor.prototype.min = function (this: Tensor, o?: DimOptions | number) { return min(this, o); };
  Tensor.prototype.argmax = function (this: Tensor, o?: DimOptions | number) { return argmax(this, o); };
  Tensor.prototype.argmin = function (this: Tensor, o?: DimOptions | number) { return argmin(this, o); };
  Tensor.prototype.logsumexp = function (this: Tensor, o?: DimOptions | number) { return logsumexp(this, o); };
  Tensor.prototype.var = function (this: Tensor, o?: VarOptions | number) { return variance(this, o); };
  Tensor.prototype.std = function (this: Tensor, o?: VarOptions | number) { return std(this, o); };
  Tensor.prototype.softmax = function (this: Tensor, dim: number, options?: SoftmaxOptions) { return softmax(this, dim, options); };
  Tensor.prototype.logSoftmax = function (this: Tensor, dim: number, options?: SoftmaxOptions) { return logSoftmax(this, dim, options); };
}
