/**
 * Shared plumbing for ops: operand checks, result allocation and temporary casts.
 */
import type { DType } from '../dtype';
import { MixprecError } from '../errors';
import { allocate } from '../creation';
import { checkTensor, Tensor } from '../tensor';

/** Checks that every tensor operand of `op` is on one device. */
export function requireSameDevice(op: string, tensors: Tensor[]): void {
  const first = tensors[0].device;
  for (const t of tensors) {
    if (t.device !== first) {
      throw new MixprecError('ERR_DEVICE_MISMATCH', `${op}: expected all tensors on the same device, got ${first} and ${t.device} (move one with .to('${first}'))`);
    }
  }
}

/** A new tensor for `op`'s result. */
export function newResult(op: string, shape: number[], dtype: DType, like: Tensor): Tensor {
  return allocate(op, shape, { dtype, device: like.device, requiresGrad: false });
}

/**
 * Runs `fn` with `t` converted to `dtype` (t itself when it already is), disposing the converted
 * copy afterwards.
 */
export function withDtype<R>(t: Tensor, dtype: DType, fn: (converted: Tensor) => R): R {
  if (t.dtype === dtype) return fn(t);
  const converted = t.to(dtype);
  try {
    return fn(converted);
  } finally {
    converted.dispose();
  }
}

export { checkTensor };

/**
 * Runs `fn`, then disposes `temporaries` (intermediates of a composite op). Safe while
 * recording: the graph keeps what backward needs through saved-tensor references.
 */
export function withViews<R>(temporaries: Tensor[], fn: () => R): R {
  try {
    return fn();
  } finally {
    for (const v of temporaries) v.dispose();
  }
}

/** `t` reshaped to `shape`, disposing the unshaped tensor. */
export function reshaped(t: Tensor, shape: number[]): Tensor {
  const r = t.reshape(shape);
  t.dispose();
  return r;
}
