/**
 * Plumbing for the multi-tensor native calls (optimizer steps, gradient clipping): grouping
 * tensors by (device, dtype), marshalling tensor lists, and the float32 device scalars
 * (gradScale, foundInf, a clipping coefficient) that steer kernels without a host read; and the
 * typed wrappers through which the optimizers, clipping and GradScaler reach those kernels.
 */
import type { Device } from '../device';
import { dtypeCode, type DType } from '../dtype';
import { argRangeError, argTypeError } from '../errors';
import {
  native, type NativeAdamOptions, type NativeLists, type NativeOperand, type NativeScaleUpdateOptions, type NativeSgdOptions,
} from '../native';
import { checkTensor, Tensor } from '../tensor';
import { operand } from './nativeOperands';

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

/** An optional device scalar as a native operand. */
const scalarOperand = (t: Tensor | undefined): NativeOperand | null => (t === undefined ? null : operand(t));

/** One SGD step over params, grads, steps, momentumBuffers (the last two empty without momentum), all of `dtype` on one device. */
export function sgdStep(dtype: DType, lists: Tensor[][], gradScale: Tensor | undefined, foundInf: Tensor | undefined,
  options: NativeSgdOptions): void {
  native.sgdStep({ lists: nativeLists(dtype, lists), gradScale: scalarOperand(gradScale), foundInf: scalarOperand(foundInf), options });
}

/** One Adam step over params, grads, steps, expAvgs, expAvgSqs, maxExpAvgSqs (the last empty without amsgrad). */
export function adamStep(dtype: DType, lists: Tensor[][], gradScale: Tensor | undefined, foundInf: Tensor | undefined,
  options: NativeAdamOptions): void {
  native.adamStep({ lists: nativeLists(dtype, lists), gradScale: scalarOperand(gradScale), foundInf: scalarOperand(foundInf), options });
}

/** Writes the normType-norm of all of `tensors` (one device and dtype) together into the float32 scalar `out`. */
export function multiTensorNorm(tensors: Tensor[], normType: number, out: Tensor): void {
  native.multiTensorNorm({ lists: nativeLists(tensors[0].dtype, [tensors]), normType, out: operand(out) });
}

/** Multiplies every element of `tensors` by the float32 device scalar `scale`, in place. */
export function multiTensorScale(dtype: DType, tensors: Tensor[], scale: Tensor): void {
  native.multiTensorScale({ lists: nativeLists(dtype, [tensors]), scale: operand(scale) });
}

/** Clamps every element of `tensors` to [min, max], in place. */
export function multiTensorClamp(dtype: DType, tensors: Tensor[], min: number, max: number): void {
  native.multiTensorClamp({ lists: nativeLists(dtype, [tensors]), min, max });
}

/**
 * GradScaler's pass over `grads`: sets `foundInf` (and grad i's flag) when a value is not finite
 * and, with a scale, multiplies by 1/scale in place.
 */
export function ampUnscale(dtype: DType, grads: Tensor[], scale: Tensor | undefined, foundInf: Tensor, flags: Tensor): void {
  native.ampUnscale({ lists: nativeLists(dtype, [grads]), scale: scalarOperand(scale), foundInf: operand(foundInf), flags: operand(flags) });
}

/** The device-side state of a GradScaler's scale update, all on the scale's device. */
export interface ScaleState {
  scale: Tensor;
  tracker: Tensor;
  hysteresisLeft: Tensor;
  foundInf: Tensor;
  stats: Tensor;
}

/** GradScaler's scale update on the scale's device (csrc/core/ampMath.h). */
export function ampUpdateScale(state: ScaleState, options: NativeScaleUpdateOptions): void {
  native.ampUpdateScale({
    scale: operand(state.scale), tracker: operand(state.tracker), hysteresisLeft: operand(state.hysteresisLeft),
    foundInf: operand(state.foundInf), stats: operand(state.stats), options,
  });
}
