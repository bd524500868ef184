/**
 * Cast policies: which precision each op runs in under autocast. The default category of every
 * op is declared with the op (the registry calls {@link declareOpAutocast}); a policy reads those
 * defaults for one device's lists and may override any op. Pure data: nothing here runs an op.
 */
import { MixprecError } from '../errors';

/**
 * How autocast treats an op (PyTorch's `CastPolicy`):
 * - `lowerPrecision`: floating inputs are cast to the autocast dtype (matmul, conv, linear);
 * - `fp32`: floating inputs are cast to float32 (exp, log, losses, layerNorm on CUDA);
 * - `fp32SetOptDtype`: inputs are not cast, the op is asked for a float32 result through its
 *   `dtype` option (sum, prod, softmax, logSoftmax, norm on CUDA), so it accumulates in float32;
 * - `promote`: floating inputs are cast to the widest of them (scatterAdd, cat on CPU);
 * - `banned`: refused inside autocast (binaryCrossEntropy on CUDA: unsafe in float16);
 * - `passThrough`: no cast; the op runs in its inputs' dtypes with the usual type promotion.
 */
export type AutocastCategory = 'lowerPrecision' | 'fp32' | 'fp32SetOptDtype' | 'promote' | 'banned' | 'passThrough';

/** The categories, in the order tables list them. */
export const autocastCategories: readonly AutocastCategory[] = ['lowerPrecision', 'fp32', 'fp32SetOptDtype', 'promote', 'banned', 'passThrough'];

/** The device types autocast knows, each with its own lists and state. */
export type AutocastDeviceType = 'cpu' | 'cuda';

/** An op's default category per device (one category when both agree). */
export type OpAutocastDecl = AutocastCategory | Record<AutocastDeviceType, AutocastCategory>;

interface OpAutocastInfo {
  cuda: AutocastCategory;
  cpu: AutocastCategory;
  /** Whether the op takes a `dtype` option (required by fp32SetOptDtype). */
  acceptsDtype: boolean;
  /** What to use instead, for a banned op's error. */
  bannedHint?: string;
}

const ops = new Map<string, OpAutocastInfo>();

/** @internal Called by the op registry when an op is declared. */
export function declareOpAutocast(name: string, decl: OpAutocastDecl, acceptsDtype: boolean, bannedHint?: string): void {
  const both = typeof decl === 'string' ? { cuda: decl, cpu: decl } : decl;
  for (const cat of [both.cuda, both.cpu]) {
    if (!autocastCategories.includes(cat)) throw new Error(`defineOp: op '${name}' has an unknown autocast category '${cat}'`);
    if (cat === 'fp32SetOptDtype' && !acceptsDtype) throw new Error(`defineOp: op '${name}' is fp32SetOptDtype but takes no dtype option`);
  }
  ops.set(name, { cuda: both.cuda, cpu: both.cpu, acceptsDtype, bannedHint });
}

/** @internal What the registry declared for an op (undefined for names it does not know). */
export function opAutocastInfo(name: string): Readonly<OpAutocastInfo> | undefined {
  return ops.get(name);
}

/** Changes to a policy: op names per category. */
export type PolicyChanges = Partial<Record<AutocastCategory, readonly string[]>>;

/**
 * A cast policy: a category for every op. Built-in: {@link policies}; make your own with
 * {@link policy.extend}.
 *
 * @example
 * ```ts
 * mp.amp.policies.cuda.categoryOf('matmul');   // 'lowerPrecision'
 * mp.amp.policies.cpu.categoryOf('softmax');   // 'passThrough'
 * ```
 */
export class AutocastPolicy {
  /** @internal */
  constructor(
    /** A name for logs and errors. */
    readonly name: string,
    /** Whose default lists it starts from. */
    readonly base: AutocastDeviceType,
    /** @internal Ops whose category differs from the base lists. */
    readonly overrides: ReadonlyMap<string, AutocastCategory> = new Map(),
  ) {}

  /** The category of `op` (`passThrough` for names no op declared). */
  categoryOf(op: string): AutocastCategory {
    return this.overrides.get(op) ?? ops.get(op)?.[this.base] ?? 'passThrough';
  }

  /** Whether `op`'s category was set by {@link policy.extend} rather than the built-in lists. */
  isOverridden(op: string): boolean {
    return this.overrides.has(op);
  }

  /**
   * Every declared op grouped by category (for docs and reviews).
   * @example `mp.amp.policies.cpu.lists().lowerPrecision // ['stridedProduct', 'matmul', ...]`
   */
  lists(): Record<AutocastCategory, string[]> {
    const out = Object.fromEntries(autocastCategories.map((c) => [c, [] as string[]])) as Record<AutocastCategory, string[]>;
    for (const name of ops.keys()) out[this.categoryOf(name)].push(name);
    return out;
  }

  /** @internal The banned op's advice. */
  bannedHint(op: string): string | undefined {
    return ops.get(op)?.bannedHint;
  }

  toString(): string {
    return `AutocastPolicy(${this.name})`;
  }
}

/**
 * The built-in policies: PyTorch's CUDA lists (run with float16 by default) and CPU lists (run
 * with bfloat16 by default), for every op mixprec has.
 */
export const policies: { readonly cuda: AutocastPolicy; readonly cpu: AutocastPolicy } = Object.freeze({
  cuda: new AutocastPolicy('cuda', 'cuda'),
  cpu: new AutocastPolicy('cpu', 'cpu'),
});

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; ++i) {
    let diag = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; ++j) {
      const next = Math.min(row[j] + 1, row[j - 1] + 1, diag + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
      diag = row[j];
      row[j] = next;
    }
  }
  return row[b.length];
}

/** The declared op names closest to `name`, for "did you mean" errors. */
function closestNames(name: string): string[] {
  return [...ops.keys()]
    .map((n) => ({ n, d: editDistance(name, n) }))
    .sort((x, y) => x.d - y.d || x.n.localeCompare(y.n))
    .slice(0, 3)
    .map((x) => x.n);
}

function extend(base: AutocastPolicy, changes: PolicyChanges, name?: string): AutocastPolicy {
  const op = 'amp.policy.extend';
  if (!(base instanceof AutocastPolicy)) throw new MixprecError('ERR_INVALID_ARG', `${op}: argument 'base' must be an AutocastPolicy (mp.amp.policies.cuda, mp.amp.policies.cpu or an extended one), got ${typeof base}`);
  if (typeof changes !== 'object' || changes === null || Array.isArray(changes)) {
    throw new MixprecError('ERR_INVALID_ARG', `${op}: argument 'changes' must be an object such as {fp32: ['gelu']}, got ${changes === null ? 'null' : typeof changes}`);
  }
  const overrides = new Map(base.overrides);
  const seen = new Map<string, string>();
  for (const [category, names] of Object.entries(changes)) {
    if (!autocastCategories.includes(category as AutocastCategory)) {
      throw new MixprecError('ERR_INVALID_ARG', `${op}: unknown category '${category}' (expected ${autocastCategories.map((c) => `'${c}'`).join(', ')})`);
    }
    if (!Array.isArray(names)) throw new MixprecError('ERR_INVALID_ARG', `${op}: changes.${category} must be an array of op names, got ${typeof names}`);
    for (const opName of names as unknown[]) {
      if (typeof opName !== 'string' || !ops.has(opName)) {
        const hint = typeof opName === 'string' ? `; closest names: ${closestNames(opName).join(', ')}` : '';
        throw new MixprecError('ERR_INVALID_ARG', `${op}: changes.${category} names an unknown op ${JSON.stringify(opName)}${hint}`);
      }
      const earlier = seen.get(opName);
      if (earlier !== undefined && earlier !== category) {
        throw new MixprecError('ERR_INVALID_ARG', `${op}: op '${opName}' is listed under both '${earlier}' and '${category}'`);
      }
      if (category === 'fp32SetOptDtype' && !ops.get(opName)!.acceptsDtype) {
        throw new MixprecError('ERR_INVALID_ARG', `${op}: op '${opName}' takes no dtype option, so it cannot be fp32SetOptDtype (use 'fp32')`);
      }
      seen.set(opName, category);
      overrides.set(opName, category as AutocastCategory);
    }
  }
  if (name !== undefined && typeof name !== 'string') throw new MixprecError('ERR_INVALID_ARG', `${op}: argument 'name' must be a string, got ${typeof name}`);
  return new AutocastPolicy(name ?? `${base.name}+custom`, base.base, overrides);
}

/**
 * Building custom policies (PyTorch's op lists are fixed; ours are not).
 *
 * @example
 * ```ts
 * const model = new mp.nn.Linear(4, 3).cuda();
 * const x = mp.randn([2, 4], { device: 'cuda' });
 * // Keep gelu in float32 and run softmax in the autocast dtype on CUDA:
 * const p = mp.amp.policy.extend(mp.amp.policies.cuda, { fp32: ['gelu'], lowerPrecision: ['softmax'] });
 * mp.amp.autocast({ deviceType: 'cuda', policy: p }, () => model.forward(x));
 * ```
 */
export const policy = {
  /**
   * A new policy: `base` with the listed ops moved to the given categories. Unknown op names
   * are an error that lists the closest names.
   */
  extend,
};
