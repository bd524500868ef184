/**
 * DataLoader: batches of a dataset, in order or in a seeded random order per epoch.
 */
import { tidy } from '../memory';
import { stack } from '../ops/shapeOps';
import { argRangeError, argTypeError } from '../errors';
import { defaultGenerator, Generator, rand } from '../random';
import { Tensor } from '../tensor';
import { TensorDataset, type Dataset } from './dataset';
import { checkOptions, optionalBoolean, positiveInteger } from '../validate';

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
}

const OPTION_KEYS = ['batchSize', 'shuffle', 'dropLast', 'generator'];

function checkDataset(value: unknown): Dataset {
  if (value instanceof TensorDataset) return value;
  const d = value as Partial<Dataset> | null;
  if (typeof d !== 'object' || d === null || typeof d.get !== 'function' || typeof d.length !== 'number' || !Number.isSafeInteger(d.length) || d.length < 0) {
    throw argTypeError('DataLoader', 'dataset', 'a Dataset (a non-negative integer length and a get(index) method)', value);
  }
  return d as Dataset;
}

/**
 * A random permutation of 0..n-1: uniform keys from `generator`, sorted. Ties (vanishingly
 * rare with float64 keys) keep index order, so the result depends only on the generator state.
 */
function permutation(n: number, generator: Generator): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; ++i) order[i] = i;
  if (n < 2) return order;
  const keysTensor = rand([n], { dtype: 'float64', generator });
  const keys = keysTensor.dataSync();
  keysTensor.dispose();
  return order.sort((a, b) => keys[a] - keys[b] || a - b);
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
  }

  /** The number of batches one epoch yields. @example `new mp.data.DataLoader(new mp.data.TensorDataset(mp.zeros([100, 2])), { batchSize: 32 }).length // 4 (3 with dropLast)` */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /**
   * One epoch of batches. The order is drawn when the first batch is requested.
   *
   * @example
   * ```ts
   * const loader = new mp.data.DataLoader(new mp.data.TensorDataset(mp.zeros([8, 2]), mp.ones([8])), { batchSize: 4 });
   * const [xb, yb] = loader[Symbol.iterator]().next().value;
   * ```
   */
  *[Symbol.iterator](): Iterator<Tensor[]> {
    const n = this.dataset.length;
    const order = this.shuffle ? permutation(n, this.generator ?? defaultGenerator) : null;
    const batches = this.length;
    for (let b = 0; b < batches; ++b) {
      const start = b * this.batchSize;
      const end = Math.min(start + this.batchSize, n);
      let indices: ArrayLike<number>;
      if (order) {
        indices = order.subarray(start, end);
      } else {
        const range = new Int32Array(end - start);
        for (let i = 0; i < range.length; ++i) range[i] = start + i;
        indices = range;
      }
      yield this.collate(indices);
    }
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
