/**
 * A tensor's elements as the addon's operand objects ({storage, offset}, plus strides or a
 * shape where the kernel reads them that way).
 */
import type { NativeOperand, NativeShaped, NativeStrided } from '../native';
import type { Tensor } from '../tensor';

/** `t`'s elements from its own offset. */
export function operand(t: Tensor): NativeOperand {
  return { storage: t.storage.handle, offset: t.offset };
}

/** `t` read with `strides` along the call's shape. */
export function strided(t: Tensor, strides: number[], offset = 0): NativeStrided {
  // Object literals of one shape, not spreads: these are built on every kernel call.
  return { storage: t.storage.handle, offset: t.offset + offset, strides };
}

/** `t` as a contiguous block of `shape`. */
export function shaped(t: Tensor, shape: number[]): NativeShaped {
  return { storage: t.storage.handle, offset: t.offset, shape };
}
