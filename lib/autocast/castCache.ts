/**
 * The weight-cast cache: a float32 parameter cast to the autocast dtype once per outermost
 * autocast scope and reused by every op that needs it (PyTorch's cached_cast). Two things
 * PyTorch does not do: an entry is dropped when its source is modified in place (the storage
 * version moved), so a weight updated inside a long scope is never used stale; and entries are
 * keyed by target dtype too, so an inner scope with another dtype never gets the outer one's cast.
 * Pure bookkeeping: the casts themselves are made by the op layer.
 */
import type { DType } from '../dtype';
import type { Tensor } from '../tensor';

interface Entry {
  cast: Tensor;
  version: number;
}

/** @internal One outermost scope's cached casts. */
export class CastCache {
  private readonly entries = new Map<Tensor, Map<DType, Entry>>();

  /**
   * Whether casts of `source` to `dtype` are cached: float32 leaves that require grad
   * (parameters), cast to the scope's autocast dtype.
   */
  static eligible(source: Tensor, dtype: DType, autocastDtype: DType): boolean {
    return source.dtype === 'float32' && dtype === autocastDtype && source.requiresGrad && source.isLeaf;
  }

  /** The cached cast, or undefined when there is none or the source changed since. */
  lookup(source: Tensor, dtype: DType): Tensor | undefined {
    const byDtype = this.entries.get(source);
    const entry = byDtype?.get(dtype);
    if (!entry) return undefined;
    if (entry.version === source.version && !entry.cast.isDisposed && !source.isDisposed) return entry.cast;
    byDtype!.delete(dtype);
    if (!entry.cast.isDisposed) entry.cast.dispose();
    return undefined;
  }

  /** Remembers `cast` (already kept out of tidy scopes by the caller); the cache disposes it. */
  store(source: Tensor, dtype: DType, cast: Tensor): void {
    let byDtype = this.entries.get(source);
    if (!byDtype) this.entries.set(source, (byDtype = new Map()));
    byDtype.set(dtype, { cast, version: source.version });
  }

  /** Number of cached casts. */
  get size(): number {
    let n = 0;
    for (const m of this.entries.values()) n += m.size;
    return n;
  }

  /**
   * Drops every entry. The casts' memory stays alive while an autograd graph saved them (saved
   * tensors hold the storage), so clearing never breaks a pending backward.
   */
  clear(): void {
    for (const byDtype of this.entries.values()) {
      for (const { cast } of byDtype.values()) if (!cast.isDisposed) cast.dispose();
    }
    this.entries.clear();
  }
}
