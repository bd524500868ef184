/**
 * Learning byte-pair merges incrementally. Words (pre-tokenization pieces) are kept once each with
 * their count; pair counts, the set of words holding each pair and a max-heap of pairs are updated
 * after each merge for the words that held the merged pair only, and in those only around the
 * merge sites, so a merge costs a scan of those words, not a pass over the text (nor a recount
 * of a long word's pairs). Training a 4k vocabulary on the Brown corpus's train
 * split takes seconds (bench/bpe.js).
 */

/** Pair keys: `left * KEY_BASE + right`, exact in a double for ids below 2^24. */
export const KEY_BASE = 2 ** 24;

/**
 * A max-heap of (count, pair key): the highest count first, and among equal counts the smallest
 * key, i.e. the pair with the smallest left id, then the smallest right id. Entries are never
 * updated in place: a pair whose count changed gets a new entry, and {@link learnMerges} drops
 * popped entries whose count is no longer the pair's.
 */
class PairHeap {
  private counts: number[] = [];
  private keys: number[] = [];

  get size(): number {
    return this.counts.length;
  }

  private above(i: number, j: number): boolean {
    return this.counts[i] > this.counts[j] || (this.counts[i] === this.counts[j] && this.keys[i] < this.keys[j]);
  }

  private swap(i: number, j: number): void {
    [this.counts[i], this.counts[j]] = [this.counts[j], this.counts[i]];
    [this.keys[i], this.keys[j]] = [this.keys[j], this.keys[i]];
  }

  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    for (let i = this.counts.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (!this.above(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  /** Removes the top entry and returns it as [count, key]. */
  pop(): [number, number] {
    const top: [number, number] = [this.counts[0], this.keys[0]];
    const lastCount = this.counts.pop() as number;
    const lastKey = this.keys.pop() as number;
    const n = this.counts.length;
    if (n > 0) {
      this.counts[0] = lastCount;
      this.keys[0] = lastKey;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < n && this.above(l, best)) best = l;
        if (r < n && this.above(r, best)) best = r;
        if (best === i) break;
        this.swap(i, best);
        i = best;
      }
    }
    return top;
  }
}

/**
 * Up to `numMerges` merges learned from `words` (each word's base ids and how often it occurs):
 * each merge is the most frequent adjacent pair over all words (counted with the words'
 * multiplicities; overlapping pairs such as the two `aa` in `aaa` both count), ties going to the
 * smallest pair, and is applied left to right to every word before the next is chosen. Merge `i`
 * creates id `firstId + i`. Stops early when no word has two symbols left.
 */
export function learnMerges(words: readonly Int32Array[], counts: readonly number[], firstId: number, numMerges: number): [number, number][] {
  const symbols = words.map((w) => w.slice());
  const lengths = Int32Array.from(words, (w) => w.length);
  const pairCounts = new Map<number, number>();
  const holders = new Map<number, Set<number>>();
  const heap = new PairHeap();
  /** Pairs whose count changed during the current merge. */
  const touched = new Set<number>();

  /** Adds `delta` to the count of pair (a, b); a word that gains a pair is listed under it. */
  const add = (a: number, b: number, delta: number, w: number): void => {
    const key = a * KEY_BASE + b;
    pairCounts.set(key, (pairCounts.get(key) ?? 0) + delta);
    touched.add(key);
    // Listings of pairs a word lost are not removed: merging skips words without the pair.
    if (delta > 0) {
      let set = holders.get(key);
      if (set === undefined) holders.set(key, (set = new Set()));
      set.add(w);
    }
  };
  const pushTouched = (): void => {
    for (const key of touched) {
      const c = pairCounts.get(key) as number;
      if (c > 0) heap.push(c, key);
      else pairCounts.delete(key);
    }
    touched.clear();
  };

  for (let w = 0; w < symbols.length; ++w) {
    for (let i = 0; i + 1 < lengths[w]; ++i) add(symbols[w][i], symbols[w][i + 1], counts[w], w);
  }
  pushTouched();

  const merges: [number, number][] = [];
  while (merges.length < numMerges && heap.size > 0) {
    const [count, key] = heap.pop();
    if (pairCounts.get(key) !== count) continue; // stale: the pair has a newer entry or is gone
    const left = Math.floor(key / KEY_BASE);
    const right = key - left * KEY_BASE;
    const id = firstId + merges.length;
    merges.push([left, right]);
    for (const w of holders.get(key) ?? []) {
      // Merged left to right in place; at each site only the pairs around it change. `prev` is
      // the symbol before the site as merged so far (the new id after an adjacent site: ABAB
      // loses AB, BA, AB and gains ZZ), `next` the one after it as it was (AAA loses both AA).
      const s = symbols[w];
      const n = lengths[w];
      const c = counts[w];
      let out = 0;
      for (let i = 0; i < n; ++i) {
        if (i + 1 < n && s[i] === left && s[i + 1] === right) {
          add(left, right, -c, w);
          if (out > 0) {
            add(s[out - 1], left, -c, w);
            add(s[out - 1], id, c, w);
          }
          if (i + 2 < n) {
            add(right, s[i + 2], -c, w);
            add(id, s[i + 2], c, w);
          }
          s[out++] = id;
          ++i;
        } else {
          s[out++] = s[i];
        }
      }
      lengths[w] = out;
    }
    holders.delete(key);
    pushTouched();
  }
  return merges;
}
