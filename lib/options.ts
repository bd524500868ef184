/**
 * Options shared by the functions that create tensors.
 */
import { Device, type DeviceLike } from './device';
import { isFloatingPoint, parseDType, type DType } from './dtype';
import { MixprecTypeError } from './errors';
import { checkOptions, optionalBoolean, ownOptions } from './validate';

/** Where and how a new tensor is made. */
export interface TensorOptions {
  /** Element type (default float32, or what the function documents). */
  dtype?: DType;
  /** 'cpu' (default), 'cuda' or 'cuda:N'. */
  device?: DeviceLike;
  /** Record operations for autograd (float dtypes only). */
  requiresGrad?: boolean;
}

export interface ResolvedOptions {
  dtype: DType;
  device: Device;
  requiresGrad: boolean;
}

/** Validates an options object: unknown keys are errors (a typo must not be silently ignored). */
export function resolveOptions(op: string, options: unknown, allowed: readonly string[], defaultDtype: DType = 'float32'): ResolvedOptions & Record<string, unknown> {
  if (options === undefined) return ownOptions({ dtype: defaultDtype, device: Device.cpu, requiresGrad: false });
  const o = checkOptions(op, options, allowed);
  const dtype = o.dtype === undefined ? defaultDtype : parseDType(op, 'options.dtype', o.dtype);
  const device = o.device === undefined ? Device.cpu : Device.parse(op, 'options.device', o.device);
  const requiresGrad = optionalBoolean(op, 'options.requiresGrad', o.requiresGrad, false);
  if (requiresGrad && !isFloatingPoint(dtype)) {
    throw new MixprecTypeError('ERR_INVALID_DTYPE', `${op}: only floating-point tensors can require gradients, got dtype ${dtype}`);
  }
  // No prototype: an option this call does not hold reads undefined, never Object.prototype's.
  return Object.assign(o, { dtype, device, requiresGrad });
}

export const TENSOR_OPTION_KEYS = ['dtype', 'device', 'requiresGrad'] as const;
