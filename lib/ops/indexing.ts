/**
 * Raw forward kernels the autograd layer builds on: where, gather, scatterAdd, indexSelect,
 * indexAdd, unfold (im2col) and fold (col2im). They record nothing and always return a new
 * tensor.
 *
 * Indices are int32 and must lie in [0, size) of the indexed dimension: negative indices are
 * errors, as in PyTorch's gather, scatter_add, index_select and index_add. On the CPU every index
 * is checked before anything is written (ERR_INDEX_OUT_OF_RANGE). On CUDA a check would need a
 * host sync, so the kernels skip out-of-range indices instead: gather and indexSelect give 0
 * there, scatterAdd and indexAdd drop the contribution. scatterAdd and indexAdd sum in index
 * order on the CPU (deterministic); on CUDA they use atomics, so float sums may differ in the
 * last bits from run to run. 16-bit values accumulate in float32 and are rounded once.
 */
import { dtypeCode, isFloatingPoint, promoteTypes, promoteWithScalar, type DType } from '../dtype';
import { argRangeError, argTypeError, MixprecRangeError } from '../errors';
import { full, zeros } from '../creation';
import { native } from '../native';
import { broadcastShapes, broadcastStrides, normalizeDim, numelOf } from '../shape';
import { Tensor } from '../tensor';
import { sumToShape } from './gradUtils';
import { operand, shaped, strided } from './nativeOperands';
import { checkTensor, newResult, requireSameDevice, withDtype } from './operands';
import { defineOp } from './registry';
import { sliceScatter } from './shapeOps';

function checkIndex(op: string, arg: string, value: unknown): Tensor {
  const t = checkTensor(op, arg, value);
  if (t.dtype !== 'int32') throw argTypeError(op, arg, 'an int32 tensor', t, 'ERR_INVALID_DTYPE');
  return t;
}

/** Rejects bool for the ops that sum values. */
function checkSummable(op: string, arg: string, t: Tensor): void {
  if (t.dtype === 'bool') throw argTypeError(op, arg, 'a numeric tensor (bool values cannot be summed)', t, 'ERR_INVALID_DTYPE');
}

function checkSameDtype(op: string, arg: string, t: Tensor, input: Tensor): void {
  if (t.dtype !== input.dtype) throw argTypeError(op, arg, `a ${input.dtype} tensor (the dtype of input)`, t, 'ERR_DTYPE_MISMATCH');
}

/** Row-major coordinates of flat position `i` in `shape`. */
function coordinates(i: number, shape: number[]): number[] {
  const out = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; --d) {
    out[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return out;
}

/**
 * Turns a native out-of-range report (the flat position of the first bad index, or -1) into an
 * error naming the value, where it sits and the bound; `out` is freed first.
 */
function checkIndexReport(op: string, position: number, index: Tensor, size: number, dimension: string, out: Tensor): Tensor {
  if (position < 0) return out;
  out.dispose();
  const value = new Int32Array(native.read(index.storage.handle, index.offset + position, 1, dtypeCode('int32')))[0];
  const where = index.ndim === 0 ? '' : ` at index position [${coordinates(position, index.shape).join(', ')}]`;
  // The value and flat position travel with the error, so a caller (embedding) can restate it.
  throw Object.assign(new MixprecRangeError('ERR_INDEX_OUT_OF_RANGE',
    `${op}: argument 'index' must hold indices in [0, ${size}) (the size of ${dimension}), got ${value}${where}`), { badIndex: value, position });
}

/** What an ERR_INDEX_OUT_OF_RANGE error of this file carries besides its message. */
export interface IndexReport {
  badIndex: number;
  /** The flat position of the first bad index in the index tensor. */
  position: number;
}

/** Row-major coordinates of flat position `i` in `shape`, as text ("[1, 2]"), for error messages. */
export function positionText(i: number, shape: number[]): string {
  return `[${coordinates(i, shape).join(', ')}]`;
}

/** A shape with 0-d read as [1], for kernels that need at least one dimension. */
function atLeast1d(shape: number[]): number[] {
  return shape.length === 0 ? [1] : shape;
}

function tensorOrNumber(op: string, arg: string, v: unknown): Tensor | number {
  if (typeof v === 'number') return v;
  return checkTensor(op, arg, v);
}

/** Runs `fn` with `v` as a `dtype` tensor on `like`'s device: a 0-d tensor for a number, freed afterwards. */
function asTensor<R>(v: Tensor | number, dtype: DType, like: Tensor, fn: (t: Tensor) => R): R {
  if (v instanceof Tensor) return withDtype(v, dtype, fn);
  const t = full([], v, { dtype, device: like.device });
  try {
    return fn(t);
  } finally {
    t.dispose();
  }
}

/**
 * `condition ? input : other` elementwise. `condition` must be bool; all three broadcast
 * together. The result dtype is the promotion of input and other (a number only widens a
 * tensor's category, as in {@link add}); two numbers give float32.
 *
 * @example
 * ```ts
 * const x = mp.tensor([-1, 2, -3]);
 * mp.where(x.gt(0), x, 0); // [0, 2, 0]
 * ```
 */
export function whereForward(condition: Tensor, input: Tensor | number, other: Tensor | number): Tensor {
  const cond = checkTensor('where', 'condition', condition);
  if (cond.dtype !== 'bool') throw argTypeError('where', 'condition', 'a bool tensor', cond, 'ERR_INVALID_DTYPE');
  const a = tensorOrNumber('where', 'input', input);
  const b = tensorOrNumber('where', 'other', other);
  const tensors = [a, b].filter((v): v is Tensor => v instanceof Tensor);
  requireSameDevice('where', [cond, ...tensors]);
  let dtype: DType;
  if (a instanceof Tensor && b instanceof Tensor) dtype = promoteTypes(a.dtype, b.dtype);
  else if (a instanceof Tensor) dtype = promoteWithScalar(a.dtype, b as number);
  else if (b instanceof Tensor) dtype = promoteWithScalar(b.dtype, a);
  else dtype = 'float32';
  const shapeOf = (v: Tensor | number) => (v instanceof Tensor ? v.shape : []);
  const shape = broadcastShapes('where', broadcastShapes('where', cond.shape, shapeOf(a)), shapeOf(b));
  const out = newResult('where', shape, dtype, cond);
  asTensor(a, dtype, cond, (ta) =>
    asTensor(b, dtype, cond, (tb) => {
      native.where({ dtype: dtypeCode(dtype), cond: strided(cond, broadcastStrides(cond.shape, shape)), a: strided(ta, broadcastStrides(ta.shape, shape)),
        b: strided(tb, broadcastStrides(tb.shape, shape)), out: operand(out), shape });
    }),
  );
  return out;
}

/** The same-rank and size checks gather and scatterAdd share; returns the normalized dim. */
function checkScatterShapes(op: string, input: Tensor, dim: number, index: Tensor, src?: Tensor): number {
  const d = normalizeDim(op, 'dim', dim, input.ndim);
  const rank = (t: Tensor, arg: string) => {
    if (t.ndim !== input.ndim) throw argRangeError(op, arg, `a tensor with ${input.ndim} dimensions (as many as input)`, t, 'ERR_SHAPE_MISMATCH');
  };
  rank(index, 'index');
  if (src) rank(src, 'src');
  index.shape.forEach((s, k) => {
    if (k !== d && s > input.shape[k]) {
      throw argRangeError(op, 'index', `no larger than input [${input.shape.join(', ')}] outside dimension ${d}`, index, 'ERR_SHAPE_MISMATCH');
    }
    if (src && s > src.shape[k]) {
      throw argRangeError(op, 'index', `no larger than src [${src.shape.join(', ')}] in any dimension`, index, 'ERR_SHAPE_MISMATCH');
    }
  });
  return d;
}

/**
 * PyTorch's `torch.gather`: `out[i][j][k] = input[index[i][j][k]][j][k]` for dim 0 (and so on).
 * `index` is int32 with input's rank and no larger than input outside `dim`; the result has
 * index's shape and input's dtype. `dim` may be negative. Indices must lie in
 * [0, input.shape[dim]); CUDA gives 0 for out-of-range ones instead of an error.
 *
 * @example
 * ```ts
 * const x = mp.tensor([[1, 2], [3, 4]]);
 * mp.gather(x, 1, mp.tensor([[0, 0], [1, 0]], { dtype: 'int32' })); // [[1, 1], [4, 3]]
 * ```
 */
export function gatherForward(input: Tensor, dim: number, index: Tensor): Tensor {
  const t = checkTensor('gather', 'input', input);
  const ix = checkIndex('gather', 'index', index);
  requireSameDevice('gather', [t, ix]);
  const d = checkScatterShapes('gather', t, dim, ix);
  const out = newResult('gather', ix.shape, t.dtype, t);
  const bad = native.gather({ dtype: dtypeCode(t.dtype), input: shaped(t, atLeast1d(t.shape)), index: shaped(ix, atLeast1d(ix.shape)),
    out: operand(out), dim: d });
  return checkIndexReport('gather', bad, ix, atLeast1d(t.shape)[d], `input's dimension ${d}`, out);
}

/**
 * Out-of-place `torch.scatter_add`: a copy of `input` with `src[i][j][k]` added at
 * `[index[i][j][k]][j][k]` for dim 0 (and so on). `index` is int32 with input's rank, no larger
 * than `src` anywhere and than input outside `dim`; `src` has input's dtype (not bool).
 * Deterministic on the CPU; CUDA uses atomics (float sums may vary in the last bits) and drops
 * out-of-range indices instead of raising.
 *
 * @example
 * ```ts
 * const idx = mp.tensor([0, 1, 0], { dtype: 'int32' });
 * mp.scatterAdd(mp.zeros([2]), 0, idx, mp.tensor([1, 2, 3])); // [4, 2]
 * ```
 */
export function scatterAddForward(input: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  const t = checkTensor('scatterAdd', 'input', input);
  const ix = checkIndex('scatterAdd', 'index', index);
  const s = checkTensor('scatterAdd', 'src', src);
  requireSameDevice('scatterAdd', [t, ix, s]);
  checkSummable('scatterAdd', 'input', t);
  checkSameDtype('scatterAdd', 'src', s, t);
  const d = checkScatterShapes('scatterAdd', t, dim, ix, s);
  const out = newResult('scatterAdd', t.shape, t.dtype, t);
  const bad = native.scatterAdd({ dtype: dtypeCode(t.dtype), input: shaped(t, atLeast1d(t.shape)), index: shaped(ix, atLeast1d(ix.shape)),
    src: shaped(s, atLeast1d(s.shape)), out: operand(out), dim: d });
  return checkIndexReport('scatterAdd', bad, ix, atLeast1d(t.shape)[d], `input's dimension ${d}`, out);
}

/** input viewed as [outer, size, inner] around `d`. */
function aroundDim(shape: number[], d: number): { outer: number; size: number; inner: number } {
  return { outer: numelOf(shape.slice(0, d)), size: shape[d], inner: numelOf(shape.slice(d + 1)) };
}

function checkIndexVector(op: string, value: unknown): Tensor {
  const ix = checkIndex(op, 'index', value);
  if (ix.ndim > 1) throw argRangeError(op, 'index', 'a 1-d (or 0-d) int32 tensor', ix, 'ERR_INVALID_SHAPE');
  return ix;
}

function withDimension(op: string, t: Tensor): Tensor {
  if (t.ndim === 0) throw argRangeError(op, 'input', 'a tensor with at least one dimension', t, 'ERR_INVALID_SHAPE');
  return t;
}

/**
 * `torch.index_select`: the slices of `input` along `dim` named by a 1-d (or 0-d) int32
 * `index`, in its order (repeats allowed). The result has input's shape with `shape[dim]` =
 * index.numel. Indices must lie in [0, input.shape[dim]); CUDA gives 0 for out-of-range ones
 * instead of an error.
 *
 * @example
 * ```ts
 * const w = mp.tensor([[1, 2], [3, 4], [5, 6]]);
 * mp.indexSelect(w, 0, mp.tensor([2, 0, 2], { dtype: 'int32' })); // [[5, 6], [1, 2], [5, 6]]
 * ```
 */
export function indexSelectForward(input: Tensor, dim: number, index: Tensor): Tensor {
  const t = withDimension('indexSelect', checkTensor('indexSelect', 'input', input));
  const ix = checkIndexVector('indexSelect', index);
  requireSameDevice('indexSelect', [t, ix]);
  const d = normalizeDim('indexSelect', 'dim', dim, t.ndim);
  const { outer, size, inner } = aroundDim(t.shape, d);
  const shape = t.shape;
  shape[d] = ix.numel;
  const out = newResult('indexSelect', shape, t.dtype, t);
  const bad = native.indexSelect({ dtype: dtypeCode(t.dtype), input: operand(t), index: operand(ix), out: operand(out), outer, size, inner,
    count: ix.numel });
  return checkIndexReport('indexSelect', bad, ix, size, `input's dimension ${d}`, out);
}

/**
 * Out-of-place `torch.index_add`: a copy of `input` where slice `index[i]` along `dim` gets
 * slice `i` of `source` added. `source` has input's dtype (not bool) and shape except
 * `shape[dim]` = index.numel. Repeated indices accumulate (in index order on the CPU; with
 * atomics on CUDA, which also drops out-of-range indices instead of raising).
 *
 * @example
 * ```ts
 * const idx = mp.tensor([1, 1], { dtype: 'int32' });
 * mp.indexAdd(mp.zeros([2, 2]), 0, idx, mp.ones([2, 2])); // [[0, 0], [2, 2]]
 * ```
 */
export function indexAddForward(input: Tensor, dim: number, index: Tensor, source: Tensor): Tensor {
  const t = withDimension('indexAdd', checkTensor('indexAdd', 'input', input));
  const ix = checkIndexVector('indexAdd', index);
  const s = checkTensor('indexAdd', 'source', source);
  requireSameDevice('indexAdd', [t, ix, s]);
  checkSummable('indexAdd', 'input', t);
  checkSameDtype('indexAdd', 'source', s, t);
  const d = normalizeDim('indexAdd', 'dim', dim, t.ndim);
  const want = t.shape;
  want[d] = ix.numel;
  if (s.ndim !== want.length || s.shape.some((v, k) => v !== want[k])) {
    throw argRangeError('indexAdd', 'source', `a tensor of shape [${want.join(', ')}] (input's shape with index.numel along dimension ${d})`, s, 'ERR_SHAPE_MISMATCH');
  }
  const { outer, size, inner } = aroundDim(t.shape, d);
  const out = newResult('indexAdd', t.shape, t.dtype, t);
  const bad = native.indexAdd({ dtype: dtypeCode(t.dtype), input: operand(t), index: operand(ix), source: operand(s), out: operand(out), outer,
    size, inner, count: ix.numel });
  return checkIndexReport('indexAdd', bad, ix, size, `input's dimension ${d}`, out);
}

/** Dilation, padding and stride of {@link unfold} and {@link fold}: one number for both axes, or [height, width]. */
export interface WindowOptions {
  dilation?: number | [number, number];
  padding?: number | [number, number];
  stride?: number | [number, number];
}

function pair(op: string, arg: string, value: unknown, min: number): [number, number] {
  const ok = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min;
  if (ok(value)) return [value, value];
  if (Array.isArray(value) && value.length === 2 && ok(value[0]) && ok(value[1])) return [value[0], value[1]];
  const what = min > 0 ? 'positive integer' : 'non-negative integer';
  throw argRangeError(op, arg, `a ${what} or a pair of ${what}s`, value);
}

/** A parsed sliding window and how many blocks it gives. */
export interface Window {
  kh: number; kw: number; dh: number; dw: number; ph: number; pw: number; sh: number; sw: number;
  /** Blocks along height and width. */
  outH: number; outW: number;
}

/**
 * Parses a window (kernel size, dilation, padding, stride) and computes how many blocks fit an
 * image of [height, width]; errors name `op`. The layers built on unfold use it for their
 * output sizes.
 */
export function windowOf(op: string, kernelSize: unknown, options: WindowOptions | undefined, height: number, width: number): Window {
  if (options !== undefined && (typeof options !== 'object' || options === null)) throw argTypeError(op, 'options', 'an object', options);
  const [kh, kw] = pair(op, 'kernelSize', kernelSize, 1);
  const [dh, dw] = pair(op, 'options.dilation', options?.dilation ?? 1, 1);
  const [ph, pw] = pair(op, 'options.padding', options?.padding ?? 0, 0);
  const [sh, sw] = pair(op, 'options.stride', options?.stride ?? 1, 1);
  const blocks = (size: number, k: number, dl: number, p: number, s: number) => Math.floor((size + 2 * p - dl * (k - 1) - 1) / s) + 1;
  const outH = blocks(height, kh, dh, ph, sh);
  const outW = blocks(width, kw, dw, pw, sw);
  if (outH < 1 || outW < 1) {
    throw new MixprecRangeError('ERR_INVALID_SHAPE', `${op}: a ${kh}x${kw} kernel with dilation [${dh}, ${dw}] and padding [${ph}, ${pw}] does not fit the spatial size [${height}, ${width}]: that gives [${outH}, ${outW}] blocks, each must be at least 1`);
  }
  return { kh, kw, dh, dw, ph, pw, sh, sw, outH, outW };
}

/**
 * `torch.nn.functional.unfold` (im2col): every kh x kw block of `input` [N, C, H, W] (or
 * [C, H, W]) as a column of the result [N, C*kh*kw, L] (or [C*kh*kw, L]), L = the number of
 * blocks, rows ordered (c, ki, kj). Positions in the padding read `padValue` (default 0; max
 * pooling passes -Infinity), which must be an integer for int32 and bool inputs.
 *
 * @example
 * ```ts
 * const x = mp.arange(16).reshape([1, 1, 4, 4]);
 * mp.unfold(x, [2, 2], { stride: 2 }).shape; // [1, 4, 4]
 * ```
 */
export function unfoldForward(input: Tensor, kernelSize: [number, number], options?: WindowOptions & { padValue?: number }): Tensor {
  const t = checkTensor('unfold', 'input', input);
  if (t.ndim !== 3 && t.ndim !== 4) throw argRangeError('unfold', 'input', 'a 4-d [N, C, H, W] or 3-d [C, H, W] tensor', t, 'ERR_INVALID_SHAPE');
  const [height, width] = t.shape.slice(-2);
  const w = windowOf('unfold', kernelSize, options, height, width);
  const padValue = options?.padValue ?? 0;
  if (typeof padValue !== 'number' || (!isFloatingPoint(t.dtype) && !(Number.isInteger(padValue) && Math.abs(padValue) <= 2147483647))) {
    throw argTypeError('unfold', 'options.padValue', isFloatingPoint(t.dtype) ? 'a number' : `an int32 value for a ${t.dtype} input`, padValue);
  }
  const lead = t.shape.slice(0, -3);
  const channels = t.shape[t.ndim - 3];
  const planes = numelOf(lead) * channels;
  const out = newResult('unfold', [...lead, channels * w.kh * w.kw, w.outH * w.outW], t.dtype, t);
  native.unfold({ dtype: dtypeCode(t.dtype), input: operand(t), out: operand(out), planes, height, width, window: w, padValue });
  return out;
}

/**
 * `torch.nn.functional.fold` (col2im), the adjoint of {@link unfold}: sums the columns of
 * `input` [N, C*kh*kw, L] (or [C*kh*kw, L]) into the image [N, C, H, W] (or [C, H, W]) of
 * `outputSize` [H, W], adding where blocks overlap and dropping what falls in the padding. L must
 * be the number of blocks unfold gives for that size. Deterministic (threads own whole planes).
 *
 * @example
 * ```ts
 * const cols = mp.ones([1, 4, 4]);
 * mp.fold(cols, [3, 3], [2, 2]).toArray(); // [[[[1, 2, 1], [2, 4, 2], [1, 2, 1]]]]
 * ```
 */
export function foldForward(input: Tensor, outputSize: [number, number], kernelSize: [number, number], options?: WindowOptions): Tensor {
  const t = checkTensor('fold', 'input', input);
  if (t.ndim !== 2 && t.ndim !== 3) throw argRangeError('fold', 'input', 'a 3-d [N, C*kh*kw, L] or 2-d [C*kh*kw, L] tensor', t, 'ERR_INVALID_SHAPE');
  checkSummable('fold', 'input', t);
  const [height, width] = pair('fold', 'outputSize', outputSize, 1);
  const w = windowOf('fold', kernelSize, options, height, width);
  const [rows, columns] = t.shape.slice(-2);
  if (rows % (w.kh * w.kw) !== 0) {
    throw argRangeError('fold', 'input', `a tensor whose dimension ${t.ndim - 2} is divisible by the kernel's ${w.kh}x${w.kw} = ${w.kh * w.kw} positions`, t, 'ERR_INVALID_SHAPE');
  }
  if (columns !== w.outH * w.outW) {
    throw argRangeError('fold', 'input', `a tensor with ${w.outH * w.outW} columns (the [${w.outH}, ${w.outW}] blocks of outputSize [${height}, ${width}]) in its last dimension`, t, 'ERR_INVALID_SHAPE');
  }
  const lead = t.shape.slice(0, -2);
  const channels = rows / (w.kh * w.kw);
  const out = newResult('fold', [...lead, channels, height, width], t.dtype, t);
  native.fold({ dtype: dtypeCode(t.dtype), input: operand(t), out: operand(out), planes: numelOf(lead) * channels, height, width,
    window: w });
  return out;
}

/** A tensor input's gradient, or undefined when not needed. */
const needed = (needs: boolean[], i: number, make: () => Tensor): Tensor | undefined => (needs[i] ? make() : undefined);

/**
 * Elements of `input` where `condition` is true, else of `other` (broadcasting; dtypes promote).
 * @example `mp.where(mp.tensor([-1, 2]).gt(0), mp.tensor([-1, 2]), 0)`
 */
export const where: (condition: Tensor, input: Tensor | number, other: Tensor | number) => Tensor = defineOp({
  name: 'where',
  autocast: 'passThrough',
  forward: (condition: Tensor, input: Tensor | number, other: Tensor | number): Tensor => whereForward(condition, input, other),
  save: ([condition]) => [condition],
  backward: ({ args: [, input, other], saved: [condition], needsInputGrad }, [g]) => {
    if (!g) return [];
    // needsInputGrad lists tensor inputs in order: condition (bool, never needed), then input/other when tensors.
    const grads: (Tensor | undefined)[] = [undefined];
    let position = 1;
    if (input instanceof Tensor) {
      grads.push(needed(needsInputGrad, position, () => sumToShape(where(condition, g, 0), input.shape)));
      position += 1;
    }
    if (other instanceof Tensor) grads.push(needed(needsInputGrad, position, () => sumToShape(where(condition, 0, g), other.shape)));
    return grads;
  },
});

/** The gradient of `src` read back where it was written (index may be smaller than src). */
function padTo(t: Tensor, shape: number[]): Tensor {
  let out = t;
  shape.forEach((size, d) => {
    if (out.shape[d] !== size) out = sliceScatter(out, [...out.shape.slice(0, d), size, ...out.shape.slice(d + 1)], d, 0, 1);
  });
  return out;
}

/**
 * Values of `input` at `index` along `dim` (torch.gather). @example `mp.gather(mp.tensor([[1, 2], [3, 4]]), 1, mp.tensor([[1], [0]], { dtype: 'int32' }))`
 */
export const gather: (input: Tensor, dim: number, index: Tensor) => Tensor = defineOp({
  name: 'gather',
  autocast: 'passThrough',
  forward: (input: Tensor, dim: number, index: Tensor): Tensor => gatherForward(input, dim, index),
  save: ([, , index]) => [index],
  backward: ({ args: [input, dim], saved: [index] }, [g]) => [g && scatterAdd(zeros(input.shape, { dtype: g.dtype, device: g.device }), dim, index, g)],
});

/**
 * `input` with `src` added at `index` along `dim` (out-of-place torch.scatter_add).
 * @example `mp.scatterAdd(mp.zeros([3]), 0, mp.tensor([0, 2, 0], { dtype: 'int32' }), mp.tensor([1, 2, 3]))`
 */
export const scatterAdd: (input: Tensor, dim: number, index: Tensor, src: Tensor) => Tensor = defineOp({
  name: 'scatterAdd',
  autocast: { cuda: 'promote', cpu: 'passThrough' },
  forward: (input: Tensor, dim: number, index: Tensor, src: Tensor): Tensor => scatterAddForward(input, dim, index, src),
  save: ([, , index]) => [index],
  backward: ({ args: [, dim, , src], saved: [index], needsInputGrad }, [g]) => {
    if (!g) return [];
    return [needed(needsInputGrad, 0, () => g), undefined, needed(needsInputGrad, 2, () => padTo(gather(g, dim, index), src.shape))];
  },
});

/** Slices of `input` at the positions `index` along `dim`. @example `mp.indexSelect(mp.randn([5, 3]), 0, mp.tensor([4, 1], { dtype: 'int32' }))` */
export const indexSelect: (input: Tensor, dim: number, index: Tensor) => Tensor = defineOp({
  name: 'indexSelect',
  autocast: 'passThrough',
  forward: (input: Tensor, dim: number, index: Tensor): Tensor => indexSelectForward(input, dim, index),
  save: ([, , index]) => [index],
  backward: ({ args: [input, dim], saved: [index] }, [g]) => [g && indexAdd(zeros(input.shape, { dtype: g.dtype, device: g.device }), dim, index, g)],
});

/** `input` with slices of `source` added at `index` along `dim`. @example `mp.indexAdd(mp.zeros([3, 2]), 0, mp.tensor([2, 0], { dtype: 'int32' }), mp.ones([2, 2]))` */
export const indexAdd: (input: Tensor, dim: number, index: Tensor, source: Tensor) => Tensor = defineOp({
  name: 'indexAdd',
  autocast: 'passThrough',
  forward: (input: Tensor, dim: number, index: Tensor, source: Tensor): Tensor => indexAddForward(input, dim, index, source),
  save: ([, , index]) => [index],
  backward: ({ args: [, dim], saved: [index], needsInputGrad }, [g]) => {
    if (!g) return [];
    return [needed(needsInputGrad, 0, () => g), undefined, needed(needsInputGrad, 2, () => indexSelect(g, dim, index))];
  },
});

/**
 * Sliding blocks of a batched image, as columns (torch.nn.functional.unfold, im2col):
 * [N, C, H, W] → [N, C·kh·kw, L]. @example `mp.unfold(mp.ones([1, 1, 4, 4]), [3, 3], { padding: 1 })`
 */
export const unfold: (input: Tensor, kernelSize: [number, number], options?: WindowOptions & { padValue?: number }) => Tensor = defineOp({
  name: 'unfold',
  autocast: 'passThrough',
  forward: (input: Tensor, kernelSize: [number, number], options?: WindowOptions & { padValue?: number }): Tensor => unfoldForward(input, kernelSize, options),
  backward: ({ args: [input, kernelSize, options] }, [g]) => {
    const { padValue: _unused, ...window } = options ?? {};
    void _unused;
    return [g && fold(g, [input.shape[input.ndim - 2], input.shape[input.ndim - 1]], kernelSize, window)];
  },
});

/**
 * Sums columns back into an image (torch.nn.functional.fold, col2im): the adjoint of unfold.
 * @example `mp.fold(mp.ones([1, 9, 16]), [4, 4], [3, 3], { padding: 1 })`
 */
export const fold: (input: Tensor, outputSize: [number, number], kernelSize: [number, number], options?: WindowOptions) => Tensor = defineOp({
  name: 'fold',
  autocast: 'passThrough',
  forward: (input: Tensor, outputSize: [number, number], kernelSize: [number, number], options?: WindowOptions): Tensor => foldForward(input, outputSize, kernelSize, options),
  backward: ({ args: [, , kernelSize, options] }, [g]) => [g && unfold(g, kernelSize, options)],
});

declare module '../tensor' {
  interface Tensor {
    /** See {@link gather}. */
    gather(dim: number, index: Tensor): Tensor;
    /** See {@link indexSelect}. */
    indexSelect(dim: number, index: Tensor): Tensor;
    /** See {@link scatterAdd}. */
    scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor;
    /** See {@link indexAdd}. */
    indexAdd(dim: number, index: Tensor, source: Tensor): Tensor;
  }
}

/** Attaches the Tensor methods declared above. Called once by `ops/install.ts`. */
export function installIndexingMethods(): void {
  Tensor.prototype.gather = function (this: Tensor, dim: number, index: Tensor) { return gather(this, dim, index); };
  Tensor.prototype.indexSelect = function (this: Tensor, dim: number, index: Tensor) { return indexSelect(this, dim, index); };
  Tensor.prototype.scatterAdd = function (this: Tensor, dim: number, index: Tensor, src: Tensor) { return scatterAdd(this, dim, index, src); };
  Tensor.prototype.indexAdd = function (this: Tensor, dim: number, index: Tensor, source: Tensor) { return indexAdd(this, dim, index, source); };
}
