/**
 * Autocast scopes: `mp.amp.autocast(options, fn)`, its decorator form `autocast.wrap` and the
 * disposable `autocast.enter` for synchronous code. A scope sets one device type's state for
 * the code it runs (async code included) and restores the outer state when it ends.
 */
import { cuda } from '../backend';
import { parseDType, type DType } from '../dtype';
import { argTypeError, MixprecError } from '../errors';
import { CastCache } from '../autocast/castCache';
import { DecisionLog } from '../autocast/decisionLog';
import { checkDeviceType, currentFrame, enterFrame, runInFrame, type AutocastFrame } from '../autocast/state';
import { AutocastPolicy, type AutocastDeviceType } from '../autocast/policy';
import { isOptionsObject, optionalBoolean, rejectUnknownKeys } from '../validate';

/** Options of an autocast scope. */
export interface AutocastOptions {
  /** The device type whose ops are autocast: 'cpu' or 'cuda' (required, as in PyTorch). */
  deviceType: AutocastDeviceType;
  /** The low precision: 'float16' or 'bfloat16' (default: the enclosing scope's, else float16 on CUDA, bfloat16 on the CPU). */
  dtype?: DType;
  /** False makes an island where autocast is off for this device type (default true). */
  enabled?: boolean;
  /** Reuse casts of float32 parameters within the outermost scope (default true). */
  cacheEnabled?: boolean;
  /**
   * CPU matrix products (matmul, mm, bmm, linear) read their float32 operands as they are and
   * round them to `dtype` while packing them, instead of casting them first (default true): the
   * same numbers and gradients, without the casts' passes over memory or their cached copies
   * (docs/autocast.md). false: every float32 operand is cast first (through the weight-cast
   * cache), as PyTorch does. CUDA ops always cast first.
   */
  castFusion?: boolean;
  /** Which op runs in which precision (default: the built-in policy of `deviceType`). */
  policy?: AutocastPolicy;
  /** Record a decision log and return `{ result, log }` (default false); see {@link explain}. */
  record?: boolean;
}

/** What a recording scope returns. */
export interface Explained<T> {
  /** What the scope's function returned. */
  result: T;
  /** One entry per op call inside the scope. */
  log: DecisionLog;
}

/** `Explained<T>`, or a promise of it when `fn` was async. */
export type ExplainedResult<T> = T extends PromiseLike<infer R> ? Promise<Explained<R>> : Explained<T>;

/** A scope opened with {@link autocast.enter}: close it with `exit()` or a `using` declaration. */
export interface AutocastScope {
  /** The scope's decision log when opened with `record: true`. */
  readonly log: DecisionLog | undefined;
  /** Restores the state from before the scope (idempotent). */
  exit(): void;
  [Symbol.dispose](): void;
}

const lowPrecision: readonly DType[] = ['float16', 'bfloat16'];
const optionKeys = ['deviceType', 'dtype', 'enabled', 'cacheEnabled', 'castFusion', 'policy', 'record'];

function disableWithWarning(message: string): false {
  process.emitWarning(message, { type: 'MixprecWarning', code: 'MIXPREC_AUTOCAST_DISABLED' });
  return false;
}

/** Validates the options and builds the scope's frame from the enclosing one. */
function frameFor(op: string, options: unknown): { frame: AutocastFrame; onExit: () => void } {
  if (!isOptionsObject(options)) throw argTypeError(op, 'options', "an options object such as { deviceType: 'cpu' }", options);
  rejectUnknownKeys(op, options, optionKeys, MixprecError);
  if (options.deviceType === undefined) throw new MixprecError('ERR_INVALID_ARG', `${op}: options.deviceType is required ('cpu' or 'cuda')`);
  const deviceType = checkDeviceType(op, options.deviceType, 'options.deviceType');
  const parent = currentFrame();
  const dtype = options.dtype === undefined ? parent[deviceType].dtype : parseDType(op, 'options.dtype', options.dtype);
  let enabled = optionalBoolean(op, 'options.enabled', options.enabled, true);
  const cacheEnabled = optionalBoolean(op, 'options.cacheEnabled', options.cacheEnabled, true);
  const castFusion = optionalBoolean(op, 'options.castFusion', options.castFusion, true);
  const record = optionalBoolean(op, 'options.record', options.record, false);
  if (options.policy !== undefined && !(options.policy instanceof AutocastPolicy)) {
    throw argTypeError(op, 'options.policy', 'an AutocastPolicy (mp.amp.policies.* or mp.amp.policy.extend(...))', options.policy);
  }
  const policy = (options.policy as AutocastPolicy | undefined) ?? parent[deviceType].policy;
  if (enabled && !lowPrecision.includes(dtype)) {
    enabled = disableWithWarning(`${op}: ${deviceType} autocast only supports float16 and bfloat16 as its low precision, got ${dtype}; autocast is disabled in this scope`);
  }
  if (enabled && deviceType === 'cuda') {
    if (!cuda.isAvailable()) {
      enabled = disableWithWarning(`${op}: deviceType 'cuda' was requested but CUDA is not available; autocast is disabled in this scope`);
    } else if (dtype === 'bfloat16' && !cuda.isBf16Supported()) {
      const [major, minor] = cuda.getDeviceCapability();
      throw new MixprecError('ERR_INVALID_DTYPE', `${op}: this CUDA device (compute capability ${major}.${minor}) does not support bfloat16; use dtype 'float16'`);
    }
  }
  const depth = parent.depth + 1;
  const cache = parent.cache ?? new CastCache();
  const frame: AutocastFrame = {
    ...parent,
    [deviceType]: { enabled, dtype, cacheEnabled, castFusion, policy },
    depth,
    cache,
    log: record ? new DecisionLog() : parent.log,
  };
  return { frame, onExit: depth === 1 ? () => cache.clear() : () => undefined };
}

function isRecording(options: unknown): boolean {
  return typeof options === 'object' && options !== null && (options as { record?: unknown }).record === true;
}

function run<T>(op: string, options: AutocastOptions, fn: () => T): T | Explained<T> | Promise<Explained<Awaited<T>>> {
  if (typeof fn !== 'function') throw argTypeError(op, 'fn', 'a function', fn);
  const { frame, onExit } = frameFor(op, options);
  const result = runInFrame(frame, fn, onExit);
  if (!isRecording(options)) return result;
  const log = frame.log!;
  if (result instanceof Promise) return result.then((r: Awaited<T>) => ({ result: r, log }));
  return { result, log };
}

interface AutocastFunction {
  /**
   * Runs `fn` with autocast on for `options.deviceType` and returns its result (a Promise when
   * `fn` is async; the scope lasts until it settles). With `record: true` it returns
   * `{ result, log }` instead.
   *
   * @example
   * ```ts
   * const model = new mp.nn.Linear(4, 3);
   * const x = mp.randn([2, 4]);
   * const y = mp.tensor([0, 2], { dtype: 'int32' });
   * const loss = mp.amp.autocast({ deviceType: 'cpu' }, () => {
   *   const logits = model.forward(x);          // linear/conv run in bfloat16
   *   return mp.nn.functional.crossEntropy(logits, y);         // losses run in float32
   * });
   * ```
   */
  <T>(options: AutocastOptions & { record: true }, fn: () => T): ExplainedResult<T>;
  <T>(options: AutocastOptions, fn: () => T): T;
  /**
   * The decorator form: a function that runs `fn` inside the scope on every call.
   *
   * @example
   * ```ts
   * const forward = mp.amp.autocast.wrap({ deviceType: 'cpu' }, (x: mp.Tensor) => model.forward(x));
   * ```
   */
  wrap<A extends unknown[], R>(options: AutocastOptions, fn: (...args: A) => R): (...args: A) => R;
  /**
   * Opens a scope for the rest of the synchronous code; close it with `using` or `exit()`.
   * Scopes opened this way must close in reverse order. Prefer the callback form around awaits.
   *
   * @example
   * ```ts
   * const model = new mp.nn.Linear(4, 3);
   * const x = mp.randn([2, 4]);
   * let y: mp.Tensor;
   * {
   *   using _ = mp.amp.autocast.enter({ deviceType: 'cpu' });
   *   y = model.forward(x);
   * } // autocast state restored here
   * ```
   */
  enter(options: AutocastOptions): AutocastScope;
}

/** Autocast scopes (see the call signatures). */
export const autocast: AutocastFunction = Object.assign(
  <T>(options: AutocastOptions, fn: () => T) => run('amp.autocast', options, fn),
  {
    wrap<A extends unknown[], R>(options: AutocastOptions, fn: (...args: A) => R): (...args: A) => R {
      if (typeof fn !== 'function') throw argTypeError('amp.autocast.wrap', 'fn', 'a function', fn);
      if (isRecording(options)) throw new MixprecError('ERR_INVALID_ARG', 'amp.autocast.wrap: record is not supported by the decorator form; use mp.amp.explain(options, fn)');
      frameFor('amp.autocast.wrap', options);
      return function (this: unknown, ...args: A): R {
        return run('amp.autocast.wrap', options, () => fn.apply(this, args)) as R;
      };
    },
    enter(options: AutocastOptions): AutocastScope {
      const { frame, onExit } = frameFor('amp.autocast.enter', options);
      const exit = enterFrame(frame, onExit);
      return {
        log: isRecording(options) ? frame.log : undefined,
        exit: () => exit('amp.autocast.enter(...).exit'),
        [Symbol.dispose]: () => exit('amp.autocast.enter(...)[Symbol.dispose]'),
      };
    },
  },
) as AutocastFunction;

/**
 * Runs `fn` in an autocast scope that records every op decision; returns `{ result, log }`
 * (a Promise of it when `fn` is async).
 *
 * @example
 * ```ts
 * const model = new mp.nn.Linear(4, 3);
 * const x = mp.randn([2, 4]);
 * const y = mp.tensor([0, 2], { dtype: 'int32' });
 * const { log } = mp.amp.explain({ deviceType: 'cpu' }, () => mp.nn.functional.crossEntropy(model.forward(x), y));
 * console.log(log.toTable());
 * //  #  op            device  inputs                   ran in    category        why     casts      cache hits
 * //  0  linear        cpu     float32,float32,float32  bfloat16  lowerPrecision  policy  3 (992 B)  0 ...
 * ```
 */
export function explain<T>(options: Omit<AutocastOptions, 'record'>, fn: () => T): ExplainedResult<T> {
  if (typeof options !== 'object' || options === null) throw argTypeError('amp.explain', 'options', "an options object such as { deviceType: 'cpu' }", options);
  return run('amp.explain', { ...options, record: true }, fn) as ExplainedResult<T>;
}
