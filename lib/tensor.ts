/**
 * The Tensor: a contiguous row-major view of native memory with a shape, a dtype and a device.
 * Arithmetic methods (add, sum, ...) are attached by lib/ops, which build on this module.
 */
import { inspect } from 'node:util';

import { Device, type DeviceLike } from './device';
import { dtypeCode, elementSize, isDType, isFloatingPoint, parseDType, type DType } from './dtype';
import { argTypeError, MixprecError, MixprecRangeError, MixprecTypeError } from './errors';
import { formatTensor } from './format';
import { keep, Scope, trackTensor, untrackTensor, type Trackable } from './memory';
import { native, type TensorToken } from './native';
import { inferShape, numelOf, type Shape } from './shape';
import { Storage } from './storage';
import { checkOptions } from './validate';

/** What a tensor knows about the autograd node that made it (lib/autograd implements it). */
export interface GradFn {
  /** The op's name, e.g. `MulBackward`. */
  readonly name: string;
}

/** The typed array `data()` returns: float32 for every floating type narrower than float64. */
export type TensorData = Float32Array | Float64Array | Int32Array | Uint8Array;

/** Nested arrays of numbers (or booleans for bool tensors), as `toArray()` returns. */
export type NestedArray = number | boolean | NestedArray[];

/** Target of {@link Tensor.to}. */
export type ToTarget = DType | DeviceLike | { dtype?: DType; device?: DeviceLike };

/** The dtype whose typed array a dtype reads back as. */
function readDtype(dtype: DType): DType {
  return dtype === 'float16' || dtype === 'bfloat16' ? 'float32' : dtype;
}

function wrapBuffer(buffer: ArrayBuffer, dtype: DType): TensorData {
  switch (dtype) {
    case 'float64': return new Float64Array(buffer);
    case 'int32': return new Int32Array(buffer);
    case 'bool': return new Uint8Array(buffer);
    default: return new Float32Array(buffer);
  }
}

/**
 * An n-dimensional array on the CPU or a CUDA device.
 *
 * @example
 * ```ts
 * import * as mp from 'mixprec';
 * const x = mp.tensor([[1, 2], [3, 4]], { dtype: 'float16' });
 * console.log(x.shape, x.dtype, String(x.device)); // [2, 2] float16 cpu
 * console.log(await x.add(1).data());              // Float32Array [2, 3, 4, 5]
 * x.dispose();
 * ```
 */
let nextTensorId = 0;

let hostReadCount = 0;

/**
 * How many times tensor values have been read to the host so far (`data`, `dataSync`,
 * `rawData`, and what builds on them: `item`, `toArray`). A training step that needs no host
 * read leaves it unchanged: compare it before and after a step to find hidden synchronisations.
 *
 * @example
 * ```ts
 * const model = new mp.nn.Linear(4, 1);
 * const opt = new mp.optim.SGD(model.parameters(), { lr: 0.1 });
 * const scaler = new mp.amp.GradScaler({ device: 'cpu' });
 * const loss = model.forward(mp.ones([2, 4])).sum();
 * const before = mp.hostReads();
 * scaler.scale(loss).backward(); scaler.step(opt); scaler.update();
 * mp.hostReads() - before; // 0
 * ```
 */
export function hostReads(): number {
  return hostReadCount;
}

/** @internal The id the next tensor will get: tensors with ids at or above it are newer. */
export function nextTensorIdWatermark(): number {
  return nextTensorId;
}

export class Tensor implements Trackable {
  /** @internal Creation order: lets autograd tell the gradients it made from older tensors. */
  readonly id = nextTensorId++;
  /** Marks tensors for duck-typed checks across module copies. */
  get isTensor(): true {
    return true;
  }
  /** @internal */ scope: Scope | undefined = undefined;
  /** @internal */ kept = false;
  /** @internal Counts this tensor as live in mp.memory() (memory.ts). */
  countToken: TensorToken | undefined = undefined;
  /** Whether autograd records operations on this tensor; set with {@link requiresGrad_} for leaves. */
  requiresGrad = false;
  /** @internal The node of the autograd graph that produced this tensor (undefined for leaves). */
  gradNode: GradFn | undefined = undefined;
  /** @internal Which output of `gradNode` this tensor is. */
  gradOutputIndex = 0;
  private gradValue: Tensor | undefined = undefined;
  private disposed = false;
  private readonly sizes: readonly number[];

  /** @internal Wraps `storage` (taking a reference) as a tensor of `shape` starting at element `offset`. */
  constructor(
    /** @internal */ readonly storage: Storage,
    shape: Shape,
    /** @internal */ readonly offset = 0,
  ) {
    if (!(storage instanceof Storage) || !Array.isArray(shape)) {
      throw new MixprecTypeError('ERR_INVALID_ARG', 'Tensor: the constructor is internal; create tensors with mp.tensor(), mp.zeros(), mp.empty() or another creation function');
    }
    this.sizes = Object.freeze(shape.slice());
    storage.retain();
    trackTensor(this);
  }

  /** Sizes, outermost first (a fresh array). */
  get shape(): number[] {
    return this.sizes.slice();
  }
  get dtype(): DType {
    return this.storage.dtype;
  }
  get device(): Device {
    return this.storage.device;
  }
  /** @internal */
  get deviceName(): string {
    return this.storage.device.toString();
  }
  get numel(): number {
    return numelOf(this.sizes);
  }
  get ndim(): number {
    return this.sizes.length;
  }
  /** True once disposed (by dispose() or by the tidy scope that created it). */
  get isDisposed(): boolean {
    return this.disposed;
  }
  /** How many in-place writes the underlying storage has seen. */
  get version(): number {
    return this.storage.version;
  }

  /**
   * The gradient accumulated by `backward()` (same dtype and shape as this tensor), or
   * undefined. Gradients are long-lived: assigning one exempts it from tidy scopes.
   */
  get grad(): Tensor | undefined {
    return this.gradValue;
  }
  set grad(value: Tensor | undefined) {
    if (value !== undefined) {
      checkTensor('grad', 'value', value);
      if (value.dtype !== this.dtype || value.numel !== this.numel || value.ndim !== this.ndim || value.sizes.some((s, i) => s !== this.sizes[i])) {
        throw new MixprecError('ERR_SHAPE_MISMATCH', `grad: assigned gradient must match the tensor (${this.describe()}), got ${value.describe()}`);
      }
      keep(value);
    }
    this.gradValue = value;
  }

  /** The graph node that produced this tensor (undefined for leaves and for tensors made without grad). */
  get gradFn(): GradFn | undefined {
    return this.gradNode;
  }

  /** True for tensors not produced by a recorded op (user-created tensors and parameters). */
  get isLeaf(): boolean {
    return this.gradNode === undefined;
  }

  /** `float16 tensor of shape [2, 3] on cpu`, for messages. */
  describe(): string {
    return `${this.disposed ? 'disposed ' : ''}${this.dtype} tensor of shape [${this.sizes.join(', ')}] on ${this.device}`;
  }

  /** Throws ERR_DISPOSED if this tensor was disposed; `op` and `arg` name the caller. */
  assertAlive(op: string, arg = 'self'): void {
    // An object that only inherits Tensor.prototype (Object.create) has no storage to check.
    if (!(this.storage instanceof Storage)) {
      throw new MixprecTypeError('ERR_INVALID_ARG', `${op}: argument '${arg}' is not a tensor made by mixprec (it has Tensor's prototype but no storage, as Object.create(Tensor.prototype) makes); create tensors with mp.tensor(), mp.zeros() or another creation function`);
    }
    if (this.disposed) {
      throw new MixprecError('ERR_DISPOSED', `${op}: argument '${arg}' is a disposed ${this.dtype} tensor of shape [${this.sizes.join(', ')}] on ${this.device}; it was freed by dispose() or by the tidy() scope that created it (use mp.keep() or return it from the scope to keep it)`);
    }
  }

  /**
   * Frees this tensor's memory (once no view shares it). Idempotent; using the tensor
   * afterwards throws.
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    untrackTensor(this);
    this.storage.release();
  }

  /** `using t = mp.ones([2])` disposes `t` at the end of the block. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** Exempts this tensor from tidy scopes (see {@link keep}). */
  keep(): this {
    return keep(this);
  }

  /** Increments the storage version; every in-place op calls this. @internal */
  markModified(): void {
    this.storage.version += 1;
  }

  /**
   * The values, copied into a typed array: Float32Array for float32/float16/bfloat16 (16-bit
   * values widen exactly), Float64Array, Int32Array, Uint8Array (bool). Waits for the device.
   */
  async data(): Promise<TensorData> {
    this.assertAlive('data');
    hostReadCount += 1;
    const as = readDtype(this.dtype);
    const buffer = await native.readAsync(this.storage.handle, this.offset, this.numel, dtypeCode(this.dtype), dtypeCode(as));
    return wrapBuffer(buffer, as);
  }

  /**
   * Like {@link data}, but blocks the thread until a device tensor's values arrive.
   *
   * @param out - An array to fill and return instead of a new one: the class {@link data} returns
   *   for this dtype (Float32Array for float32, float16 and bfloat16), with exactly `numel`
   *   elements. A loop that reads a large tensor every step then makes no garbage, which
   *   otherwise keeps the process's resident memory moving as V8 frees the copies late.
   *
   * @example
   * ```ts
   * const w = mp.randn([1024, 1024]);
   * const host = new Float32Array(w.numel);
   * w.dataSync(host) === host; // true: the values were copied into host
   * ```
   */
  dataSync(out?: TensorData): TensorData {
    this.assertAlive('dataSync');
    const as = readDtype(this.dtype);
    if (out !== undefined) {
      // Compared by tag, not constructor, so arrays from another realm (a vm context) pass.
      const expected = Object.prototype.toString.call(wrapBuffer(new ArrayBuffer(0), as)).slice(8, -1);
      if (!ArrayBuffer.isView(out) || Object.prototype.toString.call(out).slice(8, -1) !== expected || out.length !== this.numel) {
        throw argTypeError('dataSync', 'out', `${/^[AEIO]/.test(expected) ? 'an' : 'a'} ${expected} of ${this.numel} elements (the values of ${this.describe()})`, out);
      }
      hostReadCount += 1;
      native.readInto(this.storage.handle, this.offset, this.numel, dtypeCode(this.dtype), dtypeCode(as), out);
      return out;
    }
    hostReadCount += 1;
    return wrapBuffer(native.read(this.storage.handle, this.offset, this.numel, dtypeCode(this.dtype), dtypeCode(as)), as);
  }

  /** The stored bits: Uint16Array for float16/bfloat16, else the same typed array as data(). */
  rawData(): Uint16Array | TensorData {
    this.assertAlive('rawData');
    hostReadCount += 1;
    const buffer = native.read(this.storage.handle, this.offset, this.numel, dtypeCode(this.dtype));
    return elementSize(this.dtype) === 2 ? new Uint16Array(buffer) : wrapBuffer(buffer, this.dtype);
  }

  /** The values as nested arrays (a number or boolean for a 0-d tensor). */
  toArray(): NestedArray {
    const flat = this.dataSync();
    const isBool = this.dtype === 'bool';
    const at = (i: number): number | boolean => (isBool ? flat[i] !== 0 : flat[i]);
    if (this.sizes.length === 0) return at(0);
    const build = (dim: number, start: number): NestedArray[] => {
      const n = this.sizes[dim];
      const out: NestedArray[] = new Array(n);
      if (dim === this.sizes.length - 1) {
        for (let i = 0; i < n; ++i) out[i] = at(start + i);
        return out;
      }
      const step = numelOf(this.sizes.slice(dim + 1));
      for (let i = 0; i < n; ++i) out[i] = build(dim + 1, start + i * step);
      return out;
    };
    return build(0, 0);
  }

  /** The single value of a one-element tensor (a boolean for bool tensors). */
  item(): number | boolean {
    this.assertAlive('item');
    if (this.numel !== 1) {
      throw new MixprecRangeError('ERR_INVALID_SHAPE', `item: a tensor with exactly one element is needed, got ${this.describe()} (${this.numel} elements)`);
    }
    const v = this.dataSync()[0];
    return this.dtype === 'bool' ? v !== 0 : v;
  }

  /**
   * Converts to another dtype and/or device. Returns `this` when nothing changes (as PyTorch
   * does); otherwise a new tensor. Casts are exact: round to nearest even, subnormals kept,
   * overflow to ±Inf, NaN kept.
   *
   * @example
   * ```ts
   * const x = mp.ones([2, 3]);
   * const h = x.to('float16');
   * const g = x.to({ dtype: 'bfloat16', device: 'cuda' });
   * ```
   */
  to(target: ToTarget): Tensor {
    this.assertAlive('to');
    let dtype = this.dtype;
    let device = this.device;
    if (typeof target === 'string' && isDType(target)) {
      dtype = target;
    } else if (typeof target === 'string' || target instanceof Device) {
      device = Device.parse('to', 'target', target);
    } else if (typeof target === 'object' && target !== null) {
      const o = checkOptions('to', target, ['dtype', 'device']);
      if (o.dtype !== undefined) dtype = parseDType('to', 'dtype', o.dtype);
      if (o.device !== undefined) device = Device.parse('to', 'device', o.device);
    } else {
      throw argTypeError('to', 'target', 'a dtype, a device or {dtype, device}', target);
    }
    if (dtype === this.dtype && device === this.device) return this;
    return convert(this, dtype, device);
  }

  /** `to('float32')`. */
  float(): Tensor {
    return this.to('float32');
  }
  /** `to('float16')`. */
  half(): Tensor {
    return this.to('float16');
  }
  /** `to('bfloat16')`. */
  bfloat16(): Tensor {
    return this.to('bfloat16');
  }
  /** `to('float64')`. */
  double(): Tensor {
    return this.to('float64');
  }
  /** `to('int32')` (truncating toward zero, saturating, NaN to 0). */
  int(): Tensor {
    return this.to('int32');
  }
  /** `to('bool')` (non-zero, NaN included, is true). */
  bool(): Tensor {
    return this.to('bool');
  }
  /** `to('cpu')`. */
  cpu(): Tensor {
    return this.to('cpu');
  }
  /** `to('cuda:N')`. */
  cuda(index = 0): Tensor {
    return this.to(`cuda:${index}`);
  }

  /** A copy with its own memory. */
  clone(): Tensor {
    this.assertAlive('clone');
    return convert(this, this.dtype, this.device);
  }

  /**
   * The same values with another shape, sharing memory (one size may be -1 to infer it).
   *
   * @example
   * ```ts
   * mp.arange(6).reshape([2, -1]).shape; // [2, 3]
   * ```
   */
  reshape(shape: number[] | number): Tensor {
    this.assertAlive('reshape');
    return new Tensor(this.storage, inferShape('reshape', shape, this.numel, this.sizes), this.offset);
  }

  /** Same as {@link reshape}: every tensor is contiguous, so a view always exists. */
  view(shape: number[] | number): Tensor {
    this.assertAlive('view');
    return new Tensor(this.storage, inferShape('view', shape, this.numel, this.sizes), this.offset);
  }

  /** Every tensor is contiguous row-major: returns `this`. */
  contiguous(): Tensor {
    this.assertAlive('contiguous');
    return this;
  }

  /** `true`: storage is always contiguous row-major. */
  isContiguous(): boolean {
    return true;
  }

  /** Whether the dtype is floating point. */
  isFloatingPoint(): boolean {
    return isFloatingPoint(this.dtype);
  }

  /** PyTorch-style text: values (summarized when large), shape, dtype and device. */
  toString(): string {
    if (this.disposed) return `tensor(<disposed>, shape=[${this.sizes.join(', ')}], dtype=${this.dtype}, device='${this.device}')`;
    return formatTensor(this.dataSync(), this.sizes, this.dtype, this.device.toString());
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/**
 * @internal Writes `src`'s values into `dst` (same device and numel, both contiguous), converted
 * to dst's dtype: an in-place op's result cast back into self, a reduction over no dimension,
 * the optimizers' write-back of a float32 master copy into its parameter.
 */
export function castInto(src: Tensor, dst: Tensor): void {
  native.cast(src.storage.handle, src.offset, dtypeCode(src.dtype), dst.storage.handle, dst.offset, dtypeCode(dst.dtype), dst.numel);
}

/**
 * @internal A new tensor holding `src`'s values as `dtype` on `device` (never recorded or
 * autocast): what `to` does, for code below the op layer (creation) that makes new tensors
 * rather than transforming the user's.
 */
export function convert(src: Tensor, dtype: DType, device: Device): Tensor {
  device.require('to');
  const n = src.numel;
  const out = Storage.allocate('to', device, dtype, n);
  try {
    if (device === src.device) {
      native.cast(src.storage.handle, src.offset, dtypeCode(src.dtype), out.handle, 0, dtypeCode(dtype), n);
    } else if (dtype === src.dtype) {
      native.copy(out.handle, 0, src.storage.handle, src.offset, n, dtypeCode(dtype));
    } else {
      // Cast where the data is, then move: the cast runs once, on the faster side.
      const staged = Storage.allocate('to', src.device, dtype, n);
      try {
        native.cast(src.storage.handle, src.offset, dtypeCode(src.dtype), staged.handle, 0, dtypeCode(dtype), n);
        native.copy(out.handle, 0, staged.handle, 0, n, dtypeCode(dtype));
      } finally {
        staged.discard();
      }
    }
  } catch (e) {
    out.discard();
    throw e;
  }
  return new Tensor(out, src.shape);
}

/** Checks that `value` is a live Tensor; `op` and `arg` name the caller in errors. */
export function checkTensor(op: string, arg: string, value: unknown): Tensor {
  if (!(value instanceof Tensor)) throw argTypeError(op, arg, 'a Tensor', value);
  value.assertAlive(op, arg);
  return value;
}

