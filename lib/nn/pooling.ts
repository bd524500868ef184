/**
 * 2-d pooling: MaxPool2d, AvgPool2d, AdaptiveAvgPool2d over [N, C, H, W] (or [C, H, W]) inputs.
 */
import { argRangeError, MixprecRangeError } from '../errors';
import type { Tensor } from '../tensor';
import { formatSize, pairArg } from './args';
import * as F from './functional';
import { Module } from './module';
import { checkOptions, optionalBoolean } from '../validate';

type Size2 = number | [number, number];

/** Padding may be at most half the (effective) window, or some windows would see only padding. */
function checkPadding(op: string, padding: [number, number], window: [number, number], what: string): void {
  padding.forEach((p, i) => {
    if (p > Math.floor(window[i] / 2)) {
      throw new MixprecRangeError('ERR_INVALID_ARG', `${op}: argument 'options.padding' must be at most half of the ${what} (${formatSize(window)}), got ${formatSize(padding)}`);
    }
  });
}

/** Options of {@link MaxPool2d}. */
export interface MaxPool2dOptions {
  /** Step between windows (default kernelSize). */
  stride?: Size2;
  /** -Infinity padding on each side (default 0). */
  padding?: Size2;
  /** Spacing between window elements (default 1). */
  dilation?: Size2;
}

/**
 * The maximum over each `kernelSize` window.
 *
 * @example
 * ```ts
 * new mp.nn.MaxPool2d(2).forward(mp.zeros([1, 3, 8, 8])).shape; // [1, 3, 4, 4]
 * ```
 */
export class MaxPool2d extends Module {
  /** Keeps neither a forward's input nor its output, so Sequential may free them early. */
  static readonly keepsNoActivations = true;
  readonly kernelSize: Size2;
  readonly stride: Size2;
  readonly padding: Size2;
  readonly dilation: Size2;

  constructor(kernelSize: Size2, options?: MaxPool2dOptions) {
    super();
    const kernel = pairArg('MaxPool2d', 'kernelSize', kernelSize, 1);
    const o = checkOptions('MaxPool2d', options, ['stride', 'padding', 'dilation']);
    pairArg('MaxPool2d', 'options.stride', o.stride ?? kernelSize, 1);
    const padding = pairArg('MaxPool2d', 'options.padding', o.padding ?? 0, 0);
    const dilation = pairArg('MaxPool2d', 'options.dilation', o.dilation ?? 1, 1);
    checkPadding('MaxPool2d', padding, [(kernel[0] - 1) * dilation[0] + 1, (kernel[1] - 1) * dilation[1] + 1], 'effective kernel size');
    this.kernelSize = kernelSize;
    this.stride = (o.stride ?? kernelSize) as Size2;
    this.padding = (o.padding ?? 0) as Size2;
    this.dilation = (o.dilation ?? 1) as Size2;
  }

  forward(x: Tensor): Tensor {
    return F.maxPool2d(x, this.kernelSize, { stride: this.stride, padding: this.padding, dilation: this.dilation });
  }

  override extraRepr(): string {
    return `kernelSize=${formatSize(this.kernelSize)}, stride=${formatSize(this.stride)}, padding=${formatSize(this.padding)}, dilation=${formatSize(this.dilation)}`;
  }
}

/** Options of {@link AvgPool2d}. */
export interface AvgPool2dOptions {
  /** Step between windows (default kernelSize). */
  stride?: Size2;
  /** Zero padding on each side (default 0). */
  padding?: Size2;
  /** Count padding zeros in the divisor (default true). */
  countIncludePad?: boolean;
}

/**
 * The mean over each `kernelSize` window.
 *
 * @example
 * ```ts
 * new mp.nn.AvgPool2d(2).forward(mp.ones([1, 1, 4, 4])); // [1, 1, 2, 2] of ones
 * ```
 */
export class AvgPool2d extends Module {
  /** Keeps neither a forward's input nor its output, so Sequential may free them early. */
  static readonly keepsNoActivations = true;
  readonly kernelSize: Size2;
  readonly stride: Size2;
  readonly padding: Size2;
  readonly countIncludePad: boolean;

  constructor(kernelSize: Size2, options?: AvgPool2dOptions) {
    super();
    const kernel = pairArg('AvgPool2d', 'kernelSize', kernelSize, 1);
    const o = checkOptions('AvgPool2d', options, ['stride', 'padding', 'countIncludePad']);
    pairArg('AvgPool2d', 'options.stride', o.stride ?? kernelSize, 1);
    const padding = pairArg('AvgPool2d', 'options.padding', o.padding ?? 0, 0);
    checkPadding('AvgPool2d', padding, kernel, 'kernel size');
    this.kernelSize = kernelSize;
    this.stride = (o.stride ?? kernelSize) as Size2;
    this.padding = (o.padding ?? 0) as Size2;
    this.countIncludePad = optionalBoolean('AvgPool2d', 'options.countIncludePad', o.countIncludePad, true);
  }

  forward(x: Tensor): Tensor {
    return F.avgPool2d(x, this.kernelSize, { stride: this.stride, padding: this.padding, countIncludePad: this.countIncludePad });
  }

  override extraRepr(): string {
    return `kernelSize=${formatSize(this.kernelSize)}, stride=${formatSize(this.stride)}, padding=${formatSize(this.padding)}, countIncludePad=${this.countIncludePad}`;
  }
}

/**
 * Average pooling to a fixed output size whatever the input's: window i of n over a length L
 * spans [⌊iL/n⌋, ⌈(i+1)L/n⌉). `null` in `outputSize` keeps that input size.
 *
 * @example
 * ```ts
 * new mp.nn.AdaptiveAvgPool2d(1).forward(mp.ones([2, 3, 4, 4])); // [N, C, 1, 1]: global average pooling
 * ```
 */
export class AdaptiveAvgPool2d extends Module {
  /** Keeps neither a forward's input nor its output, so Sequential may free them early. */
  static readonly keepsNoActivations = true;
  readonly outputSize: number | [number | null, number | null];

  constructor(outputSize: number | [number | null, number | null]) {
    super();
    const ok = (s: unknown) => s === null || (typeof s === 'number' && Number.isInteger(s) && s >= 1);
    const valid = typeof outputSize === 'number' ? ok(outputSize) : Array.isArray(outputSize) && outputSize.length === 2 && outputSize.every(ok);
    if (!valid) throw argRangeError('AdaptiveAvgPool2d', 'outputSize', 'a positive integer or a pair [h, w] of them (null keeps the input size)', outputSize);
    this.outputSize = Array.isArray(outputSize) ? [outputSize[0], outputSize[1]] : outputSize;
  }

  forward(x: Tensor): Tensor {
    return F.adaptiveAvgPool2d(x, this.outputSize);
  }

  override extraRepr(): string {
    return `outputSize=${formatSize(this.outputSize)}`;
  }
}
