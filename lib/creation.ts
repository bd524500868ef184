/**
 * Creating tensors: from data, filled, sequences, identity.
 */
import { Device } from './device';
import { dtypeCode, type DType } from './dtype';
import { argRangeError, argTypeError, describe, MixprecRangeError, MixprecTypeError } from './errors';
import { native } from './native';
import { resolveOptions, TENSOR_OPTION_KEYS, type ResolvedOptions, type TensorOptions } from './options';
import { MAX_NUMEL, numelOf, parseShape } from './shape';
import { Storage } from './storage';
import { checkTensor, convert, Tensor, type NestedArray } from './tensor';
import { finiteNumber, isOptionsObject, nonNegativeInteger } from './validate';

export type { TensorOptions } from './options';

/** Options of {@link tensor}: `shape` gives the shape of flat TypedArray data. */
export interface TensorDataOptions extends TensorOptions {
  shape?: number[];
}

/** Data {@link tensor} accepts. */
export type TensorLike = NestedArray | ArrayBufferView | Tensor;

/** Allocates a tensor (zero-filled when asked) for the creation function `op`. */
export function allocate(op: string, shape: number[], o: ResolvedOptions, zeroed = false): Tensor {
  o.device.require(op);
  const t = new Tensor(Storage.allocate(op, o.device, o.dtype, numelOf(shape), zeroed), shape);
  t.requiresGrad = o.requiresGrad;
  return t;
}

interface Flattened {
  shape: number[];
  values: Float64Array;
  allBoolean: boolean;
}

function flattenNested(data: NestedArray): Flattened {
  const shape: number[] = [];
  let probe: unknown = data;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0];
  }
  const n = numelOf(shape);
  if (n > MAX_NUMEL) throw new MixprecRangeError('ERR_INVALID_SHAPE', `tensor: nested data of shape [${shape.join(', ')}] is too large`);
  const values = new Float64Array(n);
  let k = 0;
  let allBoolean = true;
  const walk = (node: unknown, depth: number, path: string): void => {
    if (depth === shape.length) {
      if (typeof node === 'number') {
        allBoolean = false;
        values[k++] = node;
      } else if (typeof node === 'boolean') {
        values[k++] = node ? 1 : 0;
      } else {
        throw argTypeError('tensor', `data${path}`, 'a number or boolean', node);
      }
      return;
    }
    if (!Array.isArray(node)) {
      throw new MixprecTypeError('ERR_INVALID_SHAPE', `tensor: ragged nested array: data${path} should be an array of length ${shape[depth]}, got ${describe(node)}`);
    }
    if (node.length !== shape[depth]) {
      throw new MixprecTypeError('ERR_INVALID_SHAPE', `tensor: ragged nested array: data${path} should have length ${shape[depth]} (like its first sibling), got ${node.length}`);
    }
    for (let i = 0; i < node.length; ++i) walk(node[i], depth + 1, `${path}[${i}]`);
  };
  walk(data, 0, '');
  return { shape, values, allBoolean };
}

/** The dtype whose bytes a typed array holds as-is, or undefined when values must be converted. */
function typedArrayDtype(data: ArrayBufferView, target: DType | undefined): DType | undefined {
  const kind = Object.prototype.toString.call(data).slice(8, -1);
  if (kind === 'Float32Array') return 'float32';
  if (kind === 'Float64Array') return 'float64';
  if (kind === 'Int32Array') return 'int32';
  if (kind === 'Uint16Array' && (target === 'float16' || target === 'bfloat16')) return target;
  return undefined;
}

/** A CPU tensor holding `bytes` as `srcDtype`, converted to the requested dtype and device. */
function fromBytes(data: ArrayBufferView, srcDtype: DType, shape: number[], o: ResolvedOptions): Tensor {
  const staged = allocate('tensor', shape, { dtype: srcDtype, device: Device.cpu, requiresGrad: false });
  try {
    staged.storage.write(0, data);
  } catch (e) {
    staged.dispose();
    throw e;
  }
  const out = o.dtype === staged.dtype && o.device === staged.device ? staged : convert(staged, o.dtype, o.device);
  if (out !== staged) staged.dispose();
  out.requiresGrad = o.requiresGrad;
  return out;
}

/**
 * A tensor from numbers, booleans, nested arrays, TypedArrays (with `shape`) or another tensor
 * (copied). Numbers default to float32, booleans to bool; Float64Array to float64, Int32Array to
 * int32. Values are rounded once into `dtype` (from double, so never rounded twice). A
 * Uint16Array with dtype float16 or bfloat16 is taken as raw bit patterns.
 *
 * @example
 * ```ts
 * mp.tensor([[1, 2], [3, 4]]);                           // float32 [2, 2]
 * mp.tensor([0.1, 0.2], { dtype: 'bfloat16' });
 * mp.tensor(new Float32Array(6), { shape: [2, 3], device: 'cuda' });
 * ```
 */
export function tensor(data: TensorLike, options?: TensorDataOptions): Tensor {
  const isView = ArrayBuffer.isView(data);
  // Own property only: a dtype inherited from a (polluted) prototype is no option.
  const explicitDtype = isOptionsObject(options) && Object.hasOwn(options, 'dtype') ? (options as TensorDataOptions).dtype : undefined;
  if (data instanceof Tensor) {
    const o = resolveOptions('tensor', options, TENSOR_OPTION_KEYS, checkTensor('tensor', 'data', data).dtype);
    const copy = convert(data, o.dtype, o.device);
    copy.requiresGrad = o.requiresGrad;
    return copy;
  }
  if (isView) {
    if (data instanceof DataView) throw argTypeError('tensor', 'data', 'a typed array (not a DataView)', data);
    // The addon reads only ArrayBuffer memory; memory another thread may write is copied first.
    const view = typeof SharedArrayBuffer === 'function' && data.buffer instanceof SharedArrayBuffer ? (data as Float32Array).slice() : data;
    const src = typedArrayDtype(view, explicitDtype);
    const o = resolveOptions('tensor', options, [...TENSOR_OPTION_KEYS, 'shape'], src === 'float64' || src === 'int32' ? src : 'float32');
    const length = (view as unknown as { length: number }).length;
    if (typeof (view as unknown as { [0]: unknown })[0] === 'bigint') throw argTypeError('tensor', 'data', 'a numeric typed array (BigInt arrays are not supported)', data);
    const shape = o.shape === undefined ? [length] : parseShape('tensor', 'options.shape', o.shape);
    if (numelOf(shape) !== length) {
      throw argRangeError('tensor', 'options.shape', `a shape with ${length} elements (the data's length)`, shape, 'ERR_INVALID_SHAPE');
    }
    if (src !== undefined) return fromBytes(view, src, shape, o);
    return fromBytes(Float64Array.from(view as unknown as ArrayLike<number>), 'float64', shape, o);
  }
  if (typeof data !== 'number' && typeof data !== 'boolean' && !Array.isArray(data)) {
    throw argTypeError('tensor', 'data', 'a number, boolean, nested array, TypedArray or Tensor', data);
  }
  const flat = flattenNested(data);
  const o = resolveOptions('tensor', options, TENSOR_OPTION_KEYS, flat.allBoolean && flat.values.length > 0 ? 'bool' : 'float32');
  return fromBytes(flat.values, 'float64', flat.shape, o);
}

/**
 * A tensor filled with `value` (rounded once into the dtype).
 *
 * @example
 * ```ts
 * mp.full([2, 2], 0.5, { dtype: 'float16' });
 * ```
 */
export function full(shape: number[] | number, value: number | boolean, options?: TensorOptions): Tensor {
  if (typeof value !== 'number' && typeof value !== 'boolean') throw argTypeError('full', 'value', 'a number or boolean', value);
  const sizes = parseShape('full', 'shape', shape);
  const o = resolveOptions('full', options, TENSOR_OPTION_KEYS, typeof value === 'boolean' ? 'bool' : 'float32');
  const t = allocate('full', sizes, o);
  native.fill(dtypeCode(o.dtype), t.storage.handle, 0, t.numel, Number(value));
  return t;
}

/** A tensor of zeros. @example `mp.zeros([3, 4], { dtype: 'bfloat16' })` */
export function zeros(shape: number[] | number, options?: TensorOptions): Tensor {
  const sizes = parseShape('zeros', 'shape', shape);
  return allocate('zeros', sizes, resolveOptions('zeros', options, TENSOR_OPTION_KEYS), true);
}

/** A tensor of ones. @example `mp.ones([3])` */
export function ones(shape: number[] | number, options?: TensorOptions): Tensor {
  const sizes = parseShape('ones', 'shape', shape);
  const o = resolveOptions('ones', options, TENSOR_OPTION_KEYS);
  const t = allocate('ones', sizes, o);
  native.fill(dtypeCode(o.dtype), t.storage.handle, 0, t.numel, 1);
  return t;
}

/** A tensor whose values are unspecified (whatever the memory held). @example `mp.empty([1024])` */
export function empty(shape: number[] | number, options?: TensorOptions): Tensor {
  const sizes = parseShape('empty', 'shape', shape);
  return allocate('empty', sizes, resolveOptions('empty', options, TENSOR_OPTION_KEYS));
}

function likeOptions(op: string, t: Tensor, options: TensorOptions | undefined): TensorOptions {
  checkTensor(op, 'input', t);
  return { dtype: t.dtype, device: t.device, ...(options ?? {}) };
}

/** Zeros with `t`'s shape, dtype and device (each overridable). @example `mp.zerosLike(mp.ones([2, 3]))` */
export function zerosLike(t: Tensor, options?: TensorOptions): Tensor {
  return zeros(t.shape, likeOptions('zerosLike', t, options));
}

/** Ones with `t`'s shape, dtype and device (each overridable). @example `mp.onesLike(mp.zeros([2, 3]))` */
export function onesLike(t: Tensor, options?: TensorOptions): Tensor {
  return ones(t.shape, likeOptions('onesLike', t, options));
}

/**
 * Values from `start` (inclusive) to `end` (exclusive) by `step`: `arange(end)` or
 * `arange(start, end, step?, options?)`. The dtype is int32 when every bound is an integer,
 * else float32.
 *
 * @example
 * ```ts
 * mp.arange(5);             // [0, 1, 2, 3, 4] int32
 * mp.arange(0, 1, 0.25);    // [0, 0.25, 0.5, 0.75] float32
 * ```
 */
export function arange(endOrStart: number, end?: number | TensorOptions, step?: number, options?: TensorOptions): Tensor {
  let opts = options;
  let lo = 0;
  let hi: number;
  let by = 1;
  if (end === undefined || typeof end === 'object') {
    opts = end as TensorOptions | undefined;
    hi = finiteNumber('arange', 'end', endOrStart);
  } else {
    lo = finiteNumber('arange', 'start', endOrStart);
    hi = finiteNumber('arange', 'end', end);
    if (step !== undefined) by = finiteNumber('arange', 'step', step);
  }
  if (by === 0) throw argRangeError('arange', 'step', 'non-zero', by);
  if ((hi - lo) / by < 0) throw argRangeError('arange', 'step', `a step whose sign leads from ${lo} to ${hi}`, by);
  const integral = [lo, hi, by].every(Number.isInteger);
  const o = resolveOptions('arange', opts, TENSOR_OPTION_KEYS, integral ? 'int32' : 'float32');
  const n = Math.ceil((hi - lo) / by);
  if (n > MAX_NUMEL) throw argRangeError('arange', 'end', 'a range with fewer elements', hi);
  const t = allocate('arange', [n], o);
  native.arange(dtypeCode(o.dtype), t.storage.handle, 0, n, lo, by);
  return t;
}

/**
 * `steps` evenly spaced values from `start` to `end`, both included (float32 by default).
 *
 * @example
 * ```ts
 * mp.linspace(0, 1, 5); // [0, 0.25, 0.5, 0.75, 1]
 * ```
 */
export function linspace(start: number, end: number, steps: number, options?: TensorOptions): Tensor {
  const a = finiteNumber('linspace', 'start', start);
  const b = finiteNumber('linspace', 'end', end);
  nonNegativeInteger('linspace', 'steps', steps);
  const o = resolveOptions('linspace', options, TENSOR_OPTION_KEYS);
  const t = allocate('linspace', [steps], o);
  native.linspace(dtypeCode(o.dtype), t.storage.handle, 0, steps, a, b);
  return t;
}

/**
 * The `n` × `m` identity (m defaults to n).
 *
 * @example
 * ```ts
 * mp.eye(3, { dtype: 'float16' });
 * ```
 */
export function eye(n: number, m?: number | TensorOptions, options?: TensorOptions): Tensor {
  let opts = options;
  let cols: number;
  if (m === undefined || typeof m === 'object') {
    opts = m as TensorOptions | undefined;
    cols = n;
  } else {
    cols = m;
  }
  const [rows, c] = parseShape('eye', 'n, m', [n, cols]);
  const o = resolveOptions('eye', opts, TENSOR_OPTION_KEYS);
  const t = allocate('eye', [rows, c], o);
  native.eye(dtypeCode(o.dtype), t.storage.handle, 0, rows, c);
  return t;
}
