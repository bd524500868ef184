/**
 * Conv2d: 2-d cross-correlation over [batch, channels, height, width] inputs.
 */
import type { DeviceLike } from '../device';
import type { DType } from '../dtype';
import { empty } from '../creation';
import { MixprecRangeError } from '../errors';
import type { Generator } from '../random';
import type { Tensor } from '../tensor';
import { formatSize, layerOptions, pairArg } from './args';
import * as F from './functional';
import { resetAffine } from './linear';
import { Module } from './module';
import { optionalBoolean, ownOption, positiveInteger } from '../validate';

/** Options of {@link Conv2d}. */
export interface Conv2dOptions {
  /** Step between windows (default 1). */
  stride?: number | [number, number];
  /** Zeros added on each side (default 0). */
  padding?: number | [number, number];
  /** Spacing between kernel elements (default 1). */
  dilation?: number | [number, number];
  /** Channel groups: each output channel sees inChannels / groups inputs (default 1). */
  groups?: number;
  /** Learn an additive bias per output channel (default true). */
  bias?: boolean;
  dtype?: DType;
  device?: DeviceLike;
}

/**
 * 2-d convolution (cross-correlation, as in PyTorch) of [N, inChannels, H, W] inputs. The weight
 * [outChannels, inChannels / groups, kH, kW] and bias [outChannels] start as PyTorch's:
 * U(-1/√fanIn, 1/√fanIn) with fanIn = inChannels / groups · kH · kW.
 *
 * @example
 * ```ts
 * const conv = new mp.nn.Conv2d(3, 16, 3, { padding: 1 });
 * const y = conv.forward(mp.randn([2, 3, 8, 8])); // [2, 16, 8, 8]
 * ```
 */
export class Conv2d extends Module {
  /** Keeps neither a forward's input nor its output, so Sequential may free them early. */
  static readonly keepsNoActivations = true;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  /** [outChannels, inChannels / groups, kH, kW]. */
  weight: Tensor;
  /** [outChannels], or undefined with `bias: false`. */
  bias: Tensor | undefined;

  constructor(inChannels: number, outChannels: number, kernelSize: number | [number, number], options?: Conv2dOptions) {
    super();
    this.inChannels = positiveInteger('Conv2d', 'inChannels', inChannels);
    this.outChannels = positiveInteger('Conv2d', 'outChannels', outChannels);
    this.kernelSize = pairArg('Conv2d', 'kernelSize', kernelSize, 1);
    const o = layerOptions('Conv2d', options, ['stride', 'padding', 'dilation', 'groups', 'bias']);
    this.stride = pairArg('Conv2d', 'options.stride', o.stride ?? 1, 1);
    this.padding = pairArg('Conv2d', 'options.padding', o.padding ?? 0, 0);
    this.dilation = pairArg('Conv2d', 'options.dilation', o.dilation ?? 1, 1);
    this.groups = positiveInteger('Conv2d', 'options.groups', o.groups ?? 1);
    for (const [arg, channels] of [['inChannels', inChannels], ['outChannels', outChannels]] as const) {
      if (channels % this.groups !== 0) {
        throw new MixprecRangeError('ERR_INVALID_ARG', `Conv2d: argument '${arg}' must be divisible by groups (${this.groups}), got ${channels}`);
      }
    }
    const bias = optionalBoolean('Conv2d', 'options.bias', o.bias, true);
    const like = { dtype: o.dtype, device: o.device };
    this.weight = this.registerParameter('weight', empty([outChannels, inChannels / this.groups, ...this.kernelSize], like));
    this.bias = this.registerParameter('bias', bias ? empty([outChannels], like) : undefined);
    this.resetParameters();
  }

  /**
   * Draws the parameters again as the constructor does.
   *
   * @example
   * ```ts
   * const conv = new mp.nn.Conv2d(3, 4, 3);
   * conv.resetParameters({ generator: new mp.Generator(0) });
   * ```
   */
  resetParameters(options?: { generator?: Generator }): void {
    resetAffine(this.weight, this.bias, ownOption(options, 'generator'));
  }

  forward(x: Tensor): Tensor {
    return F.conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups });
  }

  override extraRepr(): string {
    let s = `${this.inChannels}, ${this.outChannels}, kernelSize=${formatSize(this.kernelSize)}, stride=${formatSize(this.stride)}`;
    if (this.padding.some((p) => p !== 0)) s += `, padding=${formatSize(this.padding)}`;
    if (this.dilation.some((d) => d !== 1)) s += `, dilation=${formatSize(this.dilation)}`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (this.bias === undefined) s += ', bias=false';
    return s;
  }
}
