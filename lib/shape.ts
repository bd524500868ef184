/**
 * Shape checks, element counts, strides and broadcasting.
 */
import { argRangeError, argTypeError, MixprecRangeError } from './errors';

/** A tensor shape: non-negative integer sizes, outermost first. */
export type Shape = readonly number[];

/** Largest element count a tensor may have (indices stay exact in doubles). */
export const MAX_NUMEL = Number.MAX_SAFE_INTEGER;

/** The most dimensions a tensor may have (the kernels' kMaxDims). */
export const MAX_DIMS = 16;

/**
 * A user's shape (an array of sizes, or one size) copied once into a plain array: its length and
 * each element are read exactly once, so a getter or Proxy cannot pass the checks made on the
 * copy and then hand different sizes to the allocation. The copy's elements are still unchecked.
 */
export function copyShape(op: string, arg: string, value: unknown, expected: string): unknown[] {
  if (typeof value === 'number') return [value];
  if (!Array.isArray(value)) throw argTypeError(op, arg, expected, value, 'ERR_INVALID_SHAPE');
  const length: unknown = value.length;
  if (typeof length !== 'number' || !(length <= MAX_DIMS)) throw argRangeError(op, arg, `at most ${MAX_DIMS} dimensions`, length, 'ERR_INVALID_SHAPE');
  const copy = new Array<unknown>(length);
  for (let i = 0; i < length; ++i) copy[i] = (value as unknown[])[i];
  return copy;
}

/** Checks a user-supplied shape (an array of sizes, or one size) and returns a copy. */
export function parseShape(op: string, arg: string, value: unknown): number[] {
  const sizes = copyShape(op, arg, value, 'an array of non-negative integers');
  let numel = 1;
  sizes.forEach((s, i) => {
    if (typeof s !== 'number' || !Number.isInteger(s) || s < 0) {
      throw argRangeError(op, `${arg}[${i}]`, 'a non-negative integer', s, 'ERR_INVALID_SHAPE');
    }
    numel *= s;
  });
  if (numel > MAX_NUMEL) {
    throw new MixprecRangeError('ERR_INVALID_SHAPE', `${op}: argument '${arg}' [${sizes.join(', ')}] has ${numel} elements, more than ${MAX_NUMEL}`);
  }
  return sizes as number[];
}

/** Product of the sizes. */
export function numelOf(shape: Shape): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

/** Row-major strides of a contiguous tensor, in elements. */
export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; --d) {
    strides[d] = s;
    s *= shape[d];
  }
  return strides;
}

/** The shape two shapes broadcast to, or an error naming `op` and both shapes. */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; ++i) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) {
      throw new MixprecRangeError('ERR_SHAPE_MISMATCH', `${op}: shapes [${a.join(', ')}] and [${b.join(', ')}] cannot be broadcast together (dimension ${i} of the result: ${x} vs ${y})`);
    }
    out[i] = x === 1 ? y : x;
  }
  return out;
}

/** Strides that read a contiguous tensor of `shape` as if broadcast to `to` (0 on broadcast dims). */
export function broadcastStrides(shape: Shape, to: Shape): number[] {
  const own = contiguousStrides(shape);
  const out = new Array<number>(to.length).fill(0);
  const lead = to.length - shape.length;
  for (let d = 0; d < shape.length; ++d) out[lead + d] = shape[d] === 1 ? 0 : own[d];
  return out;
}

/** Normalizes a possibly negative dimension index against `ndim`. */
export function normalizeDim(op: string, arg: string, dim: unknown, ndim: number): number {
  const limit = Math.max(ndim, 1);
  if (typeof dim !== 'number' || !Number.isInteger(dim) || dim < -limit || dim >= limit) {
    throw argRangeError(op, arg, `an integer in [${-limit}, ${limit - 1}] for a ${ndim}-d tensor`, dim);
  }
  return dim < 0 ? dim + limit : dim;
}

/** Resolves one -1 entry of a reshape target against `numel`. */
export function inferShape(op: string, target: unknown, numel: number, from: Shape): number[] {
  const sizes = copyShape(op, 'shape', target, 'an array of integers');
  let unknown = -1;
  let known = 1;
  sizes.forEach((s, i) => {
    if (s === -1 && unknown < 0) {
      unknown = i;
    } else if (typeof s !== 'number' || !Number.isInteger(s) || s < 0) {
      throw argRangeError(op, `shape[${i}]`, 'a non-negative integer (or one -1)', s, 'ERR_INVALID_SHAPE');
    } else {
      known *= s;
    }
  });
  const out = sizes as number[];
  if (unknown >= 0) {
    if (known === 0 || numel % known !== 0) {
      throw new MixprecRangeError('ERR_INVALID_SHAPE', `${op}: shape [${sizes.join(', ')}] is invalid for a tensor of shape [${from.join(', ')}] (${numel} elements)`);
    }
    out[unknown] = numel / known;
  } else if (known !== numel) {
    throw new MixprecRangeError('ERR_INVALID_SHAPE', `${op}: shape [${sizes.join(', ')}] has ${known} elements but the tensor of shape [${from.join(', ')}] has ${numel}`);
  }
  return out;
}

/** Same sizes, same order. */
export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((s, i) => s === b[i]);
}

