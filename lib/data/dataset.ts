/**
 * Datasets: indexable collections of samples, each sample an array of tensors.
 */
import { allocate } from '../creation';
import { Device } from '../device';
import { argRangeError, MixprecTypeError } from '../errors';
import { checkTensor, Tensor } from '../tensor';

/**
 * What a {@link DataLoader} draws samples from: `length` samples, `get(i)` returning the tensors
 * of sample i (for example `[image, label]`).
 *
 * @example
 * ```ts
 * const squares: mp.data.Dataset = {
 *   length: 10,
 *   get: (i) => [mp.tensor([i]), mp.tensor([i * i])],
 * };
 * ```
 */
export interface Dataset {
  readonly length: number;
  get(index: number): Tensor[];
}

/** A typed array as `rawData()` returns it: bit patterns for 16-bit floats, so copies are exact. */
type RawArray = ReturnType<Tensor['rawData']>;

interface RowCache {
  /** The storage version the copy was read at: an in-place write makes it stale. */
  version: number;
  data: RawArray;
}

function newLike(src: RawArray, length: number): RawArray {
  return new (src.constructor as new (n: number) => RawArray)(length);
}

/**
 * A dataset wrapping tensors that share their first dimension: sample i is `[t0[i], t1[i], ...]`.
 * The tensors are not copied or owned: dispose them yourself when done.
 *
 * @example
 * ```ts
 * const x = mp.randn([100, 3]);
 * const y = mp.randint(0, 2, [100]);
 * const ds = new mp.data.TensorDataset(x, y);
 * ds.length;           // 100
 * const [xi, yi] = ds.get(7); // shapes [3] and []
 * ```
 */
export class TensorDataset implements Dataset {
  /** The wrapped tensors, in the order samples list them. */
  readonly tensors: readonly Tensor[];
  private readonly samples: number;
  private readonly rowSizes: number[];
  private readonly cache: (RowCache | undefined)[];

  constructor(...tensors: Tensor[]) {
    if (tensors.length === 0) {
      throw new MixprecTypeError('ERR_INVALID_ARG', 'TensorDataset: at least one tensor is needed, got none');
    }
    tensors.forEach((t, i) => {
      checkTensor('TensorDataset', `tensors[${i}]`, t);
      if (t.ndim === 0) throw argRangeError('TensorDataset', `tensors[${i}]`, 'a tensor with a first (sample) dimension', t, 'ERR_INVALID_SHAPE');
    });
    const n = tensors[0].shape[0];
    tensors.forEach((t, i) => {
      if (t.shape[0] !== n) {
        throw argRangeError('TensorDataset', `tensors[${i}]`, `a tensor whose first dimension is ${n} (the size of tensors[0]'s)`, t, 'ERR_SHAPE_MISMATCH');
      }
    });
    this.tensors = Object.freeze(tensors.slice());
    this.samples = n;
    this.rowSizes = tensors.map((t) => (n === 0 ? 0 : t.numel / n));
    this.cache = tensors.map(() => undefined);
  }

  /** The number of samples (the tensors' first dimension). @example `new mp.data.TensorDataset(mp.zeros([5, 2])).length // 5` */
  get length(): number {
    return this.samples;
  }

  /**
   * Sample `index` (negative counts from the end): one view per tensor, sharing its memory.
   *
   * @example
   * ```ts
   * const ds = new mp.data.TensorDataset(mp.zeros([8, 2]), mp.ones([8]));
   * const [xi, yi] = ds.get(-1); // the last sample
   * ```
   */
  get(index: number): Tensor[] {
    const n = this.samples;
    if (typeof index !== 'number' || !Number.isInteger(index) || index < -n || index >= n) {
      throw argRangeError('TensorDataset.get', 'index', `an integer in [${-n}, ${n})`, index, 'ERR_OUT_OF_BOUNDS');
    }
    const i = index < 0 ? index + n : index;
    return this.tensors.map((t, k) => {
      t.assertAlive('TensorDataset.get', `tensors[${k}]`);
      return new Tensor(t.storage, t.shape.slice(1), t.offset + i * this.rowSizes[k]);
    });
  }

  /**
   * The samples at `indices` stacked into one new tensor per dataset tensor, each of the
   * dataset tensor's dtype and device. Rows are copied from a host copy of each tensor read once
   * (and re-read only after an in-place write), so a batch costs one native write, not one op
   * per sample. @internal
   */
  gather(op: string, indices: ArrayLike<number>): Tensor[] {
    const rows = this.tensors.map((_, k) => {
      const src = this.rowsOf(op, k);
      const size = this.rowSizes[k];
      const out = newLike(src, indices.length * size);
      // Consecutive indices (every unshuffled batch) are copied as one block.
      let j = 0;
      while (j < indices.length) {
        let end = j + 1;
        while (end < indices.length && indices[end] === indices[end - 1] + 1) ++end;
        const first = indices[j] * size;
        out.set(src.subarray(first, first + (end - j) * size), j * size);
        j = end;
      }
      return out;
    });
    return this.tensors.map((t, k) => {
      const staged = allocate(op, [indices.length, ...t.shape.slice(1)], { dtype: t.dtype, device: Device.cpu, requiresGrad: false });
      staged.storage.write(0, rows[k]);
      if (t.device === Device.cpu) return staged;
      const moved = staged.to(t.device);
      staged.dispose();
      return moved;
    });
  }

  private rowsOf(op: string, k: number): RawArray {
    const t = this.tensors[k];
    t.assertAlive(op, `dataset.tensors[${k}]`);
    const cached = this.cache[k];
    if (cached !== undefined && cached.version === t.version) return cached.data;
    const data = t.rawData();
    this.cache[k] = { version: t.version, data };
    return data;
  }
}
