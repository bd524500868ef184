/**
 * Activation modules: ReLU, GELU, SiLU, Tanh, Sigmoid, Softmax (no parameters).
 */
import { argTypeError } from '../errors';
import type { Tensor } from '../tensor';
import { dimArg } from './args';
import * as F from './functional';
import { Module } from './module';
import { ownOption } from '../validate';

/** `max(x, 0)`. @example `new mp.nn.ReLU().forward(mp.tensor([-1, 0.5, 2]))` */
export class ReLU extends Module {
  /** Keeps neither a forward's input nor its output, so Sequential may free them early. */
  static readonly keepsNoActivations = true;
  forward(x: Tensor): Tensor {
    return F.relu(x);
  }
}

/**
 * GELU: `x·Φ(x)` (exact, with erf), or the tanh approximation with `{approximate: 'tanh'}`.
 *
 * @example
 * ```ts
 * new mp.nn.GELU({ approximate: 'tanh' }).forward(mp.tensor([-1, 0.5, 2]));
 * ```
 */
export class GELU extends Module {
  /** Keeps neither a forward's input nor its output, so Sequential may free them early. */
  static readonly keepsNoActivations = true;
  readonly approximate: 'none' | 'tanh';

  constructor(options?: { approximate?: 'none' | 'tanh' }) {
    super();
    if (options !== undefined && (typeof options !== 'object' || options === null)) throw argTypeError('GELU', 'options', 'an options object', options);
    const approximate = ownOption(options, 'approximate') ?? 'none';
    if (approximate !== 'none' && approximate !== 'tanh') throw argTypeError('GELU', 'options.approximate', "'none' or 'tanh'", approximate);
    this.approximate = approximate;
  }

  forward(x: Tensor): Tensor {
    return F.gelu(x, { approximate: this.approximate });
  }

  override extraRepr(): string {
    return `approximate='${this.approximate}'`;
  }
}

/** `x·sigmoid(x)` (swish). @example `new mp.nn.SiLU().forward(mp.tensor([-1, 0.5, 2]))` */
export class SiLU extends Module {
  /** Keeps neither a forward's input nor its output, so Sequential may free them early. */
  static readonly keepsNoActivations = true;
  forward(x: Tensor): Tensor {
    return F.silu(x);
  }
}

/** Hyperbolic tangent. @example `new mp.nn.Tanh().forward(mp.tensor([-1, 0.5, 2]))` */
export class Tanh extends Module {
  /** Keeps neither a forward's input nor its output, so Sequential may free them early. */
  static readonly keepsNoActivations = true;
  forward(x: Tensor): Tensor {
    return F.tanh(x);
  }
}

/** `1 / (1 + e^-x)`. @example `new mp.nn.Sigmoid().forward(mp.tensor([-1, 0.5, 2]))` */
export class Sigmoid extends Module {
  /** Keeps neither a forward's input nor its output, so Sequential may free them early. */
  static readonly keepsNoActivations = true;
  forward(x: Tensor): Tensor {
    return F.sigmoid(x);
  }
}

/**
 * Softmax along `dim`: non-negative values summing to 1.
 *
 * @example
 * ```ts
 * new mp.nn.Softmax(-1).forward(mp.tensor([[1, 2, 3]]));
 * ```
 */
export class Softmax extends Module {
  /** Keeps neither a forward's input nor its output, so Sequential may free them early. */
  static readonly keepsNoActivations = true;
  readonly dim: number;

  constructor(dim: number) {
    super();
    this.dim = dimArg('Softmax', 'dim', dim);
  }

  forward(x: Tensor): Tensor {
    return F.softmax(x, this.dim);
  }

  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}
