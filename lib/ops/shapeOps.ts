/**
 * Shape ops: transpose, permute, squeeze, unsqueeze, narrow, slice, expand, cat, stack, split,
 * chunk. Tensors are always contiguous, so ops that reorder or select elements copy them with
 * one native strided copy; squeeze and unsqueeze are views.
 */
import { dtypeCode, promoteTypes } from '../dtype';
import { argRangeError, argTypeError, MixprecRangeError } from '../errors';
import { native } from '../native';
import { broadcastShapes, broadcastStrides, contiguousStrides, copyShape, normalizeDim, numelOf } from '../shape';
import { Tensor } from '../tensor';
import { zeros } from '../creation';
import { sumToShape } from './gradUtils';
import { strided } from './nativeOperands';
import { checkTensor, newResult, requireSameDevice, withDtype } from './operands';
import { defineOp } from './registry';
import { integerArg } from '../validate';

/**
 * native.stridedCopy, skipped when there is nothing to copy: an empty selection's offset may lie
 * past an empty storage (`mp.zeros([0, 5]).narrow(1, 1, 3)`, `cat` of `[0, 2]` and `[0, 3]` along
 * dim 1), which the native bounds check refuses.
 */
function copyStrided(args: Parameters<typeof native.stridedCopy>[0]): void {
  if (numelOf(args.shape) > 0) native.stridedCopy(args);
}

/** Copies a strided selection of `src` (element `offset`, `strides`, `shape`) into a new tensor. */
function gather(op: string, src: Tensor, offset: number, strides: number[], shape: number[]): Tensor {
  const out = newResult(op, shape, src.dtype, src);
  copyStrided({ dtype: dtypeCode(src.dtype), src: strided(src, strides, offset), dst: strided(out, contiguousStrides(shape)), shape });
  return out;
}

/** `t`, checked to have at least one dimension to select along. */
function withDims(op: string, input: Tensor): Tensor {
  const t = checkTensor(op, 'input', input);
  if (t.ndim === 0) throw new MixprecRangeError('ERR_INVALID_SHAPE', `${op}: needs a tensor with at least one dimension, got a 0-d tensor`);
  return t;
}

/**
 * Reorders dimensions: result dim i is input dim `dims[i]`.
 * @example `mp.permute(mp.ones([2, 3, 4]), [2, 0, 1])`
 */
export const permute: (input: Tensor, dims: number[]) => Tensor = defineOp({
  name: 'permute',
  autocast: 'passThrough',
  forward: (input: Tensor, dims: number[]): Tensor => {
    const t = checkTensor('permute', 'input', input);
    const order = permutationOf(t, dims);
    const strides = contiguousStrides(t.shape);
    return gather('permute', t, 0, order.map((d) => strides[d]), order.map((d) => t.shape[d]));
  },
  backward: ({ args: [input, dims] }, [g]) => {
    const order = permutationOf(input, dims);
    const inverse = order.map((_, i) => order.indexOf(i));
    return [g && permute(g, inverse)];
  },
});

function permutationOf(t: Tensor, dims: number[]): number[] {
  if (!Array.isArray(dims) || dims.length !== t.ndim) throw argTypeError('permute', 'dims', `an array of ${t.ndim} dimensions`, dims);
  const order = dims.map((d, i) => normalizeDim('permute', `dims[${i}]`, d, t.ndim));
  if (new Set(order).size !== order.length) throw argTypeError('permute', 'dims', 'a permutation (each dimension once)', dims);
  return order;
}

/** Swaps two dimensions. @example `mp.transpose(mp.ones([2, 3]), 0, 1)` */
export function transpose(input: Tensor, dim0: number, dim1: number): Tensor {
  const t = checkTensor('transpose', 'input', input);
  const a = normalizeDim('transpose', 'dim0', dim0, t.ndim);
  const b = normalizeDim('transpose', 'dim1', dim1, t.ndim);
  const order = t.shape.map((_, i) => (i === a ? b : i === b ? a : i));
  return permute(t, order);
}

/** Removes size-1 dimensions (all, or just `dim`), as a view. @example `mp.squeeze(mp.ones([1, 3]), 0)` */
export function squeeze(input: Tensor, dim?: number): Tensor {
  const t = checkTensor('squeeze', 'input', input);
  if (dim === undefined) return t.reshape(t.shape.filter((s) => s !== 1));
  const d = normalizeDim('squeeze', 'dim', dim, t.ndim);
  return t.shape[d] === 1 ? t.reshape(t.shape.filter((_, i) => i !== d)) : t.reshape(t.shape);
}

/** Inserts a size-1 dimension at `dim` (-ndim-1 ≤ dim ≤ ndim), as a view. @example `mp.unsqueeze(mp.ones([3]), -1)` */
export function unsqueeze(input: Tensor, dim: number): Tensor {
  const t = checkTensor('unsqueeze', 'input', input);
  const d = normalizeDim('unsqueeze', 'dim', dim, t.ndim + 1);
  const shape = t.shape;
  shape.splice(d, 0, 1);
  return t.reshape(shape);
}

/** Elements `start .. start+length-1` along `dim`. @example `mp.narrow(mp.ones([2, 6]), 1, 2, 3)` */
export function narrow(input: Tensor, dim: number, start: number, length: number): Tensor {
  const t = withDims('narrow', input);
  const d = normalizeDim('narrow', 'dim', dim, t.ndim);
  const size = t.shape[d];
  let s = integerArg('narrow', 'start', start);
  if (s < 0) s += size;
  integerArg('narrow', 'length', length);
  if (s < 0 || s > size) throw argRangeError('narrow', 'start', `an index in [${-size}, ${size}]`, start);
  if (length < 0 || s + length > size) throw argRangeError('narrow', 'length', `a length in [0, ${size - s}] (dimension ${d} has size ${size})`, length);
  return slice(t, d, s, s + length);
}

/**
 * Python-style slicing along `dim`: `start` (default 0) to `end` (default the size, exclusive)
 * by a positive `step`; negative indices count from the end and out-of-range ones are clipped.
 * @example `mp.arange(6).slice(0, 1, -1, 2)`
 */
export const slice: (input: Tensor, dim: number, start?: number, end?: number, step?: number) => Tensor = defineOp({
  name: 'slice',
  autocast: 'passThrough',
  forward: (input: Tensor, dim: number, start = 0, end?: number, step = 1): Tensor => {
    const t = withDims('slice', input);
    const p = slicePlan(t, dim, start, end, step);
    const strides = contiguousStrides(t.shape);
    const shape = t.shape;
    shape[p.dim] = p.count;
    const selStrides = strides.slice();
    selStrides[p.dim] = strides[p.dim] * p.step;
    return gather('slice', t, p.start * strides[p.dim], selStrides, shape);
  },
  backward: ({ args: [input, dim, start = 0, end, step = 1] }, [g]) => {
    const p = slicePlan(input, dim, start, end, step);
    return [g && sliceScatter(g, input.shape, p.dim, p.start, p.step)];
  },
});

interface SlicePlan {
  dim: number;
  start: number;
  count: number;
  step: number;
}

function slicePlan(t: Tensor, dim: number, start: number, end: number | undefined, step: number): SlicePlan {
  const d = normalizeDim('slice', 'dim', dim, t.ndim);
  const size = t.shape[d];
  if (integerArg('slice', 'step', step) <= 0) throw argRangeError('slice', 'step', 'a positive integer', step);
  const clip = (v: number) => Math.min(Math.max(v < 0 ? v + size : v, 0), size);
  const lo = clip(integerArg('slice', 'start', start));
  const hi = end === undefined ? size : clip(integerArg('slice', 'end', end));
  return { dim: d, start: lo, count: hi > lo ? Math.ceil((hi - lo) / step) : 0, step };
}

/**
 * A zero tensor of `shape` with `src` written at `start, start+step, ...` along `dim` (the
 * gradient of slice; PyTorch's slice_scatter into zeros).
 * @example `const x = mp.zeros([4, 6]).requiresGrad_(); x.slice(1, 2).sum().backward(); // x.grad = sliceScatter(ones [4, 4], [4, 6], 1, 2, 1)`
 */
export const sliceScatter: (src: Tensor, shape: number[], dim: number, start: number, step: number) => Tensor = defineOp({
  name: 'sliceScatter',
  autocast: 'passThrough',
  forward: (src: Tensor, shape: number[], dim: number, start: number, step: number): Tensor => {
    const g = checkTensor('sliceScatter', 'src', src);
    const out = zeros(shape, { dtype: g.dtype, device: g.device });
    const strides = contiguousStrides(shape);
    const dst = strides.slice();
    dst[dim] = strides[dim] * step;
    copyStrided({ dtype: dtypeCode(g.dtype), src: strided(g, contiguousStrides(g.shape)), dst: strided(out, dst, start * strides[dim]), shape: g.shape });
    return out;
  },
  backward: ({ args: [src, , dim, start, step] }, [g]) => [g && slice(g, dim, start, start + src.shape[dim] * step, step)],
});

/**
 * Broadcasts to `shape` (a new tensor: mixprec tensors are always contiguous, so unlike
 * PyTorch's view this copies). -1 keeps a size.
 * @example `mp.expand(mp.ones([3, 1]), [3, 4])`
 */
export const expand: (input: Tensor, shape: number[]) => Tensor = defineOp({
  name: 'expand',
  autocast: 'passThrough',
  forward: (input: Tensor, shape: number[]): Tensor => expandForward(input, shape),
  backward: ({ args: [input] }, [g]) => [g && sumToShape(g, input.shape)],
});

function expandForward(input: Tensor, shape: number[]): Tensor {
  const t = checkTensor('expand', 'input', input);
  // One read of the user's array: the checks below and the copy use the same sizes.
  const sizes = Array.isArray(shape) ? copyShape('expand', 'shape', shape, `an array of at least ${t.ndim} sizes`) : undefined;
  if (sizes === undefined || sizes.length < t.ndim) throw argTypeError('expand', 'shape', `an array of at least ${t.ndim} sizes`, shape);
  const lead = sizes.length - t.ndim;
  const target = sizes.map((s, i) => (s === -1 && i >= lead ? t.shape[i - lead] : integerArg('expand', `shape[${i}]`, s)));
  const result = broadcastShapes('expand', t.shape, target);
  if (result.some((s, i) => s !== target[i] || s < 0)) {
    throw new MixprecRangeError('ERR_SHAPE_MISMATCH', `expand: shape [${t.shape.join(', ')}] cannot be expanded to [${target.join(', ')}]`);
  }
  return gather('expand', t, 0, broadcastStrides(t.shape, target), target);
}

/**
 * Joins tensors along an existing dimension; dtypes promote, shapes must match elsewhere.
 * @example `mp.cat([mp.ones([2, 1]), mp.zeros([2, 3])], 1)`
 */
export const cat: (tensors: Tensor[], dim?: number) => Tensor = defineOp({
  name: 'cat',
  autocast: { cuda: 'passThrough', cpu: 'promote' },
  forward: (tensors: Tensor[], dim = 0): Tensor => catForward(tensors, dim),
  backward: ({ args: [tensors, dim = 0], needsInputGrad }, [g]) => {
    if (!g) return [];
    const d = normalizeDim('cat', 'dim', dim, g.ndim);
    let offset = 0;
    return tensors.map((t, i) => {
      const start = offset;
      offset += t.shape[d];
      return needsInputGrad[i] ? slice(g, d, start, offset) : undefined;
    });
  },
});

function catForward(tensors: Tensor[], dim: number): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) throw argTypeError('cat', 'tensors', 'a non-empty array of tensors', tensors);
  const ts = tensors.map((t, i) => checkTensor('cat', `tensors[${i}]`, t));
  requireSameDevice('cat', ts);
  const first = withDims('cat', ts[0]);
  const d = normalizeDim('cat', 'dim', dim, first.ndim);
  ts.forEach((t, i) => {
    const ok = t.ndim === first.ndim && t.shape.every((s, k) => k === d || s === first.shape[k]);
    if (!ok) {
      throw new MixprecRangeError('ERR_SHAPE_MISMATCH', `cat: tensors[${i}] has shape [${t.shape.join(', ')}], which differs from tensors[0]'s [${first.shape.join(', ')}] outside dimension ${d}`);
    }
  });
  const dtype = ts.map((t) => t.dtype).reduce(promoteTypes);
  const shape = first.shape;
  shape[d] = ts.reduce((n, t) => n + t.shape[d], 0);
  const out = newResult('cat', shape, dtype, first);
  const outStrides = contiguousStrides(shape);
  let offset = 0;
  for (const t of ts) {
    withDtype(t, dtype, (x) => {
      copyStrided({ dtype: dtypeCode(dtype), src: strided(x, contiguousStrides(t.shape)), dst: strided(out, outStrides, offset * outStrides[d]), shape: t.shape });
    });
    offset += t.shape[d];
  }
  return out;
}

/** Joins same-shaped tensors along a new dimension. @example `mp.stack([mp.ones([3]), mp.zeros([3])])` */
export function stack(tensors: Tensor[], dim = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) throw argTypeError('stack', 'tensors', 'a non-empty array of tensors', tensors);
  const ts = tensors.map((t, i) => checkTensor('stack', `tensors[${i}]`, t));
  ts.forEach((t, i) => {
    if (t.ndim !== ts[0].ndim || t.shape.some((s, k) => s !== ts[0].shape[k])) {
      throw new MixprecRangeError('ERR_SHAPE_MISMATCH', `stack: tensors[${i}] has shape [${t.shape.join(', ')}] but tensors[0] has [${ts[0].shape.join(', ')}]`);
    }
  });
  const d = normalizeDim('stack', 'dim', dim, ts[0].ndim + 1);
  const views = ts.map((t) => unsqueeze(t, d));
  try {
    return cat(views, d);
  } finally {
    for (const v of views) v.dispose();
  }
}

/**
 * Splits into pieces of `splitSize` along `dim` (the last may be smaller), or of the listed sizes.
 * @example `mp.split(mp.arange(5), 2)`, `mp.split(mp.ones([2, 4]), [1, 3], 1)`
 */
export function split(input: Tensor, splitSize: number | number[], dim = 0): Tensor[] {
  const t = withDims('split', input);
  const d = normalizeDim('split', 'dim', dim, t.ndim);
  const size = t.shape[d];
  let sizes: number[];
  if (Array.isArray(splitSize)) {
    sizes = splitSize.map((s, i) => integerArg('split', `splitSize[${i}]`, s));
    if (sizes.some((s) => s < 0) || sizes.reduce((a, b) => a + b, 0) !== size) {
      throw argRangeError('split', 'splitSize', `non-negative sizes adding up to ${size}`, splitSize);
    }
  } else {
    const n = integerArg('split', 'splitSize', splitSize);
    if (n <= 0) throw argRangeError('split', 'splitSize', 'a positive integer', splitSize);
    sizes = [];
    for (let s = 0; s < size; s += n) sizes.push(Math.min(n, size - s));
    if (sizes.length === 0) sizes.push(0);
  }
  let start = 0;
  return sizes.map((n) => {
    const piece = slice(t, d, start, start + n);
    start += n;
    return piece;
  });
}

/** Splits into `chunks` nearly equal pieces along `dim` (PyTorch's sizes). @example `mp.chunk(mp.arange(6), 3)` */
export function chunk(input: Tensor, chunks: number, dim = 0): Tensor[] {
  const t = withDims('chunk', input);
  if (integerArg('chunk', 'chunks', chunks) <= 0) throw argRangeError('chunk', 'chunks', 'a positive integer', chunks);
  const size = t.shape[normalizeDim('chunk', 'dim', dim, t.ndim)];
  return split(t, Math.max(Math.ceil(size / chunks), 1), dim);
}

declare module '../tensor' {
  interface Tensor {
    permute(dims: number[]): Tensor;
    transpose(dim0: number, dim1: number): Tensor;
    squeeze(dim?: number): Tensor;
    unsqueeze(dim: number): Tensor;
    narrow(dim: number, start: number, length: number): Tensor;
    slice(dim: number, start?: number, end?: number, step?: number): Tensor;
    expand(shape: number[]): Tensor;
    split(splitSize: number | number[], dim?: number): Tensor[];
    chunk(chunks: number, dim?: number): Tensor[];
  }
}

/** Attaches the Tensor methods declared above. Called once by `ops/install.ts`. */
export function installShapeMethods(): void {
  Tensor.prototype.permute = function (this: Tensor, dims: number[]) { return permute(this, dims); };
  Tensor.prototype.transpose = function (this: Tensor, dim0: number, dim1: number) { return transpose(this, dim0, dim1); };
  Tensor.prototype.squeeze = function (this: Tensor, dim?: number) { return squeeze(this, dim); };
  Tensor.prototype.unsqueeze = function (this: Tensor, dim: number) { return unsqueeze(this, dim); };
  Tensor.prototype.narrow = function (this: Tensor, dim: number, start: number, length: number) { return narrow(this, dim, start, length); };
  Tensor.prototype.slice = function (this: Tensor, dim: number, start?: number, end?: number, step?: number) { return slice(this, dim, start, end, step); };
  Tensor.prototype.expand = function (this: Tensor, shape: number[]) { return expand(this, shape); };
  Tensor.prototype.split = function (this: Tensor, splitSize: number | number[], dim?: number) { return split(this, splitSize, dim); };
  Tensor.prototype.chunk = function (this: Tensor, chunks: number, dim?: number) { return chunk(this, chunks, dim); };
}
