/**
 * Normalization layers: BatchNorm1d/2d (running statistics as buffers), LayerNorm, RMSNorm, GroupNorm.
 */
import type { DeviceLike } from '../device';
import type { DType } from '../dtype';
import { empty, ones, zeros } from '../creation';
import { argRangeError, MixprecRangeError } from '../errors';
import type { Tensor } from '../tensor';
import { formatSize, layerOptions, positiveNumber } from './args';
import * as F from './functional';
import { ones_, zeros_ } from './init';
import { Module } from './module';
import { optionalBoolean, positiveInteger } from '../validate';

/** Options of {@link BatchNorm1d} and {@link BatchNorm2d}. */
export interface BatchNormOptions {
  /** Added to the variance for stability (default 1e-5). */
  eps?: number;
  /**
   * Weight of the current batch in the running statistics (default 0.1); `null` for a
   * cumulative average over all batches seen.
   */
  momentum?: number | null;
  /** Learn a per-channel scale and shift (default true). */
  affine?: boolean;
  /** Keep running mean/variance for evaluation (default true); without, batch statistics are always used. */
  trackRunningStats?: boolean;
  dtype?: DType;
  device?: DeviceLike;
}

/** What BatchNorm1d and BatchNorm2d share (PyTorch's _BatchNorm). */
abstract class BatchNorm extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  /** [numFeatures] scale (ones), or undefined without `affine`. */
  weight: Tensor | undefined;
  /** [numFeatures] shift (zeros), or undefined without `affine`. */
  bias: Tensor | undefined;
  /** Buffer [numFeatures] (zeros), or undefined without `trackRunningStats`. */
  runningMean: Tensor | undefined;
  /** Buffer [numFeatures] (ones), or undefined without `trackRunningStats`. */
  runningVar: Tensor | undefined;
  /** Buffer: int32 scalar counting training batches, or undefined without `trackRunningStats`. */
  numBatchesTracked: Tensor | undefined;

  constructor(op: string, numFeatures: number, options: BatchNormOptions | undefined) {
    super();
    this.numFeatures = positiveInteger(op, 'numFeatures', numFeatures);
    const o = layerOptions(op, options, ['eps', 'momentum', 'affine', 'trackRunningStats']);
    this.eps = positiveNumber(op, 'options.eps', o.eps, 1e-5);
    const momentum = o.momentum === undefined ? 0.1 : o.momentum;
    if (momentum !== null && (typeof momentum !== 'number' || !(momentum >= 0 && momentum <= 1))) {
      throw argRangeError(op, 'options.momentum', 'a number in [0, 1] or null', momentum);
    }
    this.momentum = momentum;
    this.affine = optionalBoolean(op, 'options.affine', o.affine, true);
    this.trackRunningStats = optionalBoolean(op, 'options.trackRunningStats', o.trackRunningStats, true);
    const like = { dtype: o.dtype, device: o.device };
    this.weight = this.registerParameter('weight', this.affine ? empty([numFeatures], like) : undefined);
    this.bias = this.registerParameter('bias', this.affine ? empty([numFeatures], like) : undefined);
    const track = this.trackRunningStats;
    this.runningMean = this.registerBuffer('runningMean', track ? zeros([numFeatures], like) : undefined);
    this.runningVar = this.registerBuffer('runningVar', track ? ones([numFeatures], like) : undefined);
    this.numBatchesTracked = this.registerBuffer('numBatchesTracked', track ? zeros([], { dtype: 'int32', device: o.device }) : undefined);
    this.resetParameters();
  }

  /**
   * Running statistics back to mean 0, variance 1, no batches.
   *
   * @example
   * ```ts
   * const bn = new mp.nn.BatchNorm1d(4);
   * bn.resetRunningStats();
   * ```
   */
  resetRunningStats(): void {
    if (this.runningMean !== undefined) zeros_(this.runningMean);
    if (this.runningVar !== undefined) ones_(this.runningVar);
    if (this.numBatchesTracked !== undefined) zeros_(this.numBatchesTracked);
  }

  /**
   * Resets the running statistics, the scale to ones and the shift to zeros.
   *
   * @example
   * ```ts
   * const bn = new mp.nn.BatchNorm1d(4);
   * bn.resetParameters();
   * ```
   */
  resetParameters(): void {
    this.resetRunningStats();
    if (this.weight !== undefined) ones_(this.weight);
    if (this.bias !== undefined) zeros_(this.bias);
  }

  /** Throws unless `x` has a dimension count this layer takes. */
  protected abstract checkInput(x: Tensor): void;

  forward(x: Tensor): Tensor {
    this.checkInput(x);
    let factor = this.momentum ?? 0;
    if (this.training && this.numBatchesTracked !== undefined) {
      this.numBatchesTracked.add_(1);
      // PyTorch's cumulative average: the n-th batch weighs 1/n.
      if (this.momentum === null) factor = 1 / Number(this.numBatchesTracked.item());
    }
    // Without running statistics, batch statistics are used in eval mode too.
    const useBatchStats = this.training || this.runningMean === undefined;
    const trackNow = !this.training || this.trackRunningStats;
    return F.batchNorm(x, trackNow ? this.runningMean : undefined, trackNow ? this.runningVar : undefined, this.weight, this.bias,
      { training: useBatchStats, momentum: factor, eps: this.eps });
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=${this.affine}, trackRunningStats=${this.trackRunningStats}`;
  }
}

function checkDims(op: string, x: Tensor, allowed: number[]): void {
  if (!allowed.includes(x.ndim)) {
    throw new MixprecRangeError('ERR_INVALID_SHAPE', `${op}: expected a ${allowed.map((d) => `${d}-d`).join(' or ')} input, got shape [${x.shape.join(', ')}]`);
  }
}

/**
 * Batch normalization over [N, C] or [N, C, L] inputs: per channel, `(x - mean) / √(var + eps)`
 * scaled and shifted; batch statistics in training (updating the running ones), running
 * statistics in evaluation.
 *
 * @example
 * ```ts
 * const bn = new mp.nn.BatchNorm1d(64);
 * bn.forward(mp.randn([8, 64]));
 * ```
 */
export class BatchNorm1d extends BatchNorm {
  /** Keeps neither a forward's input nor its output, so Sequential may free them early. */
  static readonly keepsNoActivations = true;
  constructor(numFeatures: number, options?: BatchNormOptions) {
    super('BatchNorm1d', numFeatures, options);
  }

  protected checkInput(x: Tensor): void {
    checkDims('BatchNorm1d', x, [2, 3]);
  }
}

/**
 * Batch normalization over [N, C, H, W] inputs (see {@link BatchNorm1d}).
 *
 * @example
 * ```ts
 * const bn = new mp.nn.BatchNorm2d(16, { momentum: 0.01 });
 * bn.forward(mp.randn([2, 16, 4, 4]));
 * ```
 */
export class BatchNorm2d extends BatchNorm {
  /** Keeps neither a forward's input nor its output, so Sequential may free them early. */
  static readonly keepsNoActivations = true;
  constructor(numFeatures: number, options?: BatchNormOptions) {
    super('BatchNorm2d', numFeatures, options);
  }

  protected checkInput(x: Tensor): void {
    checkDims('BatchNorm2d', x, [4]);
  }
}

/** Options of {@link LayerNorm}. */
export interface LayerNormOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Learn a scale (and a shift, see `bias`) of shape normalizedShape (default true). */
  elementwiseAffine?: boolean;
  /** Learn the shift (default true; only with elementwiseAffine). */
  bias?: boolean;
  dtype?: DType;
  device?: DeviceLike;
}

/**
 * Normalizes over the last dimensions (`normalizedShape`) of each sample, then scales and
 * shifts elementwise.
 *
 * @example
 * ```ts
 * const ln = new mp.nn.LayerNorm(512);
 * ln.forward(mp.randn([2, 3, 512])); // [batch, seq, 512]
 * ```
 */
export class LayerNorm extends Module {
  /** Keeps neither a forward's input nor its output, so Sequential may free them early. */
  static readonly keepsNoActivations = true;
  readonly normalizedShape: number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;
  /** Scale of shape normalizedShape (ones), or undefined. */
  weight: Tensor | undefined;
  /** Shift of shape normalizedShape (zeros), or undefined. */
  bias: Tensor | undefined;

  constructor(normalizedShape: number | number[], options?: LayerNormOptions) {
    super();
    const shape = typeof normalizedShape === 'number' ? [normalizedShape] : normalizedShape;
    if (!Array.isArray(shape) || shape.length === 0) throw argRangeError('LayerNorm', 'normalizedShape', 'a positive integer or a non-empty array of them', normalizedShape);
    this.normalizedShape = shape.map((s, i) => positiveInteger('LayerNorm', `normalizedShape[${i}]`, s));
    const o = layerOptions('LayerNorm', options, ['eps', 'elementwiseAffine', 'bias']);
    this.eps = positiveNumber('LayerNorm', 'options.eps', o.eps, 1e-5);
    this.elementwiseAffine = optionalBoolean('LayerNorm', 'options.elementwiseAffine', o.elementwiseAffine, true);
    const bias = optionalBoolean('LayerNorm', 'options.bias', o.bias, true);
    const like = { dtype: o.dtype, device: o.device };
    this.weight = this.registerParameter('weight', this.elementwiseAffine ? ones(this.normalizedShape, like) : undefined);
    this.bias = this.registerParameter('bias', this.elementwiseAffine && bias ? zeros(this.normalizedShape, like) : undefined);
  }

  forward(x: Tensor): Tensor {
    return F.layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }

  override extraRepr(): string {
    return `${formatSize(this.normalizedShape)}, eps=${this.eps}, elementwiseAffine=${this.elementwiseAffine}`;
  }
}

/** Options of {@link RMSNorm}. */
export interface RMSNormOptions {
  /** Added to the mean square (default: the input dtype's machine epsilon, as PyTorch). */
  eps?: number;
  /** Learn a scale of shape normalizedShape (default true). */
  elementwiseAffine?: boolean;
  dtype?: DType;
  device?: DeviceLike;
}

/**
 * Root-mean-square normalization over the last dimensions (`normalizedShape`), then an
 * elementwise scale: `x / sqrt(mean(x²) + eps) * weight` (PyTorch's `nn.RMSNorm`).
 *
 * @example
 * ```ts
 * const norm = new mp.nn.RMSNorm(64);
 * norm.forward(mp.randn([2, 3, 64])); // [batch, seq, 64]
 * ```
 */
export class RMSNorm extends Module {
  /** Keeps neither a forward's input nor its output, so Sequential may free them early. */
  static readonly keepsNoActivations = true;
  readonly normalizedShape: number[];
  /** undefined: the input dtype's machine epsilon. */
  readonly eps: number | undefined;
  readonly elementwiseAffine: boolean;
  /** Scale of shape normalizedShape (ones), or undefined. */
  weight: Tensor | undefined;

  constructor(normalizedShape: number | number[], options?: RMSNormOptions) {
    super();
    const shape = typeof normalizedShape === 'number' ? [normalizedShape] : normalizedShape;
    if (!Array.isArray(shape) || shape.length === 0) throw argRangeError('RMSNorm', 'normalizedShape', 'a positive integer or a non-empty array of them', normalizedShape);
    this.normalizedShape = shape.map((s, i) => positiveInteger('RMSNorm', `normalizedShape[${i}]`, s));
    const o = layerOptions('RMSNorm', options, ['eps', 'elementwiseAffine']);
    this.eps = o.eps === undefined ? undefined : positiveNumber('RMSNorm', 'options.eps', o.eps, 0);
    this.elementwiseAffine = optionalBoolean('RMSNorm', 'options.elementwiseAffine', o.elementwiseAffine, true);
    this.weight = this.registerParameter('weight', this.elementwiseAffine ? ones(this.normalizedShape, { dtype: o.dtype, device: o.device }) : undefined);
  }

  forward(x: Tensor): Tensor {
    return F.rmsNorm(x, this.normalizedShape, this.weight, this.eps);
  }

  override extraRepr(): string {
    return `${formatSize(this.normalizedShape)}, eps=${this.eps ?? 'machine epsilon'}, elementwiseAffine=${this.elementwiseAffine}`;
  }
}

/** Options of {@link GroupNorm}. */
export interface GroupNormOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Learn a per-channel scale and shift (default true). */
  affine?: boolean;
  dtype?: DType;
  device?: DeviceLike;
}

/**
 * Splits the channels of [N, C, ...] inputs into groups and normalizes each group of each
 * sample, then scales and shifts per channel.
 *
 * @example
 * ```ts
 * const gn = new mp.nn.GroupNorm(8, 64);
 * gn.forward(mp.randn([2, 64, 2, 2])); // [N, 64, H, W]
 * ```
 */
export class GroupNorm extends Module {
  /** Keeps neither a forward's input nor its output, so Sequential may free them early. */
  static readonly keepsNoActivations = true;
  readonly numGroups: number;
  readonly numChannels: number;
  readonly eps: number;
  readonly affine: boolean;
  /** [numChannels] scale (ones), or undefined without `affine`. */
  weight: Tensor | undefined;
  /** [numChannels] shift (zeros), or undefined without `affine`. */
  bias: Tensor | undefined;

  constructor(numGroups: number, numChannels: number, options?: GroupNormOptions) {
    super();
    this.numGroups = positiveInteger('GroupNorm', 'numGroups', numGroups);
    this.numChannels = positiveInteger('GroupNorm', 'numChannels', numChannels);
    if (numChannels % numGroups !== 0) {
      throw new MixprecRangeError('ERR_INVALID_ARG', `GroupNorm: argument 'numChannels' must be divisible by numGroups (${numGroups}), got ${numChannels}`);
    }
    const o = layerOptions('GroupNorm', options, ['eps', 'affine']);
    this.eps = positiveNumber('GroupNorm', 'options.eps', o.eps, 1e-5);
    this.affine = optionalBoolean('GroupNorm', 'options.affine', o.affine, true);
    const like = { dtype: o.dtype, device: o.device };
    this.weight = this.registerParameter('weight', this.affine ? ones([numChannels], like) : undefined);
    this.bias = this.registerParameter('bias', this.affine ? zeros([numChannels], like) : undefined);
  }

  forward(x: Tensor): Tensor {
    return F.groupNorm(x, this.numGroups, this.weight, this.bias, this.eps);
  }

  override extraRepr(): string {
    return `${this.numGroups}, ${this.numChannels}, eps=${this.eps}, affine=${this.affine}`;
  }
}
