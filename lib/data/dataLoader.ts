/**
 * DataLoader: batches of a dataset, in order or in a seeded random order per epoch.
 */
import { tidy } from '../memory';
import { stack } from '../ops/shapeOps';
import { argRangeError, argTypeError } from '../errors';
import { defaultGenerator, Generator } from '../random';
import { permutation } from './permutation';
import { Tensor } from '../tensor';
import { TensorDataset, type Dataset } from './dataset';
import { checkOptions, isOptionsObject, nonNegativeInteger, optionalBoolean, positiveInteger } from '../validate';

/** Options of {@link DataLoader}. */
export interface DataLoaderOptions {
  /** Samples per batch (default 1). */
  batchSize?: number;
  /** Draw a new random order each epoch (default false: dataset order). */
  shuffle?: boolean;
  /** Skip the last batch when it would be smaller than `batchSize` (default false). */
  dropLast?: boolean;
  /** The random stream shuffling draws from (default: the default generator, see `mp.manualSeed`). */
  generator?: Generator;
  /**
   * Where the sample indices of each epoch come from instead (e.g. a
   * {@link DistributedSampler}): iterated once at the start of every epoch. Exclusive with
   * `shuffle`, as in PyTorch.
   */
  sampler?: Sampler;
}

/** A source of sample indices: iterated once per epoch, `length` indices each time. */
export interface Sampler extends Iterable<number> {
  readonly length: number;
}

/** {@link DataLoader.stateDict}'s result. */
export interface DataLoaderState {
  /** Epochs started so far. */
  epochs: number;
  /** The epoch in progress: its sample order (`null` without shuffle) and the next batch's index; `null` between epochs. */
  epoch: { order: Int32Array | null; nextBatch: number } | null;
}

interface EpochPosition {
  order: Int32Array | null;
  nextBatch: number;
}

const OPTION_KEYS = ['batchSize', 'shuffle', 'dropLast', 'generator', 'sampler'];

/** `indices` as a new Int32Array, checked: `length` integers in [0, datasetLength). */
function sampleIndices(op: string, what: string, indices: ArrayLike<unknown>, length: number, datasetLength: number): Int32Array {
  if (indices.length !== length) throw argRangeError(op, what, `${length} indices (the sampler's length)`, `${indices.length} indices`);
  const order = new Int32Array(length);
  for (let i = 0; i < length; ++i) {
    const v = indices[i];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= datasetLength) {
      throw argRangeError(op, what, `integers in [0, ${datasetLength}) (the dataset's indices)`, `${String(v)} at position ${i}`);
    }
    order[i] = v;
  }
  return order;
}

function checkDataset(value: unknown): Dataset {
  if (value instanceof TensorDataset) return value;
  const d = value as Partial<Dataset> | null;
  if (typeof d !== 'object' || d === null || typeof d.get !== 'function' || typeof d.length !== 'number' || !Number.isSafeInteger(d.length) || d.length < 0) {
    throw argTypeError('DataLoader', 'dataset', 'a Dataset (a non-negative integer length and a get(index) method)', value);
  }
  return d as Dataset;
}

/**
 * Iterates over a dataset in batches: each batch is an array with one tensor per sample
 * element (`[x, y]` for a `TensorDataset(x, y)`), whose first dimension is the batch. With
 * `shuffle`, every iteration (epoch) draws a fresh permutation from the generator, so the same
 * seed gives the same sequence of epochs.
 *
 * Batches are new tensors owned by the caller: dispose them, or create them inside a `tidy`
 * scope. A `TensorDataset`'s batches are copied from a host copy of its tensors made on the
 * first batch (it holds as much host memory as the dataset); other datasets' samples are
 * stacked with `mp.stack`.
 *
 * @example
 * ```ts
 * const x = mp.randn([256, 4]);
 * const y = mp.randn([256, 4]);
 * const loader = new mp.data.DataLoader(new mp.data.TensorDataset(x, y), {
 *   batchSize: 64, shuffle: true, generator: new mp.Generator(0),
 * });
 * for (let epoch = 0; epoch < 3; ++epoch) {
 *   for (const batch of loader) {
 *     const [xb, yb] = batch;
 *     mp.tidy(() => mp.nn.functional.mseLoss(xb, yb)); // a training step
 *     mp.dispose(batch);
 *   }
 * }
 * ```
 */
export class DataLoader implements Iterable<Tensor[]> {
  readonly dataset: Dataset;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  /** The generator given in the options, if any (shuffling uses the default generator otherwise). */
  readonly generator: Generator | undefined;
  /** The sampler given in the options, if any. */
  readonly sampler: Sampler | undefined;
  /** Epochs started (a resumed epoch is not counted again). */
  #epochs = 0;
  /** The epoch being iterated: its order and the next batch's index. */
  #current: EpochPosition | undefined = undefined;
  /** A position set by loadStateDict, taken by the next iteration. */
  #resume: EpochPosition | undefined = undefined;

  constructor(dataset: Dataset, options: DataLoaderOptions = {}) {
    this.dataset = checkDataset(dataset);
    checkOptions('DataLoader', options, OPTION_KEYS);
    const { batchSize = 1, generator } = options;
    this.batchSize = positiveInteger('DataLoader', 'options.batchSize', batchSize);
    if (generator !== undefined && !(generator instanceof Generator)) {
      throw argTypeError('DataLoader', 'options.generator', 'a Generator', generator);
    }
    this.shuffle = optionalBoolean('DataLoader', 'options.shuffle', options.shuffle, false);
    this.dropLast = optionalBoolean('DataLoader', 'options.dropLast', options.dropLast, false);
    this.generator = generator;
    const sampler = options.sampler as Sampler | undefined;
    if (sampler !== undefined) {
      if (typeof sampler !== 'object' || sampler === null || typeof (sampler as Partial<Sampler>)[Symbol.iterator] !== 'function' || !Number.isSafeInteger(sampler.length) || sampler.length < 0) {
        throw argTypeError('DataLoader', 'options.sampler', 'a sampler (an iterable of indices with a non-negative integer length)', sampler);
      }
      if (this.shuffle) throw argTypeError('DataLoader', 'options.shuffle', 'false or absent when a sampler is given (the sampler decides the order)', true);
    }
    this.sampler = sampler;
  }

  /** Samples per epoch: the sampler's length, or the dataset's. */
  get #samples(): number {
    return this.sampler ? this.sampler.length : this.dataset.length;
  }

  /** A new epoch's order: the sampler's indices, a permutation when shuffling, else null (dataset order). */
  #drawOrder(): Int32Array | null {
    if (this.sampler) return sampleIndices('DataLoader', 'the sampler\'s indices', Array.from(this.sampler), this.sampler.length, this.dataset.length);
    return this.shuffle ? permutation(this.dataset.length, this.generator ?? defaultGenerator) : null;
  }

  /** The number of batches one epoch yields. @example `new mp.data.DataLoader(new mp.data.TensorDataset(mp.zeros([100, 2])), { batchSize: 32 }).length // 4 (3 with dropLast)` */
  get length(): number {
    const n = this.#samples;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /**
   * One epoch of batches. The order is drawn when the first batch is requested. After
   * {@link loadStateDict}, the next iteration finishes the saved epoch instead: the saved order
   * from the saved batch on (possibly no batch at all, when it was saved after its last batch).
   *
   * @example
   * ```ts
   * const loader = new mp.data.DataLoader(new mp.data.TensorDataset(mp.zeros([8, 2]), mp.ones([8])), { batchSize: 4 });
   * const [xb, yb] = loader[Symbol.iterator]().next().value;
   * ```
   */
  *[Symbol.iterator](): Iterator<Tensor[]> {
    const n = this.#samples;
    const resumed = this.#resume;
    const epoch = resumed ?? { order: this.#drawOrder(), nextBatch: 0 };
    this.#resume = undefined;
    this.#current = epoch;
    if (resumed === undefined) this.#epochs += 1;
    const batches = this.length;
    try {
      for (let b = epoch.nextBatch; b < batches; ++b) {
        const start = b * this.batchSize;
        const end = Math.min(start + this.batchSize, n);
        let indices: ArrayLike<number>;
        if (epoch.order) {
          indices = epoch.order.subarray(start, end);
        } else {
          const range = new Int32Array(end - start);
          for (let i = 0; i < range.length; ++i) range[i] = start + i;
          indices = range;
        }
        const batch = this.collate(indices);
        epoch.nextBatch = b + 1;
        yield batch;
      }
    } finally {
      if (this.#current === epoch) this.#current = undefined;
    }
  }

  /**
   * Where iteration stands, to resume exactly: `epochs` started so far, and for an epoch in
   * progress its order (`null` without shuffle) and the index of the next batch. Plain data;
   * the order is the loader's own copy.
   *
   * @example
   * ```ts
   * const loader = new mp.data.DataLoader(new mp.data.TensorDataset(mp.arange(10)), { batchSize: 4, shuffle: true });
   * const it = loader[Symbol.iterator]();
   * mp.dispose(it.next().value);
   * const saved = loader.stateDict(); // { epochs: 1, epoch: { order: Int32Array [...], nextBatch: 1 } }
   * const resumed = new mp.data.DataLoader(new mp.data.TensorDataset(mp.arange(10)), { batchSize: 4, shuffle: true });
   * resumed.loadStateDict(saved); // its next iteration yields batches 1 and 2 of the same order
   * ```
   */
  stateDict(): DataLoaderState {
    const e = this.#current ?? this.#resume;
    return { epochs: this.#epochs, epoch: e === undefined ? null : { order: e.order && e.order.slice(), nextBatch: e.nextBatch } };
  }

  /**
   * Restores {@link stateDict}'s result, checked against this loader's dataset length, batch
   * size and shuffle setting; the next iteration resumes the saved epoch.
   *
   * @example
   * ```ts
   * const loader = new mp.data.DataLoader(new mp.data.TensorDataset(mp.arange(4)), { batchSize: 2 });
   * loader.loadStateDict({ epochs: 3, epoch: { order: null, nextBatch: 1 } }); // next iteration: the second batch only
   * ```
   */
  loadStateDict(state: DataLoaderState): void {
    const op = 'DataLoader.loadStateDict';
    if (!isOptionsObject(state)) throw argTypeError(op, 'state', 'a state from stateDict() {epochs, epoch}', state);
    const epochs = nonNegativeInteger(op, 'state.epochs', state.epochs);
    const e = state.epoch;
    if (e === null) {
      this.#resume = undefined;
      this.#epochs = epochs;
      return;
    }
    if (!isOptionsObject(e)) throw argTypeError(op, 'state.epoch', 'null or {order, nextBatch}', e);
    const nextBatch = nonNegativeInteger(op, 'state.epoch.nextBatch', e.nextBatch);
    if (nextBatch > this.length) throw argRangeError(op, 'state.epoch.nextBatch', `at most the ${this.length} batches of an epoch`, nextBatch);
    let order: Int32Array | null = null;
    if (this.sampler) {
      if (!(e.order instanceof Int32Array)) throw argTypeError(op, 'state.epoch.order', 'an Int32Array of sample indices (this loader has a sampler)', e.order);
      order = sampleIndices(op, 'state.epoch.order', e.order, this.sampler.length, this.dataset.length);
    } else if (this.shuffle) {
      const n = this.dataset.length;
      if (!(e.order instanceof Int32Array) || e.order.length !== n) throw argTypeError(op, 'state.epoch.order', `an Int32Array permutation of the ${n} samples (this loader shuffles)`, e.order);
      const seen = new Uint8Array(n);
      for (const i of e.order) {
        if (!(i >= 0 && i < n) || seen[i]) throw argRangeError(op, 'state.epoch.order', `a permutation of 0..${n - 1}`, `an array holding ${i}${seen[i] ? ' twice' : ''}`);
        seen[i] = 1;
      }
      order = e.order.slice();
    } else if (e.order !== null) {
      throw argTypeError(op, 'state.epoch.order', 'null (this loader does not shuffle)', e.order);
    }
    this.#resume = { order, nextBatch };
    this.#epochs = epochs;
  }

  private collate(indices: ArrayLike<number>): Tensor[] {
    const dataset = this.dataset;
    if (dataset instanceof TensorDataset) return dataset.gather('DataLoader', indices);
    // Tensors the dataset creates per sample die with this scope; stored ones are untouched.
    return tidy(() => {
      const samples = Array.from(indices, (i) => {
        const sample = dataset.get(i);
        if (!Array.isArray(sample) || sample.length === 0 || !sample.every((t) => t instanceof Tensor)) {
          throw argTypeError('DataLoader', `dataset.get(${i})`, 'a non-empty array of tensors', sample);
        }
        return sample;
      });
      const width = samples[0].length;
      samples.forEach((s, j) => {
        if (s.length !== width) {
          throw argRangeError('DataLoader', `dataset.get(${indices[j]})`, `an array of ${width} tensors (like dataset.get(${indices[0]}))`, s);
        }
      });
      return samples[0].map((_, k) => stack(samples.map((s) => s[k])));
    });
  }
}
