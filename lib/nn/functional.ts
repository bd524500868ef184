/**
 * `mp.nn.functional`: the layers' math as functions (conv, pooling, normalization, dropout,
 * embedding) and the losses (from `losses.ts`). Each is a registry op built from recorded ops,
 * so autograd (and double backward) comes from its parts; autocast reads the category declared
 * with it.
 */
import { noGrad } from '../autograd/gradMode';
import { ones, tensor } from '../creation';
import { isFloatingPoint } from '../dtype';
import { argRangeError, MixprecError, MixprecRangeError, MixprecTypeError } from '../errors';
import { rand } from '../random';
import { checkTensor, Tensor } from '../tensor';
import { fold as foldOp, gather, indexSelect, positionText, unfold as unfoldOp, windowOf, type IndexReport, type Window, type WindowOptions } from '../ops/indexing';
import { conv2dFused, hasFusedConv } from '../ops/conv';
import { hasFusedMaxPool, maxPool2dFused } from '../ops/pool';
import { linear as linearOp, matmul } from '../ops/matmul';
import { defineOp } from '../ops/registry';
import { flatten as flattenOp } from '../ops/viewCast';
import { positiveInteger, probability } from '../validate';

export { relu, gelu, silu, tanh, sigmoid, leakyRelu, elu, softplus } from '../ops/unary';
export { softmax, logSoftmax } from '../ops/reduceAlong';
export { layerNorm, rmsNorm } from '../ops/norm';
export { biasGelu, type GeluOptions } from '../ops/gelu';
export { linearOp as linear, foldOp as fold, unfoldOp as unfold };
export { mseLoss, l1Loss, smoothL1Loss, binaryCrossEntropy, binaryCrossEntropyWithLogits, nllLoss, crossEntropy, klDiv, type Reduction, type LossOptions, type BceOptions, type NllOptions } from './losses';
export { scaledDotProductAttention, type ScaledDotProductAttentionOptions } from '../ops/attention';

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
 * [O, C/groups, kh, kw], optional bias [O]. CPU tensors run the fused kernels (ops/conv.ts: one
 * image's im2col at a time per thread); CUDA tensors run unfold (im2col) and a batched GEMM.
 * @example `mp.nn.functional.conv2d(mp.ones([1, 3, 8, 8]), mp.ones([4, 3, 3, 3]), mp.zeros([4]), { padding: 1 })`
 */
export const conv2d: (input: Tensor, weight: Tensor, bias?: Tensor, options?: Conv2dOptions) => Tensor = defineOp({
  name: 'conv2d',
  autocast: 'lowerPrecision',
  forward: (input: Tensor, weight: Tensor, bias?: Tensor, options?: Conv2dOptions): Tensor => {
    const x = checkTensor('conv2d', 'input', input);
    const w = checkTensor('conv2d', 'weight', weight);
    const groups = options?.groups ?? 1;
    positiveInteger('conv2d', 'options.groups', groups);
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
    const parsed = windowOf('conv2d', [kh, kw], window, h, wd);
    if (hasFusedConv(x)) return conv2dFused(x, w, bias, { kernel: [kh, kw], window: parsed, windowOptions: window, groups });
    const { outH, outW } = parsed;
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
    if (hasFusedMaxPool(input)) return maxPool2dFused(input, { kernel: [win.kh, win.kw], window: win, windowOptions: window })[0];
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
    probability('dropout', 'p', p);
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
    let selected: Tensor;
    try {
      selected = indexSelect(w, 0, ids.reshape([-1]));
    } catch (e) {
      if ((e as MixprecError).code !== 'ERR_INDEX_OUT_OF_RANGE') throw e;
      const { badIndex, position } = e as MixprecError & IndexReport;
      const where = ids.ndim === 0 ? '' : ` at position ${positionText(position, ids.shape)}`;
      throw new MixprecRangeError('ERR_INDEX_OUT_OF_RANGE', `embedding: argument 'indices' must hold indices in [0, ${w.shape[0]}) (the rows of weight [${w.shape.join(', ')}]), got ${badIndex}${where}`);
    }
    const rows = selected.reshape([...ids.shape, w.shape[1]]);
    const paddingIdx = options?.paddingIdx;
    if (paddingIdx === undefined || !rows.requiresGrad) return rows;
    const keepGrad = ids.ne(paddingIdx).to(w.dtype).unsqueeze(-1);
    return rows.mul(keepGrad).add(rows.detach().mul(keepGrad.neg().add(1)));
  },
});
