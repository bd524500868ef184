/**
 * Deterministic memory management: dispose, tidy scopes (sync and async), keep, and the
 * memory report. Garbage collection also frees forgotten tensors (their native memory is
 * reported to V8), but only as a safety net: a training loop should dispose or tidy.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

import { dtypes, type DType } from './dtype';
import { native, type TensorToken } from './native';

/** What memory tracking needs from a tensor (tensor.ts implements it). */
export interface Trackable {
  readonly isTensor: true;
  readonly isDisposed: boolean;
  readonly dtype: DType;
  readonly deviceName: string;
  /** The scope that will dispose this tensor, if any. */
  scope: Scope | undefined;
  /** Exempt from scopes (mp.keep, or a long-lived tensor such as a parameter). */
  kept: boolean;
  /** Counts this tensor as live until disposed or collected (undefined once disposed). */
  countToken: TensorToken | undefined;
  dispose(): void;
}

/** A tidy scope: the tensors created while it is the innermost scope of the current async context. */
export class Scope {
  readonly tensors = new Set<Trackable>();
  constructor(readonly parent: Scope | undefined) {}
}

const scopes = new AsyncLocalStorage<Scope>();

/**
 * Tensors are counted natively: each tensor holds a token whose finalizer runs in the very
 * garbage collection that frees the tensor, so counts stay exact for forgotten tensors too (a
 * FinalizationRegistry's callbacks may run arbitrarily later, and V8 sometimes ran them not at
 * all within seconds of forced collections). This module instance takes its own count key per
 * device and dtype, so each realm sharing the addon (jest's test files) counts its own tensors.
 */
const countKeys = new Map<string, number>();
const countKey = (deviceName: string, dtype: DType) => `${deviceName}|${dtype}`;

function countKeyId(deviceName: string, dtype: DType): number {
  const name = countKey(deviceName, dtype);
  let id = countKeys.get(name);
  if (id === undefined) {
    id = native.newCountKey();
    countKeys.set(name, id);
  }
  return id;
}

/** Registers a new tensor with the live counts and the current tidy scope. */
export function trackTensor(t: Trackable): void {
  t.countToken = native.trackTensor(countKeyId(t.deviceName, t.dtype));
  const scope = scopes.getStore();
  if (scope) {
    t.scope = scope;
    scope.tensors.add(t);
  }
}

/** Removes a disposed tensor from the counts and its scope. */
export function untrackTensor(t: Trackable): void {
  if (t.countToken) native.untrackTensor(t.countToken);
  t.countToken = undefined;
  t.scope?.tensors.delete(t);
  t.scope = undefined;
}

/** Tensors live and garbage-collected by `${deviceName}|${dtype}`. */
function tensorCounts(): Map<string, { live: number; collected: number }> {
  const counts = native.tensorCounts();
  return new Map([...countKeys].map(([name, id]) => [name, { live: counts.live[id] ?? 0, collected: counts.collected[id] ?? 0 }]));
}

function isTrackable(v: unknown): v is Trackable {
  return typeof v === 'object' && v !== null && (v as Trackable).isTensor === true;
}

/** Every tensor reachable from a returned value through arrays, plain objects, Maps and Sets. */
function collectTensors(value: unknown, found: Set<Trackable>, seen: Set<unknown>): void {
  if (typeof value !== 'object' || value === null || seen.has(value)) return;
  seen.add(value);
  if (isTrackable(value)) {
    found.add(value);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) collectTensors(v, found, seen);
  } else if (value instanceof Map) {
    for (const [k, v] of value) {
      collectTensors(k, found, seen);
      collectTensors(v, found, seen);
    }
  } else if (value instanceof Set) {
    for (const v of value) collectTensors(v, found, seen);
  } else if (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null) {
    for (const v of Object.values(value)) collectTensors(v, found, seen);
  }
}

function closeScope(scope: Scope, result: unknown): void {
  const returned = new Set<Trackable>();
  collectTensors(result, returned, new Set());
  for (const t of [...scope.tensors]) {
    if (returned.has(t)) {
      // Handed to the enclosing scope, which decides its fate.
      scope.tensors.delete(t);
      t.scope = scope.parent;
      scope.parent?.tensors.add(t);
    } else {
      t.dispose();
    }
  }
}

function isPromiseLike(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as PromiseLike<unknown>).then === 'function';
}

/**
 * Runs `fn` and disposes every tensor created inside it, except the tensors it returns (found
 * in arrays, plain objects, Maps and Sets) and tensors passed to {@link keep}. Scopes nest; a
 * returned tensor moves to the enclosing scope. `fn` may be async: the scope follows the async
 * context, so concurrent tidy calls never see each other's tensors, and it closes when the
 * promise settles. If `fn` throws, every tensor it created is disposed.
 *
 * @example
 * ```ts
 * const pred = mp.tensor([1, 2]);
 * const target = mp.tensor([1, 3]);
 * const x = mp.tensor([1, 2]);
 * const loss = mp.tidy(() => {
 *   const diff = pred.sub(target);   // freed when tidy returns
 *   return diff.mul(diff).mean();    // kept: it is returned
 * });
 * await mp.tidy(async () => {
 *   const y = x.mul(2);
 *   console.log(await y.data());
 * });
 * ```
 */
export function tidy<T>(fn: () => T): T {
  if (typeof fn !== 'function') {
    throw new TypeError(`tidy: argument 'fn' must be a function, got ${typeof fn}`);
  }
  const scope = new Scope(scopes.getStore());
  let result: T;
  try {
    result = scopes.run(scope, fn);
  } catch (e) {
    closeScope(scope, undefined);
    throw e;
  }
  if (isPromiseLike(result)) {
    return Promise.resolve(result).then(
      (value) => {
        closeScope(scope, value);
        return value;
      },
      (e: unknown) => {
        closeScope(scope, undefined);
        throw e;
      },
    ) as T;
  }
  closeScope(scope, result);
  return result;
}

/**
 * Exempts a tensor from every tidy scope; it lives until disposed (or garbage-collected).
 * Returns the tensor.
 *
 * @example
 * ```ts
 * let running: mp.Tensor | undefined;
 * mp.tidy(() => { running = mp.keep(mp.zeros([10])); });
 * ```
 */
export function keep<T extends Trackable>(t: T): T {
  if (!isTrackable(t)) throw new TypeError(`keep: argument 't' must be a Tensor, got ${typeof t}`);
  t.kept = true;
  t.scope?.tensors.delete(t);
  t.scope = undefined;
  return t;
}

/**
 * Disposes every tensor found in a value (a tensor, or arrays / objects / Maps / Sets of them).
 *
 * @example
 * ```ts
 * const a = mp.ones([2]), b = mp.ones([2]), c = mp.ones([2]);
 * mp.dispose([a, b, { c }]);
 * ```
 */
export function dispose(container: unknown): void {
  const found = new Set<Trackable>();
  collectTensors(container, found, new Set());
  for (const t of found) t.dispose();
}

/** Live tensors and bytes of one dtype on one device. */
export interface DTypeMemory {
  numTensors: number;
  numBytes: number;
}

/** Memory use of one device. */
export interface DeviceMemory {
  numTensors: number;
  /** Bytes of live storage (views share their base's storage and count once). */
  numBytes: number;
  /** The most `numBytes` has been since start or {@link resetPeakMemory}. */
  peakBytes: number;
  /**
   * Freed blocks kept for reuse (CPU only, process-wide; not part of `numBytes`): see
   * {@link emptyCache}.
   */
  cachedBytes: number;
  dtypes: Partial<Record<DType, DTypeMemory>>;
}

/** The report of {@link memory}. */
export interface MemoryInfo {
  /** Tensors neither disposed nor garbage-collected. */
  numTensors: number;
  /**
   * Tensors the garbage collector freed because nothing disposed them, since this module was
   * loaded: each is a leak the safety net caught (dispose or tidy frees memory sooner).
   */
  numCollected: number;
  numBytes: number;
  peakBytes: number;
  devices: Record<string, DeviceMemory>;
}

/**
 * Live tensors and bytes per device and dtype in this JS environment, and peak bytes.
 *
 * @example
 * ```ts
 * const before = mp.memory().numTensors;
 * mp.tidy(() => mp.ones([1024]).add(1));
 * mp.memory().numTensors === before; // true: tidy freed both tensors
 * ```
 */
export function memory(): MemoryInfo {
  const stats = native.memoryStats();
  const counts = tensorCounts();
  const devices: Record<string, DeviceMemory> = {};
  let numTensors = 0;
  let numCollected = 0;
  for (const { collected } of counts.values()) numCollected += collected;
  for (const d of stats.devices) {
    const name = d.type === 'cpu' ? 'cpu' : `${d.type}:${d.index}`;
    const cachedBytes = d.type === 'cpu' ? native.cpuCacheInfo().cachedBytes : 0;
    const entry: DeviceMemory = { numTensors: 0, numBytes: d.bytes, peakBytes: d.peakBytes, cachedBytes, dtypes: {} };
    d.dtypes.forEach((slot, code) => {
      const dtype = dtypes[code];
      const count = counts.get(countKey(name, dtype))?.live ?? 0;
      if (count === 0 && slot.bytes === 0) return;
      entry.dtypes[dtype] = { numTensors: count, numBytes: slot.bytes };
      entry.numTensors += count;
    });
    devices[name] = entry;
    numTensors += entry.numTensors;
  }
  return { numTensors, numCollected, numBytes: stats.bytes, peakBytes: stats.peakBytes, devices };
}

/**
 * Starts peak tracking afresh: every peak becomes the current use.
 *
 * @example
 * ```ts
 * mp.resetPeakMemory();
 * mp.ones([256, 256]).dispose(); // a training step
 * console.log(mp.memory().peakBytes);
 * ```
 */
export function resetPeakMemory(): void {
  native.resetPeakMemory();
}

/**
 * Frees the CPU memory blocks kept for reuse and returns how many bytes that released.
 *
 * Freed CPU blocks of 64 KiB and more are kept and handed to the next allocation of the same size,
 * because a training step allocates the same sizes every step and fresh memory costs a page fault
 * per 4 KiB when first touched. The cache is shared by the whole process (worker threads too) and
 * holds at most an eighth of the machine's memory, up to 2 GiB, evicting the blocks cached longest
 * ago; set `MIXPREC_CPU_CACHE_BYTES` (bytes, `0` turns it off) before loading mixprec to change
 * that. Call this after a phase that used sizes the rest of the program will not (an evaluation
 * pass at another batch size, say) to give the memory back to the system.
 *
 * @example
 * ```ts
 * mp.tidy(() => mp.ones([256, 256]).sum()); // an evaluation pass
 * const released = mp.emptyCache();
 * console.log(mp.memory().devices.cpu.cachedBytes); // 0
 * ```
 */
export function emptyCache(): number {
  return native.emptyCpuCache();
}
