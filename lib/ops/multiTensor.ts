/**
 * Plumbing for the multi-tensor native calls (optimizer steps, gradient clipping): grouping
 * tensors by (device, dtype), marshalling tensor lists, and the float32 device scalars
 * (gradScale, foundInf, a clipping coefficient) that steer kernels without a host read.
 */
import type { Device } from '../device';
import { dtypeCode, type DType } from '../dtype';
import { argRangeError, argTypeError } from '../errors';
import type { StorageHandle } from '../native';
import { checkTensor, Tensor } from '../tensor';

/** The items whose key tensors share one device and dtype, in their original order. */
export interface DeviceDtypeGroup<T> {
  device: Device;
  dtype: DType;
  items: T[];
}

/** Splits `items` by the device and dtype of `key(item)`: one native call per group. */
export function groupByDeviceDtype<T>(items: T[], key: (item: T) => Tensor): DeviceDtypeGroup<T>[] {
  const groups = new Map<string, DeviceDtypeGroup<T>>();
  for (const item of items) {
    const t = key(item);
    const id = `${t.device}|${t.dtype}`;
    let g = groups.get(id);
    if (!g) {
      g = { device: t.device, dtype: t.dtype, items: [] };
      groups.set(id, g);
    }
    g.items.push(item);
  }
  return [...groups.values()];
}

/** Native arguments for lists of tensors: element counts of the first list, handles and offsets of each. */
export interface NativeLists {
  dtype: number;
  numels: number[];
  handles: StorageHandle[][];
  offsets: number[][];
}

/** Marshals `lists` (each the same length as the first, or empty) for a multi-tensor native call. */
export function nativeLists(dtype: DType, lists: Tensor[][]): NativeLists {
  return {
    dtype: dtypeCode(dtype),
    numels: lists[0].map((t) => t.numel),
    handles: lists.map((l) => l.map((t) => t.storage.handle)),
    offsets: lists.map((l) => l.map((t) => t.offset)),
  };
}

/** Checks that `value` is a live float32 tensor of one element (gradScale, foundInf). */
export function checkDeviceScalar(op: string, arg: string, value: unknown): Tensor {
  const t = checkTensor(op, arg, value);
  if (t.dtype !== 'float32') throw argTypeError(op, arg, 'a float32 tensor of one element', t, 'ERR_INVALID_DTYPE');
  if (t.numel !== 1) throw argRangeError(op, arg, 'a float32 tensor of one element', t, 'ERR_INVALID_SHAPE');
  return t;
}

/**
 * Runs `fn` with `t` on `device`: `t` itself when it is there, else a device-to-device copy
 * (no host read) disposed afterwards. An absent scalar stays absent.
 */
export function withScalarOn<T extends Tensor | undefined, R>(t: T, device: Device, fn: (onDevice: T) => R): R {
  if (t === undefined || t.device === device) return fn(t);
  const copy = t.to(device) as T & Tensor;
  try {
    return fn(copy);
  } finally {
    copy.dispose();
  }
}
