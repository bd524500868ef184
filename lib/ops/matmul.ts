/**
 * Matrix products: matmul (1-D to N-D, batched, broadcasting batch dims), mm, bmm, linear.
 * Operands are read through strides, so transposed weights (linear) are never copied. Both
 * operands must share a dtype (as in PyTorch; autocast does the casting); float32 and 16-bit
 * inputs accumulate in float32, float64 in double.
 */
import { dtypeCode } from '../dtype';
import { MixprecError, MixprecRangeError, MixprecTypeError } from '../errors';
import { native } from '../native';
import { broadcastShapes, contiguousStrides } from '../shape';
import { Tensor } from '../tensor';
import { add } from './elementwise';
import { checkTensor, newResult, requireSameDevice } from './operands';

/** A tensor read as a batch of matrices. */
interface Matrices {
  t: Tensor;
  rows: number;
  cols: number;
  rowStride: number;
  colStride: number;
  batchShape: number[];
  batchStrides: number[];
}

function matrices(t: Tensor, transposed = false): Matrices {
  const shape = t.shape;
  const strides = contiguousStrides(shape);
  const r = shape.length - 2;
  const m: Matrices = { t, rows: shape[r], cols: shape[r + 1], rowStride: strides[r], colStride: 1, batchShape: shape.slice(0, r), batchStrides: strides.slice(0, r) };
  return transposed ? { ...m, rows: m.cols, cols: m.rows, rowStride: 1, colStride: m.rowStride } : m;
}

/** Batch strides of `m` read against the output batch shape (0 where broadcast). */
function alignBatch(m: Matrices, batch: number[]): number[] {
  const lead = batch.length - m.batchShape.length;
  return batch.map((_, i) => (i < lead || m.batchShape[i - lead] === 1 ? 0 : m.batchStrides[i - lead]));
}

function product(op: string, a: Matrices, b: Matrices): Tensor {
  requireSameDevice(op, [a.t, b.t]);
  if (a.t.dtype !== b.t.dtype) {
    throw new MixprecError('ERR_DTYPE_MISMATCH', `${op}: both operands must have the same dtype, got ${a.t.dtype} and ${b.t.dtype} (convert one with .to(), or use autocast)`);
  }
  if (a.t.dtype === 'bool') throw new MixprecTypeError('ERR_INVALID_DTYPE', `${op}: not defined for bool tensors`);
  if (a.cols !== b.rows) {
    throw new MixprecRangeError('ERR_SHAPE_MISMATCH', `${op}: cannot multiply [${a.t.shape.join(', ')}] by [${b.t.shape.join(', ')}]: inner sizes ${a.cols} and ${b.rows} differ`);
  }
  const batch = broadcastShapes(op, a.batchShape, b.batchShape);
  const out = newResult(op, [...batch, a.rows, b.cols], a.t.dtype, a.t);
  native.matmul(dtypeCode(a.t.dtype), a.t.storage.handle, a.t.offset, alignBatch(a, batch), a.rowStride, a.colStride,
    b.t.storage.handle, b.t.offset, alignBatch(b, batch), b.rowStride, b.colStride, out.storage.handle, out.offset, batch, a.rows, b.cols, a.cols);
  return out;
}

/** Runs `fn` on views, disposing the views (not the inputs) afterwards. */
function withViews<R>(views: Tensor[], fn: () => R): R {
  try {
    return fn();
  } finally {
    for (const v of views) v.dispose();
  }
}

/** Reshapes a result to `shape`, disposing the unshaped tensor. */
function reshaped(t: Tensor, shape: number[]): Tensor {
  const r = t.reshape(shape);
  t.dispose();
  return r;
}

/**
 * PyTorch's matmul: dot product for two vectors, matrix-vector, vector-matrix, and batched
 * matrix products with broadcast batch dimensions.
 * @example `mp.matmul(x, w)`, `mp.matmul(mp.randn([8, 2, 3]), mp.randn([3, 4]))`
 */
export function matmul(input: Tensor, other: Tensor): Tensor {
  const a = checkTensor('matmul', 'input', input);
  const b = checkTensor('matmul', 'other', other);
  if (a.ndim === 0 || b.ndim === 0) throw new MixprecRangeError('ERR_INVALID_SHAPE', 'matmul: both arguments need at least 1 dimension, got a 0-d tensor');
  const a2 = a.ndim === 1 ? a.reshape([1, a.shape[0]]) : a;
  const b2 = b.ndim === 1 ? b.reshape([b.shape[0], 1]) : b;
  const views = [a2, b2].filter((v, i) => v !== [a, b][i]);
  return withViews(views, () => {
    const out = product('matmul', matrices(a2), matrices(b2));
    if (a.ndim > 1 && b.ndim > 1) return out;
    const shape = out.shape;
    if (b.ndim === 1) shape.splice(shape.length - 1, 1);
    if (a.ndim === 1) shape.splice(shape.length - (b.ndim === 1 ? 1 : 2), 1);
    return reshaped(out, shape);
  });
}

/** Matrix product of two 2-D tensors. @example `mp.mm(a, b)` */
export function mm(input: Tensor, other: Tensor): Tensor {
  const a = checkTensor('mm', 'input', input);
  const b = checkTensor('mm', 'other', other);
  if (a.ndim !== 2 || b.ndim !== 2) throw new MixprecRangeError('ERR_INVALID_SHAPE', `mm: both arguments must be 2-d, got shapes [${a.shape.join(', ')}] and [${b.shape.join(', ')}]`);
  return product('mm', matrices(a), matrices(b));
}

/** Batched product of two 3-D tensors with the same batch size. @example `mp.bmm(a, b)` */
export function bmm(input: Tensor, other: Tensor): Tensor {
  const a = checkTensor('bmm', 'input', input);
  const b = checkTensor('bmm', 'other', other);
  if (a.ndim !== 3 || b.ndim !== 3 || a.shape[0] !== b.shape[0]) {
    throw new MixprecRangeError('ERR_INVALID_SHAPE', `bmm: both arguments must be 3-d with the same batch size, got shapes [${a.shape.join(', ')}] and [${b.shape.join(', ')}]`);
  }
  return product('bmm', matrices(a), matrices(b));
}

/**
 * `x @ weight^T + bias` with weight [outFeatures, inFeatures] (PyTorch's layout), read
 * transposed in place.
 * @example `mp.linear(x, w, b)`
 */
export function linear(input: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  const x = checkTensor('linear', 'input', input);
  const w = checkTensor('linear', 'weight', weight);
  if (w.ndim !== 2) throw new MixprecRangeError('ERR_INVALID_SHAPE', `linear: weight must be 2-d [outFeatures, inFeatures], got [${w.shape.join(', ')}]`);
  if (x.ndim === 0) throw new MixprecRangeError('ERR_INVALID_SHAPE', 'linear: input needs at least 1 dimension');
  const x2 = x.ndim === 1 ? x.reshape([1, x.shape[0]]) : x;
  const out = withViews(x2 === x ? [] : [x2], () => product('linear', matrices(x2), matrices(w, true)));
  const shaped = x.ndim === 1 ? reshaped(out, [w.shape[0]]) : out;
  if (bias === undefined) return shaped;
  const b = checkTensor('linear', 'bias', bias);
  if (b.ndim !== 1 || b.shape[0] !== w.shape[0]) {
    shaped.dispose();
    throw new MixprecRangeError('ERR_SHAPE_MISMATCH', `linear: bias must have shape [${w.shape[0]}], got [${b.shape.join(', ')}]`);
  }
  const withBias = add(shaped, b);
  shaped.dispose();
  return withBias;
}

declare module '../tensor' {
  interface Tensor {
    /** See {@link matmul}. */
    matmul(other: Tensor): Tensor;
  }
}

Tensor.prototype.matmul = function (this: Tensor, other: Tensor) { return matmul(this, other); };
