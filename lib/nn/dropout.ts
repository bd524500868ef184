/**
 * Dropout: zeroes random elements while training.
 */
import type { Tensor } from '../tensor';
import * as F from './functional';
import { Module } from './module';
import { probability } from '../validate';

/**
 * While training, zeroes each element with probability `p` and scales the rest by 1 / (1 - p),
 * so the expected value is unchanged; in evaluation mode returns its input.
 *
 * @example
 * ```ts
 * const x = mp.ones([8]);
 * const drop = new mp.nn.Dropout(0.1);
 * drop.forward(x);         // training: random zeros
 * drop.eval().forward(x);  // x
 * ```
 */
export class Dropout extends Module {
  /** Keeps neither a forward's input nor its output, so Sequential may free them early. */
  static readonly keepsNoActivations = true;
  readonly p: number;

  constructor(p = 0.5) {
    super();
    this.p = probability('Dropout', 'p', p);
  }

  forward(x: Tensor): Tensor {
    return F.dropout(x, this.p, this.training);
  }

  override extraRepr(): string {
    return `p=${this.p}`;
  }
}
