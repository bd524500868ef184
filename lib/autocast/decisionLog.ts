/**
 * The decision log of `mp.amp.explain` / `autocast({record: true})`: one entry per op call
 * inside the scope, saying which dtype autocast chose and why. Nothing is recorded (and nothing
 * costs) unless a scope asks for it.
 */
import type { DType } from '../dtype';
import type { AutocastCategory, AutocastDeviceType } from './policy';

/** Why autocast chose what it chose for one op call. */
export type DecisionReason =
  /** The op's category in the scope's policy, from the built-in lists. */
  | 'policy'
  /** The op's category was set by `mp.amp.policy.extend`. */
  | 'policyOverride'
  /** Autocast is off for the op's device here (an `enabled: false` island or no scope for it). */
  | 'disabled'
  /** No input was eligible (float64, integer or another device's tensors): the op ran as given. */
  | 'ineligible'
  /** The op received an explicit `dtype` option, which autocast respects. */
  | 'explicitDtype'
  /** A custom Function's `customFwd({castInputs})` cast its inputs and ran with autocast off. */
  | 'customFwd';

/** One op call. */
export interface Decision {
  /** Position in the log, from 0. */
  index: number;
  /** The op's registered name (or the custom Function's name). */
  op: string;
  device: AutocastDeviceType;
  /** Dtypes of the tensor inputs, in argument order. */
  inputDtypes: DType[];
  /** The category that applied (`passThrough` when autocast was off). */
  category: AutocastCategory;
  /** The dtype the op computed in: the cast target, or its output's dtype when nothing was cast. */
  dtype: DType | undefined;
  reason: DecisionReason;
  /** Casts inserted for this call (cache hits excluded). */
  casts: number;
  /** Bytes written by those casts. */
  bytesCast: number;
  /** Inputs served from the weight-cast cache. */
  cacheHits: number;
  /**
   * float32 inputs a CPU matrix product rounded to the 16-bit dtype as its kernel read them
   * (cast fusion): the numbers of a cast, without one.
   */
  fusedCasts: number;
}

/** Totals over a log. */
export interface DecisionTotals {
  ops: number;
  casts: number;
  bytesCast: number;
  cacheHits: number;
  fusedCasts: number;
  /** Op calls per category. */
  byCategory: Partial<Record<AutocastCategory, number>>;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

/**
 * What autocast did inside a recorded scope. Print it (`console.log(String(log))`) or serialise
 * it (`JSON.stringify(log)`).
 *
 * @example
 * ```ts
 * const model = new mp.nn.Linear(4, 3);
 * const x = mp.randn([2, 4]);
 * const { result, log } = mp.amp.explain({ deviceType: 'cpu' }, () => model.forward(x));
 * console.log(log.toTable());
 * log.totals.casts; // casts inserted
 * ```
 */
export class DecisionLog {
  /** The op calls in order. */
  readonly entries: Decision[] = [];

  /** @internal */
  record(d: Omit<Decision, 'index'>): void {
    this.entries.push({ index: this.entries.length, ...d });
  }

  /** Totals over every entry. */
  get totals(): DecisionTotals {
    const t: DecisionTotals = { ops: 0, casts: 0, bytesCast: 0, cacheHits: 0, fusedCasts: 0, byCategory: {} };
    for (const e of this.entries) {
      t.ops += 1;
      t.casts += e.casts;
      t.bytesCast += e.bytesCast;
      t.cacheHits += e.cacheHits;
      t.fusedCasts += e.fusedCasts;
      t.byCategory[e.category] = (t.byCategory[e.category] ?? 0) + 1;
    }
    return t;
  }

  /** A fixed-width table: one row per op call, then the totals. */
  toTable(): string {
    const head = ['#', 'op', 'device', 'inputs', 'ran in', 'category', 'why', 'casts', 'cache hits', 'fused'];
    const rows = this.entries.map((e) => [
      String(e.index), e.op, e.device, e.inputDtypes.join(',') || '-', e.dtype ?? '-', e.category, e.reason,
      e.casts === 0 ? '0' : `${e.casts} (${e.bytesCast} B)`, String(e.cacheHits), String(e.fusedCasts),
    ]);
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (r: string[]) => r.map((c, i) => pad(c, widths[i])).join('  ').trimEnd();
    const t = this.totals;
    const cats = Object.entries(t.byCategory).map(([c, n]) => `${c} ${n}`).join(', ');
    return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line),
      `${t.ops} op call(s) (${cats || 'none'}); ${t.casts} cast(s), ${t.bytesCast} bytes cast; ${t.cacheHits} cache hit(s), ${t.fusedCasts} fused cast(s)`].join('\n');
  }

  toString(): string {
    return this.toTable();
  }

  toJSON(): { entries: Decision[]; totals: DecisionTotals } {
    return { entries: this.entries, totals: this.totals };
  }
}
