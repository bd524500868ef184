/**
 * The losses of `mp.nn.functional` (re-exported there): regression, binary and class-index
 * cross-entropy, KL divergence. Each is a registry op built from recorded ops, computed in
 * float32 under autocast.
 */
import { isFloatingPoint, type DType } from '../dtype';
import { argRangeError, argTypeError, MixprecError, MixprecRangeError, MixprecTypeError } from '../errors';
import { gather, indexSelect, where } from '../ops/indexing';
import { crossEntropyRows } from '../ops/crossEntropyRows';
import { defineOp } from '../ops/registry';
import { sameShape } from '../shape';
import { checkTensor, Tensor } from '../tensor';

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
 * per-class weights and label smoothing (PyTorch's formula), or against class probabilities (a
 * float target of the input's shape, as PyTorch accepts; no ignoreIndex then).
 * @example `mp.nn.functional.crossEntropy(mp.tensor([[2, 1, 0]]), mp.tensor([0], { dtype: 'int32' }), { labelSmoothing: 0.1 })`
 */
export const crossEntropy: (input: Tensor, target: Tensor, options?: NllOptions & { labelSmoothing?: number }) => Tensor = defineOp({
  name: 'crossEntropy',
  autocast: 'fp32',
  forward: (input: Tensor, target: Tensor, options?: NllOptions & { labelSmoothing?: number }): Tensor => {
    const smoothing = options?.labelSmoothing ?? 0;
    if (typeof smoothing !== 'number' || !(smoothing >= 0 && smoothing <= 1)) throw argRangeError('crossEntropy', 'options.labelSmoothing', 'a number in [0, 1]', smoothing);
    if (target instanceof Tensor && isFloatingPoint(target.dtype)) return probabilityCrossEntropy(input, target, options, smoothing);
    const [scores, t] = flattenClasses('crossEntropy', input, target);
    if (options?.weight === undefined) return fusedCrossEntropy(scores, t, target.shape, options, smoothing);
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
  // Class indices without class weights run the fused kernel, which reads 16-bit logits and
  // computes in float32: autocast then needs no float32 copy of the logits (128 MiB for a GPT's
  // [32 * 256, 4096] logits) and no cast of their gradient back.
  autocastWidened: (input: Tensor, target: Tensor, options?: NllOptions & { labelSmoothing?: number }): Tensor | undefined => {
    if (!(target instanceof Tensor) || isFloatingPoint(target.dtype) || options?.weight !== undefined) return undefined;
    const smoothing = options?.labelSmoothing ?? 0;
    if (typeof smoothing !== 'number' || !(smoothing >= 0 && smoothing <= 1)) return undefined;
    const [scores, t] = flattenClasses('crossEntropy', input, target);
    return fusedCrossEntropy(scores, t, target.shape, options, smoothing, 'float32');
  },
});

/**
 * Class-index crossEntropy without class weights: the fused per-row kernel (logSoftmax + nll in
 * one pass, float32 math for 16-bit logits), then the reduction; the loss has the logits' dtype
 * (float32 under autocast: `resultDtype`).
 */
function fusedCrossEntropy(scores: Tensor, target: Tensor, targetShape: number[], options: NllOptions | undefined, smoothing: number,
  resultDtype: DType = scores.dtype): Tensor {
  const ignoreIndex = options?.ignoreIndex ?? -100;
  if (!Number.isInteger(ignoreIndex) || Math.abs(ignoreIndex) > 2 ** 31 - 1) throw argRangeError('crossEntropy', 'options.ignoreIndex', 'an int32 class index', ignoreIndex);
  const r = options?.reduction ?? 'mean';
  if (r !== 'none' && r !== 'sum' && r !== 'mean') throw argTypeError('crossEntropy', 'options.reduction', "'none', 'mean' or 'sum'", r);
  const [losses, lse] = crossEntropyRows(scores, target, { ignoreIndex, labelSmoothing: smoothing });
  lse.dispose();
  const reduced = r === 'none' ? losses.reshape(targetShape) : r === 'sum' ? losses.sum() : losses.sum().div(target.ne(ignoreIndex).sum());
  return reduced.to(resultDtype);
}

/**
 * crossEntropy against class probabilities (a float target of the input's shape), PyTorch's
 * formula: -sum over classes of weight[c] * target[c] * logSoftmax(input)[c], the target first
 * smoothed to target * (1 - s) + s / C; 'mean' divides by the number of samples (not by weights).
 */
function probabilityCrossEntropy(input: Tensor, target: Tensor, options: NllOptions | undefined, smoothing: number): Tensor {
  const op = 'crossEntropy';
  const x = checkTensor(op, 'input', input);
  const t = checkTensor(op, 'target', target);
  if (x.ndim === 0 || !sameShape(x.shape, t.shape)) {
    throw new MixprecRangeError('ERR_SHAPE_MISMATCH', `${op}: a float target holds class probabilities and must have the input's shape [${x.shape.join(', ')}] (batch, classes, ...), got [${t.shape.join(', ')}] (class indices must be int32)`);
  }
  if (options?.ignoreIndex !== undefined) throw new MixprecError('ERR_INVALID_ARG', `${op}: options.ignoreIndex applies to class-index targets only, not to class probabilities (as in PyTorch)`);
  const classDim = x.ndim === 1 ? 0 : 1;
  const classes = x.shape[classDim];
  const logp = x.logSoftmax(classDim);
  const probs = t.to(logp.dtype);
  let terms = logp.mul(smoothing > 0 ? probs.mul(1 - smoothing).add(smoothing / classes) : probs);
  if (options?.weight !== undefined) {
    const w = checkTensor(op, 'options.weight', options.weight);
    if (w.ndim !== 1 || w.shape[0] !== classes) throw new MixprecRangeError('ERR_SHAPE_MISMATCH', `${op}: options.weight must have one value per class [${classes}], got [${w.shape.join(', ')}]`);
    terms = terms.mul(w.to(logp.dtype).reshape([classes, ...new Array<number>(x.ndim - classDim - 1).fill(1)]));
  }
  const losses = terms.sum({ dim: classDim }).neg();
  const r = options?.reduction ?? 'mean';
  if (r === 'none') return losses;
  if (r === 'sum') return losses.sum();
  if (r === 'mean') return losses.sum().div(Math.max(losses.numel, 1));
  throw argTypeError(op, 'options.reduction', "'none', 'mean' or 'sum'", r);
}

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
