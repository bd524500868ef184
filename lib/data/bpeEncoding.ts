/**
 * Applying learned merges to one pre-tokenization piece, as GPT-2's `bpe()`: repeatedly, the
 * adjacent pair with the lowest merge rank is merged at every place it occurs, left to right.
 * Short pieces (almost all: English words) rescan their few symbols per merge; long ones (a
 * run of thousands of letters or digits) use a heap of candidate pairs over a linked list of
 * symbols, so their cost grows as n log n instead of n times the merges that apply.
 */
import { KEY_BASE } from './bpeTraining';

/** Pieces up to this many bytes take the rescanning path. */
const SHORT_PIECE = 64;

/** The merge table of a tokenizer: rank of each pair key, and the pair of each rank. */
export interface MergeTable {
  ranks: ReadonlyMap<number, number>;
  merges: readonly (readonly [number, number])[];
  /** The id merge rank 0 makes (256 for a byte-level tokenizer). */
  firstId: number;
}

/** The ids of a piece whose base ids are `ids` (overwritten). */
export function mergePiece(ids: Int32Array, table: MergeTable): Int32Array {
  return ids.length <= SHORT_PIECE ? mergeByRescan(ids, table) : mergeByHeap(ids, table);
}

function mergeByRescan(ids: Int32Array, { ranks, merges, firstId }: MergeTable): Int32Array {
  let n = ids.length;
  for (;;) {
    let best = -1;
    let bestRank = Infinity;
    for (let i = 0; i + 1 < n; ++i) {
      const rank = ranks.get(ids[i] * KEY_BASE + ids[i + 1]);
      if (rank !== undefined && rank < bestRank) {
        bestRank = rank;
        best = i;
      }
    }
    if (best < 0) return ids.slice(0, n);
    const [left, right] = merges[bestRank];
    const id = firstId + bestRank;
    let out = best;
    for (let i = best; i < n; ++i) {
      if (i + 1 < n && ids[i] === left && ids[i + 1] === right) {
        ids[out++] = id;
        ++i;
      } else {
        ids[out++] = ids[i];
      }
    }
    n = out;
  }
}

/**
 * The same merges through a min-heap of (rank, position) over a doubly linked list of symbols. A
 * symbol keeps its starting position, so equal ranks pop left to right, as the rescan merges
 * them; a merge of rank r only creates pairs of higher rank (its new id is younger than every
 * merge up to r), so each rank's places are all known when the first is popped. Entries whose
 * symbols changed since they were pushed are dropped when popped.
 */
function mergeByHeap(ids: Int32Array, { ranks, firstId }: MergeTable): Int32Array {
  const n = ids.length;
  const next = new Int32Array(n);
  const prev = new Int32Array(n);
  const alive = new Uint8Array(n).fill(1);
  for (let i = 0; i < n; ++i) {
    next[i] = i + 1 < n ? i + 1 : -1;
    prev[i] = i - 1;
  }
  // A binary heap of (rank, position), smallest rank first, then leftmost.
  const heapRank: number[] = [];
  const heapPos: number[] = [];
  const below = (x: number, y: number): boolean => heapRank[x] < heapRank[y] || (heapRank[x] === heapRank[y] && heapPos[x] < heapPos[y]);
  const swap = (x: number, y: number): void => {
    [heapRank[x], heapRank[y]] = [heapRank[y], heapRank[x]];
    [heapPos[x], heapPos[y]] = [heapPos[y], heapPos[x]];
  };
  const push = (rank: number, position: number): void => {
    heapRank.push(rank);
    heapPos.push(position);
    for (let i = heapRank.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (!below(i, parent)) break;
      swap(i, parent);
      i = parent;
    }
  };
  /** Removes the top entry, leaving it in `top`. */
  const top = { rank: 0, position: 0 };
  const pop = (): void => {
    top.rank = heapRank[0];
    top.position = heapPos[0];
    const lastRank = heapRank.pop() as number;
    const lastPos = heapPos.pop() as number;
    const size = heapRank.length;
    if (size === 0) return;
    heapRank[0] = lastRank;
    heapPos[0] = lastPos;
    for (let i = 0; ;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < size && below(l, m)) m = l;
      if (r < size && below(r, m)) m = r;
      if (m === i) break;
      swap(i, m);
      i = m;
    }
  };
  const candidate = (i: number): void => {
    if (i < 0 || next[i] < 0) return;
    const rank = ranks.get(ids[i] * KEY_BASE + ids[next[i]]);
    if (rank !== undefined) push(rank, i);
  };
  for (let i = 0; i + 1 < n; ++i) candidate(i);
  while (heapRank.length > 0) {
    pop();
    const { rank, position: i } = top;
    const j = next[i];
    if (!alive[i] || j < 0 || ranks.get(ids[i] * KEY_BASE + ids[j]) !== rank) continue;
    ids[i] = firstId + rank;
    alive[j] = 0;
    next[i] = next[j];
    if (next[j] >= 0) prev[next[j]] = i;
    candidate(prev[i]);
    candidate(i);
  }
  const out: number[] = [];
  for (let i = 0; i >= 0; i = next[i]) out.push(ids[i]);
  return Int32Array.from(out);
}
