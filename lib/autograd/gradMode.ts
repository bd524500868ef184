/**
 * Whether autograd records: `noGrad` / `enableGrad` scopes follow the async context (so
 * concurrent requests never see each other's mode), and primitive ops suspend recording while
 * their forward runs so the native calls inside them are never recorded twice.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

const modes = new AsyncLocalStorage<boolean>();
let suspended = 0;

/**
 * Whether operations are recorded for backward right now (true unless inside {@link noGrad}).
 *
 * @example
 * ```ts
 * mp.isGradEnabled();                      // true
 * mp.noGrad(() => mp.isGradEnabled());     // false
 * ```
 */
export function isGradEnabled(): boolean {
  return suspended === 0 && (modes.getStore() ?? true);
}

function checkFn(op: string, fn: unknown): void {
  if (typeof fn !== 'function') throw new TypeError(`${op}: argument 'fn' must be a function, got ${typeof fn}`);
}

/**
 * Runs `fn` without recording operations (evaluation, parameter updates). `fn` may be async:
 * the mode follows its async context.
 *
 * @example
 * ```ts
 * const model = new mp.nn.Linear(4, 3);
 * const x = mp.randn([2, 4]);
 * const pred = mp.noGrad(() => model.forward(x));
 * pred.requiresGrad; // false
 * ```
 */
export function noGrad<T>(fn: () => T): T {
  checkFn('noGrad', fn);
  return modes.run(false, fn);
}

/**
 * Runs `fn` with recording enabled, even inside {@link noGrad}.
 *
 * @example
 * ```ts
 * mp.noGrad(() => mp.enableGrad(() => mp.ones([2]).requiresGrad_().mul(2).requiresGrad)); // true
 * ```
 */
export function enableGrad<T>(fn: () => T): T {
  checkFn('enableGrad', fn);
  return modes.run(true, fn);
}

/** @internal Runs a primitive op's forward (synchronous) without recording what it calls. */
export function withoutRecording<T>(fn: () => T): T {
  suspended += 1;
  try {
    return fn();
  } finally {
    suspended -= 1;
  }
}
