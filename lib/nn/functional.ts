/**
 * `mp.nn.functional`: the layers' math as functions (conv, pooling, normalization, dropout,
 * embedding) and the losses. Each is a registry op built from recorded ops, so autograd (and
 * double backward) comes from its parts; autocast reads the category declared here.
 */
import { noGrad } from '../autograd/gradMode';
import { ones, tensor } from '../creation';
import { isFloatingPoint } from '../dtype';
import { argRangeError, argTypeError, MixprecError, MixprecRangeError, MixprecTypeError } from '../errors';
import { rand } from '../random';
import { checkTensor, Tensor } from '../tensor';
import { fold as foldOp, gather, indexSelect, unfold as unfoldOp, where, windowOf, type Window, type WindowOptions } from '../ops/indexing';
import { linear as linearOp, matmul } from '../ops/matmul';
import { defineOp } from '../ops/registry';
import { flatten as flattenOp } from '../ops/viewCast';

export { relu, gelu, silu, tanh, sigmoid, leakyRelu, elu, softplus } from '../ops/unary';
export { softmax, logSoftmax } from '../ops/reduceAlong';
export { linearOp as linear, foldOp as fold, unfoldOp as unfold };

/** `x.flatten(startDim, endDim)` (defaults 0 and -1). @example `mp.nn.functional.flatten(mp.ones([2, 3, 4]), 1)` */
export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  return flattenOp(x, startDim, endDim);
}

type Pair = number | [number, number];

/** Options of {@link conv2d}. */
export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
}

/**
 * 2-D convolution (cross-correlation, as PyTorch): input [N, C, H, W], weight
 * [O, C/groups, kh, kw], optional bias [O]. Computed as unfold (im2col) and a batched GEMM.
 * @example `mp.nn.functional.conv2d(mp.ones([1, 3, 8, 8]), mp.ones([4, 3, 3, 3]), mp.zeros([4]), { padding: 1 })`
 */
export const conv2d: (input: Tensor, weight: Tensor, bias?: Tensor, options?: Conv2dOptions) => Tensor = defineOp({
  name: 'conv2d',
  autocast: 'lowerPrecision',
  forward: (input: Tensor, weight: Tensor, bias?: Tensor, options?: Conv2dOptions): Tensor => {
    const x = checkTensor('conv2d', 'input', input);
    const w = checkTensor('conv2d', 'weight', weight);
    const groups = options?.groups ?? 1;
    if (!Number.isInteger(groups) || groups < 1) throw argRangeError('conv2d', 'options.groups', 'a positive integer', groups);
    if (x.ndim !== 4) throw argRangeError('conv2d', 'input', 'a 4-d [N, C, H, W] tensor', x, 'ERR_INVALID_SHAPE');
    if (w.ndim !== 4) throw argRangeError('conv2d', 'weight', 'a 4-d [outChannels, inChannels/groups, kh, kw] tensor', w, 'ERR_INVALID_SHAPE');
    const [n, c, h, wd] = x.shape;
    const [o, cg, kh, kw] = w.shape;
    if (c % groups !== 0 || o % groups !== 0 || cg * groups !== c) {
      throw new MixprecRangeError('ERR_SHAPE_MISMATCH', `conv2d: weight [${w.shape.join(', ')}] with groups=${groups} expects ${cg * groups} input channels (and outChannels divisible by groups), got input [${x.shape.join(', ')}]`);
    }
    if (x.dtype !== w.dtype) throw new MixprecError('ERR_DTYPE_MISMATCH', `conv2d: input and weight must have the same dtype, got ${x.dtype} and ${w.dtype} (convert one with .to(), or use autocast)`);
    if (bias !== undefined) {
      const b = checkTensor('conv2d', 'bias', bias);
      if (b.ndim !== 1 || b.shape[0] !== o) throw new MixprecRangeError('ERR_SHAPE_MISMATCH', `conv2d: bias must have shape [${o}], got [${b.shape.join(', ')}]`);
    }
    const window: WindowOptions = { stride: options?.stride ?? 1, padding: options?.padding ?? 0, dilation: options?.dilation ?? 1 };
    const { outH, outW } = windowOf('conv2d', [kh, kw], window, h, wd);
    const grouped = unfoldOp(x, [kh, kw], window).reshape([n, groups, cg * kh * kw, outH * outW]);
    const product = matmul(w.reshape([groups, o / groups, cg * kh * kw]), grouped);
    const out = product.reshape([n, o, outH, outW]);
    return bias === undefined ? out : out.add(bias.reshape([1, o, 1, 1]));
  },
});

/** Options of {@link maxPool2d}. */
export interface MaxPool2dOptions {
  /** Default: the kernel size. */
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
}

function poolShape(op: string, x: Tensor): [number, number, number, number] {
  const t = checkTensor(op, 'input', x);
  if (t.ndim !== 4) throw argRangeError(op, 'input', 'a 4-d [N, C, H, W] tensor', t, 'ERR_INVALID_SHAPE');
  return t.shape as [number, number, number, number];
}

/** PyTorch's pooling rule: padding at most half the effective kernel size. */
function checkPoolPadding(op: string, win: Window, padding: unknown): void {
  const [eh, ew] = [(win.kh - 1) * win.dh + 1, (win.kw - 1) * win.dw + 1];
  if (2 * win.ph > eh || 2 * win.pw > ew) throw argRangeError(op, 'options.padding', `at most half the effective kernel size [${eh}, ${ew}]`, padding);
}

/**
 * Max over sliding windows (padding reads -Inf). As in PyTorch, the gradient of a window goes
 * to its first maximum (ties are not shared).
 * @example `mp.nn.functional.maxPool2d(mp.ones([1, 1, 4, 4]), 2)`
 */
export const maxPool2d: (input: Tensor, kernelSize: Pair, options?: MaxPool2dOptions) => Tensor = defineOp({
  name: 'maxPool2d',
  autocast: 'passThrough',
  forward: (input: Tensor, kernelSize: Pair, options?: MaxPool2dOptions): Tensor => {
    const [n, c, h, w] = poolShape('maxPool2d', input);
    const window = { stride: options?.stride ?? kernelSize, padding: options?.padding ?? 0, dilation: options?.dilation ?? 1 };
    const win = windowOf('maxPool2d', kernelSize, window, h, w);
    checkPoolPadding('maxPool2d', win, options?.padding);
    const cols = unfoldOp(input, [win.kh, win.kw], { ...window, padValue: -Infinity });
    const windows = cols.reshape([n, c, win.kh * win.kw, win.outH * win.outW]);
    // The first maximum of each window (NaN wins), as PyTorch: its gradient goes there only.
    const pooled = gather(windows, 2, windows.argmax({ dim: 2, keepdim: true }));
    return pooled.reshape([n, c, win.outH, win.outW]);
  },
});

/** Options of {@link avgPool2d}. */
export interface AvgPool2dOptions {
  stride?: Pair;
  padding?: Pair;
  /** Count padded zeros in the average (default true, as PyTorch). */
  countIncludePad?: boolean;
}

/** Mean over sliding windows. @example `mp.nn.functional.avgPool2d(mp.ones([1, 1, 4, 4]), 2)` */
export const avgPool2d: (input: Tensor, kernelSize: Pair, options?: AvgPool2dOptions) => Tensor = defineOp({
  name: 'avgPool2d',
  autocast: 'passThrough',
  forward: (input: Tensor, kernelSize: Pair, options?: AvgPool2dOptions): Tensor => {
    const [n, c, h, w] = poolShape('avgPool2d', input);
    const window = { stride: options?.stride ?? kernelSize, padding: options?.padding ?? 0 };
    const win = windowOf('avgPool2d', kernelSize, window, h, w);
    checkPoolPadding('avgPool2d', win, options?.padding);
    const cols = unfoldOp(input, [win.kh, win.kw], window).reshape([n, c, win.kh * win.kw, -1]);
    const shape = [n, c, win.outH, win.outW];
    if (options?.countIncludePad ?? true) return cols.mean({ dim: 2 }).reshape(shape);
    const counts = unfoldOp(ones([1, 1, h, w], { dtype: input.dtype, device: input.device }), [win.kh, win.kw], window).sum({ dim: 1 });
    return cols.sum({ dim: 2 }).div(counts).reshape(shape);
  },
});

/** The [out, in] matrix averaging PyTorch's adaptive windows along one dimension. */
function adaptiveMatrix(inSize: number, outSize: number, like: Tensor): Tensor {
  const values = new Float64Array(outSize * inSize);
  for (let i = 0; i < outSize; ++i) {
    const start = Math.floor((i * inSize) / outSize);
    const end = Math.ceil(((i + 1) * inSize) / outSize);
    for (let j = start; j < end; ++j) values[i * inSize + j] = 1 / (end - start);
  }
  return tensor(values, { dtype: like.dtype, device: like.device, shape: [outSize, inSize] });
}

/**
 * Average pooling to a fixed output size (PyTorch's window rule), as two small matrix products.
 * @example `mp.nn.functional.adaptiveAvgPool2d(mp.ones([1, 2, 4, 4]), [1, 1])`
 */
export const adaptiveAvgPool2d: (input: Tensor, outputSize: number | [number | null, number | null]) => Tensor = defineOp({
  name: 'adaptiveAvgPool2d',
  autocast: 'passThrough',
  forward: (input: Tensor, outputSize: number | [number | null, number | null]): Tensor => {
    const [, , h, w] = poolShape('adaptiveAvgPool2d', input);
    // null keeps that input size, as in PyTorch.
    const [oh, ow] = typeof outputSize === 'number' ? [outputSize, outputSize] : [outputSize[0] ?? h, outputSize[1] ?? w];
    if (!(Number.isInteger(oh) && Number.isInteger(ow) && oh > 0 && ow > 0)) throw argRangeError('adaptiveAvgPool2d', 'outputSize', 'positive integers', outputSize);
    const rows = adaptiveMatrix(h, oh, input);
    const cols = adaptiveMatrix(w, ow, input);
    return matmul(matmul(rows, input), cols.transpose(0, 1));
  },
});

/** Options of {@link batchNorm}. */
export interface BatchNormOptions {
  /** Use batch statistics (and update running ones) instead of the running ones (default false). */
  training?: boolean;
  /** Weight of the new batch statistic in the running averages (default 0.1). */
  momentum?: number;
  eps?: number;
}

/**
 * Normalization layers compute 16-bit inputs in float32 and return the input's dtype (as
 * PyTorch's kernels do), so statistics never round through float16/bfloat16.
 */
const widened = (x: Tensor): Tensor => (x.dtype === 'float16' || x.dtype === 'bfloat16' ? x.to('float32') : x);

/** The per-channel shape [1, C, 1, ...] for an input of `ndim` dims. */
const channelShape = (c: number, ndim: number): number[] => [1, c, ...new Array<number>(Math.max(ndim - 2, 0)).fill(1)];

/**
 * Batch normalization over all dims but the channel dim 1. In training the running statistics
 * are updated in place (unbiased variance), without a host read.
 * @example `mp.nn.functional.batchNorm(mp.randn([4, 3]), mp.zeros([3]), mp.ones([3]), mp.ones([3]), mp.zeros([3]), { training: true })`
 */
export const batchNorm: (input: Tensor, runningMean: Tensor | undefined, runningVar: Tensor | undefined, weight?: Tensor, bias?: Tensor, options?: BatchNormOptions) => Tensor = defineOp({
  name: 'batchNorm',
  autocast: 'passThrough',
  forward: (input: Tensor, runningMean: Tensor | undefined, runningVar: Tensor | undefined, weight?: Tensor, bias?: Tensor, options?: BatchNormOptions): Tensor => {
    const given = checkTensor('batchNorm', 'input', input);
    if (given.ndim < 2) throw argRangeError('batchNorm', 'input', 'a tensor [N, C, ...] with at least 2 dims', given, 'ERR_INVALID_SHAPE');
    const x = widened(given);
    const c = x.shape[1];
    for (const [name, t] of [['runningMean', runningMean], ['runningVar', runningVar], ['weight', weight], ['bias', bias]] as const) {
      if (t !== undefined && (checkTensor('batchNorm', name, t).ndim !== 1 || t.shape[0] !== c)) {
        throw new MixprecRangeError('ERR_SHAPE_MISMATCH', `batchNorm: ${name} must have shape [${c}] (one value per channel), got [${t.shape.join(', ')}]`);
      }
    }
    const training = options?.training ?? false;
    const eps = options?.eps ?? 1e-5;
    const momentum = options?.momentum ?? 0.1;
    const dims = x.shape.map((_, i) => i).filter((i) => i !== 1);
    const shape = channelShape(c, x.ndim);
    let mean: Tensor;
    let variance: Tensor;
    if (training) {
      const count = x.numel / c;
      if (count <= 1) throw new MixprecRangeError('ERR_INVALID_SHAPE', `batchNorm: expected more than 1 value per channel when training, got input [${x.shape.join(', ')}]`);
      mean = x.mean({ dim: dims, keepdim: true });
      const centered = x.sub(mean);
      variance = centered.mul(centered).mean({ dim: dims, keepdim: true });
      if (runningMean !== undefined && runningVar !== undefined) {
        noGrad(() => {
          runningMean.mul_(1 - momentum).add_(mean.reshape([c]).mul(momentum).to(runningMean.dtype));
          runningVar.mul_(1 - momentum).add_(variance.reshape([c]).mul((momentum * count) / (count - 1)).to(runningVar.dtype));
        });
      }
    } else {
      if (runningMean === undefined || runningVar === undefined) {
        throw new MixprecError('ERR_INVALID_ARG', 'batchNorm: runningMean and runningVar are needed when not training');
      }
      mean = runningMean.reshape(shape);
      variance = runningVar.reshape(shape);
    }
    let y = x.sub(mean).mul(variance.add(eps).rsqrt());
    if (weight !== undefined) y = y.mul(weight.reshape(shape));
    if (bias !== undefined) y = y.add(bias.reshape(shape));
    return x === given ? y : y.to(given.dtype);
  },
});

/**
 * Layer normalization over the last dims (`normalizedShape`), biased variance.
 * @example `mp.nn.functional.layerNorm(mp.randn([2, 8]), [8], mp.ones([8]), mp.zeros([8]))`
 */
export const layerNorm: (input: Tensor, normalizedShape: number[], weight?: Tensor, bias?: Tensor, eps?: number) => Tensor = defineOp({
  name: 'layerNorm',
  autocast: { cuda: 'fp32', cpu: 'passThrough' },
  forward: (input: Tensor, normalizedShape: number[], weight?: Tensor, bias?: Tensor, eps = 1e-5): Tensor => {
    const given = checkTensor('layerNorm', 'input', input);
    const x = widened(given);
    if (!Array.isArray(normalizedShape) || normalizedShape.length === 0 || normalizedShape.length > x.ndim) throw argTypeError('layerNorm', 'normalizedShape', `1 to ${x.ndim} trailing sizes of the input`, normalizedShape);
    const tail = x.shape.slice(x.ndim - normalizedShape.length);
    if (tail.some((s, i) => s !== normalizedShape[i])) {
      throw new MixprecRangeError('ERR_SHAPE_MISMATCH', `layerNorm: normalizedShape [${normalizedShape.join(', ')}] must match the input's trailing sizes, got input [${x.shape.join(', ')}]`);
    }
    for (const [name, t] of [['weight', weight], ['bias', bias]] as const) {
      if (t !== undefined && (checkTensor('layerNorm', name, t).ndim !== normalizedShape.length || t.shape.some((s, i) => s !== normalizedShape[i]))) {
        throw new MixprecRangeError('ERR_SHAPE_MISMATCH', `layerNorm: ${name} must have shape [${normalizedShape.join(', ')}], got [${t.shape.join(', ')}]`);
      }
    }
    const dims = normalizedShape.map((_, i) => x.ndim - normalizedShape.length + i);
    const mean = x.mean({ dim: dims, keepdim: true });
    const centered = x.sub(mean);
    const variance = centered.mul(centered).mean({ dim: dims, keepdim: true });
    let y = centered.mul(variance.add(eps).rsqrt());
    if (weight !== undefined) y = y.mul(weight);
    if (bias !== undefined) y = y.add(bias);
    return x === given ? y : y.to(given.dtype);
  },
});

/**
 * Group normalization: channels split into `numGroups`, each normalized over its channels and
 * spatial positions. @example `mp.nn.functional.groupNorm(mp.randn([2, 16, 2, 2]), 8, mp.ones([16]), mp.zeros([16]))`
 */
export const groupNorm: (input: Tensor, numGroups: number, weight?: Tensor, bias?: Tensor, eps?: number) => Tensor = defineOp({
  name: 'groupNorm',
  autocast: { cuda: 'fp32', cpu: 'passThrough' },
  forward: (input: Tensor, numGroups: number, weight?: Tensor, bias?: Tensor, eps = 1e-5): Tensor => {
    const given = checkTensor('groupNorm', 'input', input);
    const x = widened(given);
    if (x.ndim < 2) throw argRangeError('groupNorm', 'input', 'a tensor [N, C, ...]', x, 'ERR_INVALID_SHAPE');
    const [n, c] = x.shape;
    if (!Number.isInteger(numGroups) || numGroups < 1 || c % numGroups !== 0) throw argRangeError('groupNorm', 'numGroups', `a positive divisor of the ${c} channels`, numGroups);
    for (const [name, t] of [['weight', weight], ['bias', bias]] as const) {
      if (t !== undefined && (checkTensor('groupNorm', name, t).ndim !== 1 || t.shape[0] !== c)) {
        throw new MixprecRangeError('ERR_SHAPE_MISMATCH', `groupNorm: ${name} must have shape [${c}], got [${t.shape.join(', ')}]`);
      }
    }
    const grouped = x.reshape([n, numGroups, -1]);
    const mean = grouped.mean({ dim: 2, keepdim: true });
    const centered = grouped.sub(mean);
    const variance = centered.mul(centered).mean({ dim: 2, keepdim: true });
    const shape = channelShape(c, x.ndim);
    let y = centered.mul(variance.add(eps).rsqrt()).reshape(x.shape);
    if (weight !== undefined) y = y.mul(weight.reshape(shape));
    if (bias !== undefined) y = y.add(bias.reshape(shape));
    return x === given ? y : y.to(given.dtype);
  },
});

/**
 * Zeroes each element with probability `p` and scales the rest by 1/(1-p) when `training`;
 * the mask comes from the default generator (seed it with mp.manualSeed).
 * @example `mp.nn.functional.dropout(mp.ones([8]), 0.5, true)`
 */
export const dropout: (input: Tensor, p?: number, training?: boolean) => Tensor = defineOp({
  name: 'dropout',
  autocast: 'passThrough',
  forward: (input: Tensor, p = 0.5, training = true): Tensor => {
    const x = checkTensor('dropout', 'input', input);
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw argRangeError('dropout', 'p', 'a probability in [0, 1]', p);
    if (!isFloatingPoint(x.dtype)) throw new MixprecTypeError('ERR_INVALID_DTYPE', `dropout: needs a floating-point input, got ${x.dtype}`);
    if (!training || p === 0) return x.mul(1);
    if (p === 1) return x.mul(0);
    const keepMask = rand(x.shape, { device: x.device }).ge(p).to(x.dtype);
    return x.mul(keepMask).mul(1 / (1 - p));
  },
});

/**
 * Rows of `weight` [numEmbeddings, dim] at `indices` (int32, any shape); rows at `paddingIdx`
 * get no gradient. @example `mp.nn.functional.embedding(mp.tensor([2, 0], { dtype: 'int32' }), mp.randn([5, 3]))`
 */
export const embedding: (indices: Tensor, weight: Tensor, options?: { paddingIdx?: number }) => Tensor = defineOp({
  name: 'embedding',
  autocast: 'passThrough',
  forward: (indices: Tensor, weight: Tensor, options?: { paddingIdx?: number }): Tensor => {
    const ids = checkTensor('embedding', 'indices', indices);
    const w = checkTensor('embedding', 'weight', weight);
    if (ids.dtype !== 'int32') throw new MixprecTypeError('ERR_INVALID_DTYPE', `embedding: indices must be int32, got ${ids.dtype}`);
    if (w.ndim !== 2) throw argRangeError('embedding', 'weight', 'a 2-d [numEmbeddings, dim] tensor', w, 'ERR_INVALID_SHAPE');
    const rows = indexSelect(w, 0, ids.reshape([-1])).reshape([...ids.shape, w.shape[1]]);
    const paddingIdx = options?.paddingIdx;
    if (paddingIdx === undefined || !rows.requiresGrad) return rows;
    const keepGrad = ids.ne(paddingIdx).to(w.dtype).unsqueeze(-1);
    return rows.mul(keepGrad).add(rows.detach().mul(keepGrad.neg().add(1)));
  },
});

/** How a loss reduces: per-element values, their mean or their sum. */
export type Reduction = 'none' | 'mean' | 'sum';

function reduceLoss(op: string, losses: Tensor, reduction: Reduction | undefined): Tensor {
  const r = reduction ?? 'mean';
  if (r === 'none') return losses;
  if (r === 'sum') return losses.sum();
  if (r === 'mean') return losses.mean();
  throw argTypeError(op, 'options.reduction', "'none', 'mean' or 'sum'", reduction);
}

function sameShapes(op: string, input: Tensor, target: Tensor): void {
  checkTensor(op, 'input', input);
  checkTensor(op, 'target', target);
  if (input.ndim !== target.ndim || input.shape.some((s, i) => s !== target.shape[i])) {
    throw new MixprecRangeError('ERR_SHAPE_MISMATCH', `${op}: target shape [${target.shape.join(', ')}] must match input shape [${input.shape.join(', ')}]`);
  }
  if (!isFloatingPoint(target.dtype)) throw new MixprecTypeError('ERR_INVALID_DTYPE', `${op}: target must be floating point, got ${target.dtype}`);
}

/** Options of the losses. */
export interface LossOptions {
  reduction?: Reduction;
}

/** Mean squared error. @example `mp.nn.functional.mseLoss(mp.tensor([1, 2]), mp.tensor([1, 3]))` */
export const mseLoss: (input: Tensor, target: Tensor, options?: LossOptions) => Tensor = defineOp({
  name: 'mseLoss',
  autocast: 'fp32',
  forward: (input: Tensor, target: Tensor, options?: LossOptions): Tensor => {
    sameShapes('mseLoss', input, target);
    const d = input.sub(target);
    return reduceLoss('mseLoss', d.mul(d), options?.reduction);
  },
});

/** Mean absolute error. @example `mp.nn.functional.l1Loss(mp.tensor([1, 2]), mp.tensor([1, 3]))` */
export const l1Loss: (input: Tensor, target: Tensor, options?: LossOptions) => Tensor = defineOp({
  name: 'l1Loss',
  autocast: 'fp32',
  forward: (input: Tensor, target: Tensor, options?: LossOptions): Tensor => {
    sameShapes('l1Loss', input, target);
    return reduceLoss('l1Loss', input.sub(target).abs(), options?.reduction);
  },
});

/** Huber-like loss: quadratic below `beta` (default 1), linear above. @example `mp.nn.functional.smoothL1Loss(mp.tensor([1, 2]), mp.tensor([1, 3]))` */
export const smoothL1Loss: (input: Tensor, target: Tensor, options?: LossOptions & { beta?: number }) => Tensor = defineOp({
  name: 'smoothL1Loss',
  autocast: 'fp32',
  forward: (input: Tensor, target: Tensor, options?: LossOptions & { beta?: number }): Tensor => {
    sameShapes('smoothL1Loss', input, target);
    const beta = options?.beta ?? 1;
    if (typeof beta !== 'number' || beta < 0) throw argRangeError('smoothL1Loss', 'options.beta', 'a non-negative number', beta);
    const d = input.sub(target).abs();
    const losses = beta === 0 ? d : where(d.lt(beta), d.mul(d).mul(0.5 / beta), d.sub(0.5 * beta));
    return reduceLoss('smoothL1Loss', losses, options?.reduction);
  },
});

/** Options of {@link binaryCrossEntropy}. */
export interface BceOptions extends LossOptions {
  /** Per-element rescaling weight (broadcast against the input). */
  weight?: Tensor;
}

/**
 * Binary cross-entropy on probabilities; logs are clamped at -100 as PyTorch does. Unsafe
 * under autocast (use {@link binaryCrossEntropyWithLogits}).
 * @example `mp.nn.functional.binaryCrossEntropy(mp.tensor([0.9, 0.2]), mp.tensor([1, 0]))`
 */
export const binaryCrossEntropy: (input: Tensor, target: Tensor, options?: BceOptions) => Tensor = defineOp({
  name: 'binaryCrossEntropy',
  autocast: { cuda: 'banned', cpu: 'fp32' },
  autocastHint: 'use binaryCrossEntropyWithLogits on the logits (sigmoid and BCE in one op that is safe in float16), or call it in an autocast({ enabled: false }) island on float32 inputs',
  forward: (input: Tensor, target: Tensor, options?: BceOptions): Tensor => {
    sameShapes('binaryCrossEntropy', input, target);
    const logP = input.log().clamp(-100);
    const logQ = input.neg().add(1).log().clamp(-100);
    let losses = target.mul(logP).add(target.neg().add(1).mul(logQ)).neg();
    if (options?.weight !== undefined) losses = losses.mul(checkTensor('binaryCrossEntropy', 'options.weight', options.weight));
    return reduceLoss('binaryCrossEntropy', losses, options?.reduction);
  },
});

/**
 * Sigmoid + binary cross-entropy in one numerically stable formula (safe under autocast).
 * @example `mp.nn.functional.binaryCrossEntropyWithLogits(mp.tensor([2, -1]), mp.tensor([1, 0]), { posWeight: mp.tensor([3]) })`
 */
export const binaryCrossEntropyWithLogits: (input: Tensor, target: Tensor, options?: BceOptions & { posWeight?: Tensor }) => Tensor = defineOp({
  name: 'binaryCrossEntropyWithLogits',
  autocast: 'fp32',
  forward: (input: Tensor, target: Tensor, options?: BceOptions & { posWeight?: Tensor }): Tensor => {
    sameShapes('binaryCrossEntropyWithLogits', input, target);
    // log(1 + e^-|x|) + max(-x, 0) is log(1 + e^-x) without overflow.
    const softplusNeg = input.abs().neg().exp().log1p().add(input.neg().relu());
    let losses: Tensor;
    if (options?.posWeight !== undefined) {
      const pw = checkTensor('binaryCrossEntropyWithLogits', 'options.posWeight', options.posWeight);
      const logWeight = pw.sub(1).mul(target).add(1);
      losses = target.neg().add(1).mul(input).add(logWeight.mul(softplusNeg));
    } else {
      losses = target.neg().add(1).mul(input).add(softplusNeg);
    }
    if (options?.weight !== undefined) losses = losses.mul(checkTensor('binaryCrossEntropyWithLogits', 'options.weight', options.weight));
    return reduceLoss('binaryCrossEntropyWithLogits', losses, options?.reduction);
  },
});

/** Options of {@link nllLoss} and {@link crossEntropy}. */
export interface NllOptions extends LossOptions {
  /** Target value that contributes nothing (default -100). */
  ignoreIndex?: number;
  /** Per-class weights [C]. */
  weight?: Tensor;
}

/** [N, C, d...] scores and [N, d...] targets as [M, C] and [M]. */
function flattenClasses(op: string, input: Tensor, target: Tensor): [Tensor, Tensor] {
  const x = checkTensor(op, 'input', input);
  const t = checkTensor(op, 'target', target);
  if (t.dtype !== 'int32') throw new MixprecTypeError('ERR_INVALID_DTYPE', `${op}: target must hold class indices as int32, got ${t.dtype} (convert with .int(); for class probabilities use a float target with crossEntropy)`);
  if (x.ndim < 1 || x.ndim === 1 ? t.ndim !== 0 : t.ndim !== x.ndim - 1 || t.shape[0] !== x.shape[0] || t.shape.slice(1).some((s, i) => s !== x.shape[i + 2])) {
    throw new MixprecRangeError('ERR_SHAPE_MISMATCH', `${op}: input [${x.shape.join(', ')}] (batch, classes, ...) needs a target of shape [${[x.shape[0], ...x.shape.slice(2)].join(', ')}], got [${t.shape.join(', ')}]`);
  }
  if (x.ndim === 1) return [x.reshape([1, -1]), t.reshape([1])];
  if (x.ndim === 2) return [x, t];
  const order = [0, ...x.shape.map((_, i) => i).slice(2), 1];
  return [x.permute(order).reshape([-1, x.shape[1]]), t.reshape([-1])];
}

/** Per-sample negative log-likelihoods and their weights (0 for ignored samples). */
function nllTerms(op: string, logp: Tensor, target: Tensor, options: NllOptions | undefined): [Tensor, Tensor] {
  const ignoreIndex = options?.ignoreIndex ?? -100;
  const valid = target.ne(ignoreIndex);
  const safe = where(valid, target, 0);
  let picked: Tensor;
  try {
    picked = gather(logp, 1, safe.unsqueeze(1)).squeeze(1);
  } catch (e) {
    if ((e as MixprecError).code !== 'ERR_INDEX_OUT_OF_RANGE') throw e;
    throw new MixprecRangeError('ERR_INDEX_OUT_OF_RANGE', `${op}: argument 'target' holds a class index out of range for ${logp.shape[1]} classes (valid: 0..${logp.shape[1] - 1} or ignoreIndex ${ignoreIndex}); ${(e as Error).message}`);
  }
  let weights = valid.to(logp.dtype);
  if (options?.weight !== undefined) {
    const w = checkTensor(op, 'options.weight', options.weight);
    if (w.ndim !== 1 || w.shape[0] !== logp.shape[1]) throw new MixprecRangeError('ERR_SHAPE_MISMATCH', `${op}: options.weight must have one value per class [${logp.shape[1]}], got [${w.shape.join(', ')}]`);
    weights = weights.mul(indexSelect(w.to(logp.dtype), 0, safe));
  }
  return [picked.neg().mul(weights), weights];
}

function reduceWeighted(op: string, losses: Tensor, weights: Tensor, shape: number[], reduction: Reduction | undefined): Tensor {
  const r = reduction ?? 'mean';
  if (r === 'none') return losses.reshape(shape);
  if (r === 'sum') return losses.sum();
  if (r === 'mean') return losses.sum().div(weights.sum());
  throw argTypeError(op, 'options.reduction', "'none', 'mean' or 'sum'", reduction);
}

/**
 * Negative log-likelihood of class-index targets given log-probabilities [N, C, ...].
 * @example `mp.nn.functional.nllLoss(mp.tensor([[0.1, 0.9]]).log(), mp.tensor([1], { dtype: 'int32' }))`
 */
export const nllLoss: (input: Tensor, target: Tensor, options?: NllOptions) => Tensor = defineOp({
  name: 'nllLoss',
  autocast: 'fp32',
  forward: (input: Tensor, target: Tensor, options?: NllOptions): Tensor => {
    const [logp, t] = flattenClasses('nllLoss', input, target);
    const [losses, weights] = nllTerms('nllLoss', logp, t, options);
    return reduceWeighted('nllLoss', losses, weights, target.shape, options?.reduction);
  },
});

/**
 * Cross-entropy of logits [N, C, ...] against class indices (int32), with ignoreIndex,
 * per-class weights and label smoothing (PyTorch's formula).
 * @example `mp.nn.functional.crossEntropy(mp.tensor([[2, 1, 0]]), mp.tensor([0], { dtype: 'int32' }), { labelSmoothing: 0.1 })`
 */
export const crossEntropy: (input: Tensor, target: Tensor, options?: NllOptions & { labelSmoothing?: number }) => Tensor = defineOp({
  name: 'crossEntropy',
  autocast: 'fp32',
  forward: (input: Tensor, target: Tensor, options?: NllOptions & { labelSmoothing?: number }): Tensor => {
    const smoothing = options?.labelSmoothing ?? 0;
    if (typeof smoothing !== 'number' || !(smoothing >= 0 && smoothing <= 1)) throw argRangeError('crossEntropy', 'options.labelSmoothing', 'a number in [0, 1]', smoothing);
    const [scores, t] = flattenClasses('crossEntropy', input, target);
    const logp = scores.logSoftmax(1);
    const [nll, weights] = nllTerms('crossEntropy', logp, t, options);
    if (smoothing === 0) return reduceWeighted('crossEntropy', nll, weights, target.shape, options?.reduction);
    const classes = logp.shape[1];
    const valid = weights.gt(0).to(logp.dtype);
    const classWeighted = options?.weight !== undefined ? logp.mul(options.weight.to(logp.dtype)) : logp;
    const smooth = classWeighted.sum({ dim: 1 }).neg().mul(valid);
    const r = options?.reduction ?? 'mean';
    const nllPart = reduceWeighted('crossEntropy', nll, weights, target.shape, r);
    const smoothPart = r === 'none' ? smooth.reshape(target.shape) : r === 'sum' ? smooth.sum() : smooth.sum().div(weights.sum());
    return nllPart.mul(1 - smoothing).add(smoothPart.mul(smoothing / classes));
  },
});

/**
 * Kullback-Leibler divergence with `input` as log-probabilities; 'batchmean' divides the sum
 * by the batch size (the mathematically right mean).
 * @example `mp.nn.functional.klDiv(mp.tensor([[0.4, 0.6]]).log(), mp.tensor([[0.5, 0.5]]), { reduction: 'batchmean' })`
 */
export const klDiv: (input: Tensor, target: Tensor, options?: { reduction?: Reduction | 'batchmean'; logTarget?: boolean }) => Tensor = defineOp({
  name: 'klDiv',
  autocast: 'fp32',
  forward: (input: Tensor, target: Tensor, options?: { reduction?: Reduction | 'batchmean'; logTarget?: boolean }): Tensor => {
    sameShapes('klDiv', input, target);
    const pointwise = options?.logTarget
      ? target.exp().mul(target.sub(input))
      : where(target.gt(0), target.mul(where(target.gt(0), target, 1).log()), 0).sub(target.mul(input));
    if (options?.reduction === 'batchmean') return pointwise.sum().div(input.ndim > 0 ? input.shape[0] : 1);
    return reduceLoss('klDiv', pointwise, options?.reduction);
  },
});
