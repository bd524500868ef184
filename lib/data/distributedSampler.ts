/**
 * DistributedSampler: the share of a dataset's indices one rank trains on, with PyTorch's
 * index arithmetic (torch.utils.data.DistributedSampler), so every rank draws the same
 * permutation from `seed + epoch` and takes every `numReplicas`-th index from its rank on.
 */
import { argRangeError, argTypeError, MixprecError } from '../errors';
import { getRank, getWorldSize, isInitialized } from '../distributed/processGroup';
import { Generator } from '../random';
import { checkOptions, nonNegativeInteger, optionalBoolean, positiveInteger } from '../validate';
import type { Dataset } from './dataset';
import type { Sampler } from './dataLoader';
import { permutation } from './permutation';

/** Options of {@link DistributedSampler}. */
export interface DistributedSamplerOptions {
  /** The number of ranks sharing the dataset (default: the process group's world size). */
  numReplicas?: number;
  /** This rank, in [0, numReplicas) (default: the process group's rank). */
  rank?: number;
  /** Draw a new permutation each epoch from `seed + epoch` (default true). */
  shuffle?: boolean;
  /** The permutation's seed; must be the same on every rank (default 0). */
  seed?: number;
  /**
   * Drop the tail so every rank gets `floor(length / numReplicas)` samples (default false: pad
   * by repeating indices from the start so every rank gets `ceil(length / numReplicas)`).
   */
  dropLast?: boolean;
}

const OPTION_KEYS = ['numReplicas', 'rank', 'shuffle', 'seed', 'dropLast'];

/**
 * Restricts a dataset to one rank's share, for data-parallel training: pass it as a
 * DataLoader's `sampler` and call {@link setEpoch} at the start of every epoch (otherwise every
 * epoch repeats the same order, as in PyTorch). All ranks' shares together cover the dataset
 * once when its length divides by `numReplicas`; otherwise the first indices of the epoch's
 * order are repeated to pad (or, with `dropLast`, the tail is dropped) so that every rank runs
 * the same number of steps.
 *
 * @example
 * ```ts
 * const dataset = new mp.data.TensorDataset(mp.arange(10));
 * const sampler = new mp.data.DistributedSampler(dataset, { numReplicas: 2, rank: 1, shuffle: false });
 * [...sampler]; // [1, 3, 5, 7, 9]
 * const loader = new mp.data.DataLoader(dataset, { batchSize: 2, sampler });
 * for (let epoch = 0; epoch < 2; ++epoch) {
 *   sampler.setEpoch(epoch);
 *   for (const batch of loader) mp.dispose(batch);
 * }
 * ```
 */
export class DistributedSampler implements Sampler {
  readonly numReplicas: number;
  readonly rank: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  /** Indices this rank yields per epoch. */
  readonly numSamples: number;
  /** Indices of all ranks together per epoch (`numSamples * numReplicas`). */
  readonly totalSize: number;
  #epoch = 0;

  constructor(readonly dataset: Dataset, options: DistributedSamplerOptions = {}) {
    const op = 'DistributedSampler';
    const d = dataset as Partial<Dataset> | null;
    if (typeof d !== 'object' || d === null || !Number.isSafeInteger(d.length) || d.length! < 0) {
      throw argTypeError(op, 'dataset', 'a Dataset (with a non-negative integer length)', dataset);
    }
    const o = checkOptions(op, options, OPTION_KEYS);
    if ((o.numReplicas === undefined || o.rank === undefined) && !isInitialized()) {
      throw new MixprecError('ERR_INVALID_ARG', `${op}: options.numReplicas and options.rank are needed when no process group is initialized; call mp.distributed.initProcessGroup() first or pass both`);
    }
    this.numReplicas = o.numReplicas === undefined ? getWorldSize() : positiveInteger(op, 'options.numReplicas', o.numReplicas);
    this.rank = o.rank === undefined ? getRank() : nonNegativeInteger(op, 'options.rank', o.rank);
    if (this.rank >= this.numReplicas) throw argRangeError(op, 'options.rank', `in [0, numReplicas = ${this.numReplicas})`, this.rank);
    this.shuffle = optionalBoolean(op, 'options.shuffle', o.shuffle, true);
    this.seed = o.seed === undefined ? 0 : nonNegativeInteger(op, 'options.seed', o.seed);
    this.dropLast = optionalBoolean(op, 'options.dropLast', o.dropLast, false);
    const n = dataset.length;
    // PyTorch's arithmetic: with dropLast and a remainder, the largest equal share that fits.
    this.numSamples = this.dropLast && n % this.numReplicas !== 0 ? Math.ceil((n - this.numReplicas) / this.numReplicas) : Math.ceil(n / this.numReplicas);
    this.totalSize = this.numSamples * this.numReplicas;
  }

  /** Indices this rank yields per epoch (`numSamples`). */
  get length(): number {
    return this.numSamples;
  }

  /**
   * Sets the epoch the next iteration's permutation is drawn for (`seed + epoch`). Call it with
   * the same value on every rank before each epoch.
   * @example `new mp.data.DistributedSampler(new mp.data.TensorDataset(mp.arange(8)), { numReplicas: 2, rank: 0 }).setEpoch(3)`
   */
  setEpoch(epoch: number): void {
    this.#epoch = nonNegativeInteger('DistributedSampler.setEpoch', 'epoch', epoch);
  }

  /** The epoch set by {@link setEpoch} (0 before). */
  get epoch(): number {
    return this.#epoch;
  }

  /** This rank's indices of the current epoch. */
  *[Symbol.iterator](): Iterator<number> {
    const n = this.dataset.length;
    let indices: Int32Array;
    if (this.shuffle) {
      indices = permutation(n, new Generator(this.seed + this.#epoch));
    } else {
      indices = new Int32Array(n);
      for (let i = 0; i < n; ++i) indices[i] = i;
    }
    // Pad by repeating the order from its start (as many times as needed), or cut the tail.
    const all = new Int32Array(this.totalSize);
    for (let i = 0; i < this.totalSize; ++i) all[i] = indices[i % n];
    for (let i = this.rank; i < this.totalSize; i += this.numReplicas) yield all[i];
  }
}
