/**
 * Matrix products: matmul (1-D to N-D, batched, broadcasting batch dims), mm, bmm, linear.
 * Operands are read through strides, so transposed weights (linear) are never copied. Both
 * operands must share a dtype (as in PyTorch; autocast does the casting); float32 and 16-bit
 * inputs accumulate in float32, float64 in double.
 */
import { dtypeCode, type DType } from '../dtype';
import { MixprecError, MixprecRangeError, MixprecTypeError } from '../errors';
import { native, type NativeMatmulArgs, type NativeMatrix } from '../native';
import { broadcastShapes, contiguousStrides } from '../shape';
import { Tensor } from '../tensor';
import { add } from './elementwise';
import { sumToShape } from './gradUtils';
import { operand } from './nativeOperands';
import { checkTensor, newResult, requireSameDevice, reshaped, withViews } from './operands';
import { defineOp, type CastFusedCall } from './registry';

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

function matrix(x: Matrices, batch: number[]): NativeMatrix {
  return { storage: x.t.storage.handle, offset: x.t.offset, batchStrides: alignBatch(x, batch), rowStride: x.rowStride, colStride: x.colStride };
}

/**
 * `a @ b`. With `compute` (cast fusion under CPU autocast, see {@link castFusable}) the product
 * is that dtype's, float32 operands are rounded to it as the kernel reads them, and `outDtype`
 * may be float32 (the 16-bit result widened): the numbers of casting first and after.
 */
function product(op: string, a: Matrices, b: Matrices, compute?: DType, outDtype?: DType): Tensor {
  requireSameDevice(op, [a.t, b.t]);
  if (compute === undefined && a.t.dtype !== b.t.dtype) {
    throw new MixprecError('ERR_DTYPE_MISMATCH', `${op}: both operands must have the same dtype, got ${a.t.dtype} and ${b.t.dtype} (convert one with .to(), or use autocast)`);
  }
  const dtype = compute ?? a.t.dtype;
  if (a.t.dtype === 'bool') throw new MixprecTypeError('ERR_INVALID_DTYPE', `${op}: not defined for bool tensors`);
  if (a.cols !== b.rows) {
    throw new MixprecRangeError('ERR_SHAPE_MISMATCH', `${op}: cannot multiply [${a.t.shape.join(', ')}] by [${b.t.shape.join(', ')}]: inner sizes ${a.cols} and ${b.rows} differ`);
  }
  const batch = broadcastShapes(op, a.batchShape, b.batchShape);
  const out = newResult(op, [...batch, a.rows, b.cols], outDtype ?? dtype, a.t);
  const args: NativeMatmulArgs = { dtype: dtypeCode(dtype), a: matrix(a, batch), b: matrix(b, batch), out: operand(out), batchShape: batch, m: a.rows,
    n: b.cols, k: a.cols };
  if (compute !== undefined) {
    args.aDtype = dtypeCode(a.t.dtype);
    args.bDtype = dtypeCode(b.t.dtype);
    args.outDtype = dtypeCode(out.dtype);
  }
  native.matmul(args);
  return out;
}

/**
 * An operand's gradient from its gradient product `grad` (output dtype from {@link gradDtype}):
 * summed over broadcast batch dims, in x's dtype. Intermediates are freed by backward's tidy.
 */
function operandGrad(grad: Tensor, x: Tensor): Tensor {
  const summed = sumToShape(grad, x.shape);
  return summed.dtype === x.dtype ? summed : summed.to(x.dtype);
}

/**
 * The output dtype of the product giving x's gradient under cast fusion: x's own (the 16-bit
 * result widened in the kernel), unless x was broadcast over batch dims, whose sum must run in
 * the 16-bit dtype first (as the cast's backward would see it): then the compute dtype.
 */
function gradDtype(compute: DType | undefined, x: Tensor, gradBatch: number[]): DType | undefined {
  if (compute === undefined) return undefined;
  const batch = x.shape.slice(0, -2);
  const broadcast = batch.length !== gradBatch.length || batch.some((d, i) => d !== gradBatch[i]);
  return broadcast ? compute : x.dtype;
}

/**
 * `op(a) @ op(b)` with op = transpose of the last two dims when the flag is set, read through
 * strides (no copies). The primitive the matrix products are built from. `compute` and
 * `outDtype`: cast fusion (see {@link product}); the gradients then come out in each operand's
 * own dtype, rounded through `compute` as a recorded cast's backward would give them.
 * @internal Exported for tests (its autocast category is checked on its own).
 */
export const stridedProduct: (op: string, a: Tensor, b: Tensor, transA: boolean, transB: boolean, compute?: DType, outDtype?: DType) => Tensor = defineOp({
  name: 'stridedProduct',
  autocast: 'lowerPrecision',
  forward: (op: string, a: Tensor, b: Tensor, transA: boolean, transB: boolean, compute?: DType, outDtype?: DType): Tensor =>
    product(op, matrices(a, transA), matrices(b, transB), compute, outDtype),
  save: ([, a, b]) => [a, b],
  backward: ({ args: [op, , , transA, transB, compute], saved: [a, b], needsInputGrad }, [g]) => {
    if (!g) return [];
    const batch = g.shape.slice(0, -2);
    const aOut = gradDtype(compute, a, batch), bOut = gradDtype(compute, b, batch);
    const dA = needsInputGrad[0] ? (transA ? stridedProduct(op, b, g, transB, true, compute, aOut) : stridedProduct(op, g, b, false, !transB, compute, aOut)) : undefined;
    const dB = needsInputGrad[1] ? (transB ? stridedProduct(op, g, a, true, transA, compute, bOut) : stridedProduct(op, a, g, !transA, false, compute, bOut)) : undefined;
    return [dA && operandGrad(dA, a), dB && operandGrad(dB, b)];
  },
});

/**
 * Whether a product under CPU autocast to `compute` can skip the casts of its float32 inputs
 * (cast fusion): every tensor is on the CPU and float32 or `compute` already. Anything else
 * (a float16 input under bfloat16 autocast, float64, CUDA) takes the recorded casts.
 */
function castFusable(compute: DType, tensors: (Tensor | undefined)[]): boolean {
  if (compute !== 'float16' && compute !== 'bfloat16') return false;
  return tensors.every((t) => t === undefined || (t instanceof Tensor && t.device.type === 'cpu' && (t.dtype === 'float32' || t.dtype === compute)));
}

/** `run(compute)` as a cast-fused call when `castFusable` (a and b: the product's operands), else undefined. */
function fusedCall(compute: DType, a: Tensor, b: Tensor, others: (Tensor | undefined)[], run: (compute: DType) => Tensor): CastFusedCall<Tensor> | undefined {
  if (!castFusable(compute, [a, b, ...others])) return undefined;
  return { result: run(compute), fusedInputs: Number(a.dtype === 'float32') + Number(b.dtype === 'float32') };
}

/**
 * A two-operand product op: `impl` without autocast's compute dtype as the forward, with it under
 * cast fusion.
 */
function productOp(name: string, impl: (input: Tensor, other: Tensor, compute?: DType) => Tensor): (input: Tensor, other: Tensor) => Tensor {
  return defineOp({
    name,
    autocast: 'lowerPrecision',
    forward: (input: Tensor, other: Tensor): Tensor => impl(input, other),
    autocastCastFused: (compute, _cast, input, other) => fusedCall(compute, input, other, [], (c) => impl(input, other, c)),
  });
}

/**
 * PyTorch's matmul: dot product for two vectors, matrix-vector, vector-matrix, and batched
 * matrix products with broadcast batch dimensions.
 * @example `mp.matmul(mp.ones([2, 3]), mp.ones([3, 4]))`, `mp.matmul(mp.randn([8, 2, 3]), mp.randn([3, 4]))`
 */
export const matmul: (input: Tensor, other: Tensor) => Tensor = productOp('matmul', matmulIn);

function matmulIn(input: Tensor, other: Tensor, compute?: DType): Tensor {
  const a = checkTensor('matmul', 'input', input);
  const b = checkTensor('matmul', 'other', other);
  if (a.ndim === 0 || b.ndim === 0) throw new MixprecRangeError('ERR_INVALID_SHAPE', 'matmul: both arguments need at least 1 dimension, got a 0-d tensor');
  const a2 = a.ndim === 1 ? a.reshape([1, a.shape[0]]) : a;
  const b2 = b.ndim === 1 ? b.reshape([b.shape[0], 1]) : b;
  const out = withViews([a2, b2].filter((v) => v !== a && v !== b), () => stridedProduct('matmul', a2, b2, false, false, compute));
  if (a.ndim > 1 && b.ndim > 1) return out;
  const shape = out.shape;
  if (b.ndim === 1) shape.splice(shape.length - 1, 1);
  if (a.ndim === 1) shape.splice(shape.length - (b.ndim === 1 ? 1 : 2), 1);
  return reshaped(out, shape);
}

/** Matrix product of two 2-D tensors. @example `mp.mm(mp.ones([2, 3]), mp.ones([3, 4]))` */
export const mm: (input: Tensor, other: Tensor) => Tensor = productOp('mm', mmIn);

function mmIn(input: Tensor, other: Tensor, compute?: DType): Tensor {
  const a = checkTensor('mm', 'input', input);
  const b = checkTensor('mm', 'other', other);
  if (a.ndim !== 2 || b.ndim !== 2) throw new MixprecRangeError('ERR_INVALID_SHAPE', `mm: both arguments must be 2-d, got shapes [${a.shape.join(', ')}] and [${b.shape.join(', ')}]`);
  return stridedProduct('mm', a, b, false, false, compute);
}

/** Batched product of two 3-D tensors with the same batch size. @example `mp.bmm(mp.ones([5, 2, 3]), mp.ones([5, 3, 4]))` */
export const bmm: (input: Tensor, other: Tensor) => Tensor = productOp('bmm', bmmIn);

function bmmIn(input: Tensor, other: Tensor, compute?: DType): Tensor {
  const a = checkTensor('bmm', 'input', input);
  const b = checkTensor('bmm', 'other', other);
  if (a.ndim !== 3 || b.ndim !== 3 || a.shape[0] !== b.shape[0]) {
    throw new MixprecRangeError('ERR_INVALID_SHAPE', `bmm: both arguments must be 3-d with the same batch size, got shapes [${a.shape.join(', ')}] and [${b.shape.join(', ')}]`);
  }
  return stridedProduct('bmm', a, b, false, false, compute);
}

/**
 * `x @ weight^T + bias` with weight [outFeatures, inFeatures] (PyTorch's layout), read
 * transposed in place.
 * @example `mp.linear(mp.ones([2, 3]), mp.ones([4, 3]), mp.zeros([4]))`
 */
export const linear: (input: Tensor, weight: Tensor, bias?: Tensor) => Tensor = defineOp({
  name: 'linear',
  autocast: 'lowerPrecision',
  forward: (input: Tensor, weight: Tensor, bias?: Tensor): Tensor => linearIn(input, weight, bias),
  autocastCastFused: (compute, cast, input, weight, bias) =>
    fusedCall(compute, input, weight, [bias], (c) => linearIn(input, weight, bias && bias.dtype !== c ? cast(bias) : bias, c)),
});

function linearIn(input: Tensor, weight: Tensor, bias?: Tensor, compute?: DType): Tensor {
  const x = checkTensor('linear', 'input', input);
  const w = checkTensor('linear', 'weight', weight);
  if (w.ndim !== 2) throw new MixprecRangeError('ERR_INVALID_SHAPE', `linear: weight must be 2-d [outFeatures, inFeatures], got [${w.shape.join(', ')}]`);
  if (x.ndim === 0) throw new MixprecRangeError('ERR_INVALID_SHAPE', 'linear: input needs at least 1 dimension');
  if (bias !== undefined) {
    const b = checkTensor('linear', 'bias', bias);
    if (b.ndim !== 1 || b.shape[0] !== w.shape[0]) throw new MixprecRangeError('ERR_SHAPE_MISMATCH', `linear: bias must have shape [${w.shape[0]}], got [${b.shape.join(', ')}]`);
  }
  // Leading dims fold into the rows, so [B, T, in] is one [B*T, in] GEMM and its weight
  // gradient one GEMM over B*T, rather than B products whose weight gradients are then summed.
  const rows = x.shape.slice(0, -1).reduce((a, b) => a * b, 1);
  const x2 = x.ndim === 2 ? x : x.reshape([rows, x.shape[x.ndim - 1]]);
  const product2 = withViews(x2 === x ? [] : [x2], () => stridedProduct('linear', x2, w, false, true, compute));
  const shaped = x.ndim === 2 ? product2 : reshaped(product2, [...x.shape.slice(0, -1), w.shape[0]]);
  if (bias === undefined) return shaped;
  return withViews([shaped], () => add(shaped, bias));
}

/** Scaled sum of two terms, PyTorch's `beta * input + alpha * product`. */
function scaledSum(input: Tensor, product: Tensor, beta: number, alpha: number): Tensor {
  const scaledProduct = alpha === 1 ? product : withViews([product], () => product.mul(alpha));
  if (beta === 0) return scaledProduct;
  const scaledInput = beta === 1 ? input : input.mul(beta);
  return withViews(scaledInput === input ? [scaledProduct] : [scaledProduct, scaledInput], () => add(scaledInput, scaledProduct));
}

/** Options of {@link addmm} and {@link baddbmm}. */
export interface AddmmOptions {
  /** Multiplier of `input` (default 1; 0 ignores input, NaN included). */
  beta?: number;
  /** Multiplier of the product (default 1). */
  alpha?: number;
}

function scales(op: string, options: AddmmOptions | undefined): [number, number] {
  const o = options ?? {};
  const beta = o.beta ?? 1;
  const alpha = o.alpha ?? 1;
  if (typeof beta !== 'number') throw new MixprecRangeError('ERR_INVALID_ARG', `${op}: options.beta must be a number, got ${typeof beta}`);
  if (typeof alpha !== 'number') throw new MixprecRangeError('ERR_INVALID_ARG', `${op}: options.alpha must be a number, got ${typeof alpha}`);
  return [beta, alpha];
}

/** `beta * input + alpha * (mat1 @ mat2)` (input broadcasts). @example `mp.addmm(mp.zeros([4]), mp.ones([2, 3]), mp.ones([3, 4]))` */
export const addmm: (input: Tensor, mat1: Tensor, mat2: Tensor, options?: AddmmOptions) => Tensor = defineOp({
  name: 'addmm',
  autocast: 'lowerPrecision',
  forward: (input: Tensor, mat1: Tensor, mat2: Tensor, options?: AddmmOptions): Tensor => {
    const [beta, alpha] = scales('addmm', options);
    return scaledSum(checkTensor('addmm', 'input', input), mm(mat1, mat2), beta, alpha);
  },
});

/** `beta * input + alpha * bmm(batch1, batch2)`. @example `mp.baddbmm(mp.zeros([5, 2, 4]), mp.ones([5, 2, 3]), mp.ones([5, 3, 4]))` */
export const baddbmm: (input: Tensor, batch1: Tensor, batch2: Tensor, options?: AddmmOptions) => Tensor = defineOp({
  name: 'baddbmm',
  autocast: 'lowerPrecision',
  forward: (input: Tensor, batch1: Tensor, batch2: Tensor, options?: AddmmOptions): Tensor => {
    const [beta, alpha] = scales('baddbmm', options);
    return scaledSum(checkTensor('baddbmm', 'input', input), bmm(batch1, batch2), beta, alpha);
  },
});

declare module '../tensor' {
  interface Tensor {
    /** See {@link matmul}. */
    matmul(other: Tensor): Tensor;
  }
}

/** Attaches the Tensor methods declared above. Called once by `ops/install.ts`. */
export function installMatmulMethods(): void {
  Tensor.prototype.matmul = function (this: Tensor, other: Tensor) { return matmul(this, other); };
}
