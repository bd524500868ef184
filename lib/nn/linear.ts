/**
 * Linear: `y = x Wᵀ + b`.
 */
import type { DeviceLike } from '../device';
import type { DType } from '../dtype';
import { empty } from '../creation';
import type { Generator } from '../random';
import type { Tensor } from '../tensor';
import { layerOptions } from './args';
import * as F from './functional';
import { calculateFanInAndFanOut, kaimingUniform_, uniform_ } from './init';
import { Module } from './module';
import { nonNegativeInteger, optionalBoolean, ownOption } from '../validate';

/** Options of {@link Linear}. */
export interface LinearOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
  /** Parameter dtype (default float32). */
  dtype?: DType;
  /** Parameter device (default cpu). */
  device?: DeviceLike;
}

/**
 * Applies `y = x Wᵀ + b` to the last dimension. The weight [outFeatures, inFeatures] and the
 * bias [outFeatures] start as PyTorch's: U(-1/√inFeatures, 1/√inFeatures).
 *
 * @example
 * ```ts
 * const fc = new mp.nn.Linear(784, 10, { dtype: 'bfloat16' });
 * const logits = fc.forward(mp.randn([2, 784], { dtype: 'bfloat16' })); // [2, 10]
 * ```
 */
export class Linear extends Module {
  /** Keeps neither a forward's input nor its output, so Sequential may free them early. */
  static readonly keepsNoActivations = true;
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** [outFeatures, inFeatures]. */
  weight: Tensor;
  /** [outFeatures], or undefined with `bias: false`. */
  bias: Tensor | undefined;

  constructor(inFeatures: number, outFeatures: number, options?: LinearOptions) {
    super();
    this.inFeatures = nonNegativeInteger('Linear', 'inFeatures', inFeatures);
    this.outFeatures = nonNegativeInteger('Linear', 'outFeatures', outFeatures);
    const o = layerOptions('Linear', options, ['bias']);
    const bias = optionalBoolean('Linear', 'options.bias', o.bias, true);
    const like = { dtype: o.dtype, device: o.device };
    this.weight = this.registerParameter('weight', empty([outFeatures, inFeatures], like));
    this.bias = this.registerParameter('bias', bias ? empty([outFeatures], like) : undefined);
    this.resetParameters();
  }

  /**
   * Draws the parameters again as the constructor does (kaiming uniform with a = √5, which is
   * U(-1/√fanIn, 1/√fanIn), for both).
   *
   * @example
   * ```ts
   * const fc = new mp.nn.Linear(4, 2);
   * fc.resetParameters({ generator: new mp.Generator(0) });
   * ```
   */
  resetParameters(options?: { generator?: Generator }): void {
    resetAffine(this.weight, this.bias, ownOption(options, 'generator'));
  }

  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}, bias=${this.bias !== undefined}`;
  }
}

/** PyTorch's reset_parameters of Linear and Conv: weight and bias U(-1/√fanIn, 1/√fanIn). */
export function resetAffine(weight: Tensor, bias: Tensor | undefined, generator: Generator | undefined): void {
  kaimingUniform_(weight, { a: Math.sqrt(5), generator });
  if (bias === undefined) return;
  const [fanIn] = calculateFanInAndFanOut(weight);
  const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
  uniform_(bias, -bound, bound, { generator });
}
