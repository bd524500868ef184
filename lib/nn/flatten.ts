/**
 * Flatten: merges a range of dimensions into one.
 */
import type { Tensor } from '../tensor';
import { dimArg } from './args';
import * as F from './functional';
import { Module } from './module';

/**
 * Merges dimensions `startDim` through `endDim` (default: all but the batch dimension).
 *
 * @example
 * ```ts
 * new mp.nn.Flatten().forward(mp.zeros([8, 16, 4, 4])).shape; // [8, 256]
 * ```
 */
export class Flatten extends Module {
  /** Keeps neither a forward's input nor its output, so Sequential may free them early. */
  static readonly keepsNoActivations = true;
  readonly startDim: number;
  readonly endDim: number;

  constructor(startDim = 1, endDim = -1) {
    super();
    this.startDim = dimArg('Flatten', 'startDim', startDim);
    this.endDim = dimArg('Flatten', 'endDim', endDim);
  }

  forward(x: Tensor): Tensor {
    return F.flatten(x, this.startDim, this.endDim);
  }

  override extraRepr(): string {
    return `startDim=${this.startDim}, endDim=${this.endDim}`;
  }
}
