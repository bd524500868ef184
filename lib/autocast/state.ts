/**
 * Autocast state: per device type, whether autocast is on and with which dtype, cache setting
 * and policy. It lives in the async context (AsyncLocalStorage), so concurrent training loops
 * never see each other's settings across awaits. A scope is a new frame run with `frames.run`:
 * nesting restores the outer frame on exit (and on throw) by construction.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { DType } from '../dtype';
import { argTypeError, MixprecError, MixprecRangeError } from '../errors';
import type { CastCache } from './castCache';
import type { DecisionLog } from './decisionLog';
import { policies, type AutocastDeviceType, type AutocastPolicy } from './policy';

/** One device type's autocast settings inside a frame. */
export interface DeviceAutocast {
  readonly enabled: boolean;
  readonly dtype: DType;
  readonly cacheEnabled: boolean;
  /** CPU matrix products round float32 operands in their kernel instead of casting them first. */
  readonly castFusion: boolean;
  readonly policy: AutocastPolicy;
}

/** @internal Everything a scope sets up; inner scopes copy and change it. */
export interface AutocastFrame {
  readonly cpu: DeviceAutocast;
  readonly cuda: DeviceAutocast;
  /** Scopes entered in this async context (1 = outermost). */
  readonly depth: number;
  /** The outermost scope's weight-cast cache (shared by the scopes nested in it). */
  readonly cache: CastCache | undefined;
  /** The decision log of the nearest recording scope. */
  readonly log: DecisionLog | undefined;
}

/** The default low-precision dtype per device type (PyTorch's). */
export const defaultAutocastDtype: Readonly<Record<AutocastDeviceType, DType>> = { cuda: 'float16', cpu: 'bfloat16' };

/** @internal The frame outside every scope. */
export const rootFrame: AutocastFrame = Object.freeze({
  cpu: { enabled: false, dtype: defaultAutocastDtype.cpu, cacheEnabled: true, castFusion: true, policy: policies.cpu },
  cuda: { enabled: false, dtype: defaultAutocastDtype.cuda, cacheEnabled: true, castFusion: true, policy: policies.cuda },
  depth: 0,
  cache: undefined,
  log: undefined,
});

const frames = new AsyncLocalStorage<AutocastFrame>();
/** Scopes open anywhere in the process: 0 makes every op skip autocast with one comparison. */
let openScopes = 0;
/** Inside an op that autocast already handled: the ops it calls are not autocast again. */
let suspended = 0;

/** @internal The frame ops consult, or undefined when autocast cannot apply (the fast path). */
export function activeFrame(): AutocastFrame | undefined {
  if (openScopes === 0 || suspended !== 0) return undefined;
  return frames.getStore();
}

/** The current frame (the root one outside every scope). */
export function currentFrame(): AutocastFrame {
  return frames.getStore() ?? rootFrame;
}

/** @internal Runs a synchronous op body without autocasting the ops it calls. */
export function withoutAutocast<T>(fn: () => T): T {
  suspended += 1;
  try {
    return fn();
  } finally {
    suspended -= 1;
  }
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/**
 * @internal Runs `fn` in `frame`; `onExit` runs when `fn` returns, throws, or (for a promise)
 * settles. While it runs, ops see the frame.
 */
export function runInFrame<T>(frame: AutocastFrame, fn: () => T, onExit: () => void): T {
  openScopes += 1;
  let exited = false;
  const exit = () => {
    if (exited) return;
    exited = true;
    openScopes -= 1;
    onExit();
  };
  let result: T;
  try {
    result = frames.run(frame, fn);
  } catch (e) {
    exit();
    throw e;
  }
  if (!isThenable(result)) {
    exit();
    return result;
  }
  return Promise.resolve(result).then(
    (v) => {
      exit();
      return v;
    },
    (e: unknown) => {
      exit();
      throw e;
    },
  ) as T;
}

/**
 * @internal Makes `frame` current for the rest of the synchronous code (the disposable form);
 * the returned function restores the previous frame.
 */
export function enterFrame(frame: AutocastFrame, onExit: () => void): (op: string) => void {
  const previous = frames.getStore();
  openScopes += 1;
  enteredOpen += 1;
  watchExit();
  frames.enterWith(frame);
  let exited = false;
  return (op: string) => {
    if (exited) return;
    if (frames.getStore() !== frame) {
      throw new MixprecError('ERR_INVALID_ARG', `${op}: autocast scopes entered with autocast.enter() must be exited in reverse order (an inner scope is still open)`);
    }
    exited = true;
    openScopes -= 1;
    enteredOpen -= 1;
    frames.enterWith(previous as AutocastFrame);
    onExit();
  };
}

/** Scopes opened with `enterFrame` and not yet exited. */
let enteredOpen = 0;
let exitWatched = false;

/**
 * Warns when the process exits with an `autocast.enter()` scope still open: such a scope stays on
 * for the rest of its synchronous code and every async continuation made inside it, silently.
 * The warning is emitted synchronously ('exit' runs no more ticks), so it is printed.
 */
function watchExit(): void {
  if (exitWatched) return;
  exitWatched = true;
  process.on('exit', () => {
    if (enteredOpen === 0) return;
    const warning = Object.assign(new Error(`${enteredOpen} autocast scope(s) opened with mp.amp.autocast.enter() were never exited; close each with exit() or a \`using\` declaration`), { name: 'MixprecWarning', code: 'MIXPREC_AUTOCAST_OPEN' });
    process.emit('warning', warning);
  });
}

/**
 * @internal Runs a backward pass with autocast off on every device (backward runs in the dtypes
 * forward chose), keeping the cache so a `customBwd` scope inside still shares it.
 */
export function withAutocastOff<T>(fn: () => T): T {
  if (openScopes === 0) return fn();
  const f = currentFrame();
  if (!f.cpu.enabled && !f.cuda.enabled && !f.log) return fn();
  return frames.run({ ...f, cpu: { ...f.cpu, enabled: false }, cuda: { ...f.cuda, enabled: false }, log: undefined }, fn);
}

/**
 * Whether autocast is on for a device type here.
 * @example `mp.amp.autocast({ deviceType: 'cpu' }, () => mp.amp.isAutocastEnabled('cpu')); // true`
 */
export function isAutocastEnabled(deviceType: AutocastDeviceType): boolean {
  return currentFrame()[checkDeviceType('amp.isAutocastEnabled', deviceType)].enabled;
}

/**
 * The low-precision dtype autocast uses for a device type here (its default outside scopes:
 * float16 for CUDA, bfloat16 for the CPU).
 * @example `mp.amp.getAutocastDtype('cuda'); // 'float16'`
 */
export function getAutocastDtype(deviceType: AutocastDeviceType): DType {
  return currentFrame()[checkDeviceType('amp.getAutocastDtype', deviceType)].dtype;
}

/** @internal Validates a device type argument. */
export function checkDeviceType(op: string, deviceType: unknown, arg = 'deviceType'): AutocastDeviceType {
  if (typeof deviceType !== 'string') throw argTypeError(op, arg, "a device type string ('cpu' or 'cuda')", deviceType);
  if (deviceType !== 'cpu' && deviceType !== 'cuda') {
    const hint = /^cuda:\d+$/.test(deviceType) ? ` (autocast is per device type: use 'cuda')` : '';
    throw new MixprecRangeError('ERR_INVALID_DEVICE', `${op}: argument '${arg}' must be 'cpu' or 'cuda', got '${deviceType}'${hint}`);
  }
  return deviceType;
}
