/**
 * Embedding: a lookup table of vectors indexed by integers.
 */
import type { DeviceLike } from '../device';
import type { DType } from '../dtype';
import { empty } from '../creation';
import { argRangeError } from '../errors';
import type { Generator } from '../random';
import { Tensor } from '../tensor';
import { noGrad } from '../autograd/gradMode';
import { layerOptions } from './args';
import * as F from './functional';
import { normal_ } from './init';
import { Module } from './module';
import { nonNegativeInteger, ownOption } from '../validate';

/** Options of {@link Embedding}. */
export interface EmbeddingOptions {
  /**
   * An index whose vector stays zero and gets no gradient (e.g. padding tokens); negative counts
   * from the end.
   */
  paddingIdx?: number;
  dtype?: DType;
  device?: DeviceLike;
}

/**
 * Maps int32 indices of any shape to rows of a [numEmbeddings, embeddingDim] weight (drawn from
 * N(0, 1), as PyTorch's), giving [...indices.shape, embeddingDim].
 *
 * @example
 * ```ts
 * const emb = new mp.nn.Embedding(10000, 256, { paddingIdx: 0 });
 * const vectors = emb.forward(mp.tensor([[5, 0, 42]], { dtype: 'int32' })); // [1, 3, 256]
 * ```
 */
export class Embedding extends Module {
  /** Keeps neither a forward's input nor its output, so Sequential may free them early. */
  static readonly keepsNoActivations = true;
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  /** The padding index, made non-negative, or undefined. */
  readonly paddingIdx: number | undefined;
  /** [numEmbeddings, embeddingDim]. */
  weight: Tensor;

  constructor(numEmbeddings: number, embeddingDim: number, options?: EmbeddingOptions) {
    super();
    this.numEmbeddings = nonNegativeInteger('Embedding', 'numEmbeddings', numEmbeddings);
    this.embeddingDim = nonNegativeInteger('Embedding', 'embeddingDim', embeddingDim);
    const o = layerOptions('Embedding', options, ['paddingIdx']);
    const p = o.paddingIdx;
    if (p !== undefined && (typeof p !== 'number' || !Number.isInteger(p) || p < -numEmbeddings || p >= numEmbeddings)) {
      throw argRangeError('Embedding', 'options.paddingIdx', `an integer in [${-numEmbeddings}, ${numEmbeddings - 1}]`, p);
    }
    this.paddingIdx = p === undefined ? undefined : p < 0 ? p + numEmbeddings : p;
    this.weight = this.registerParameter('weight', empty([numEmbeddings, embeddingDim], { dtype: o.dtype, device: o.device }));
    this.resetParameters();
  }

  /**
   * Draws the weight from N(0, 1) again and zeroes the padding row.
   *
   * @example
   * ```ts
   * const emb = new mp.nn.Embedding(10, 4, { paddingIdx: 0 });
   * emb.resetParameters({ generator: new mp.Generator(0) });
   * ```
   */
  resetParameters(options?: { generator?: Generator }): void {
    normal_(this.weight, 0, 1, { generator: ownOption(options, 'generator') });
    if (this.paddingIdx === undefined) return;
    const w = this.weight;
    // A row of a contiguous matrix is contiguous: fill it through a view of the same storage.
    const row = new Tensor(w.storage, [this.embeddingDim], w.offset + this.paddingIdx * this.embeddingDim);
    try {
      noGrad(() => row.fill_(0));
    } finally {
      row.dispose();
    }
  }

  forward(indices: Tensor): Tensor {
    return F.embedding(indices, this.weight, { paddingIdx: this.paddingIdx });
  }

  override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}${this.paddingIdx === undefined ? '' : `, paddingIdx=${this.paddingIdx}`}`;
  }
}
