/**
 * The Tensor methods that reshape or convert (reshape, view, flatten, to, clone), declared as
 * ops so autograd records them: the raw versions live in tensor.ts, below autograd.
 */
import { argTypeError } from '../errors';
import { normalizeDim } from '../shape';
import { Tensor, type ToTarget } from '../tensor';
import { setAutocastCast } from './autocastDispatch';
import { defineOp } from './registry';

const raw = {
  reshape: Tensor.prototype.reshape,
  view: Tensor.prototype.view,
  to: Tensor.prototype.to,
  clone: Tensor.prototype.clone,
};

/**
 * The same values with another shape, sharing memory (one size may be -1).
 * @example `mp.reshape(mp.arange(6), [2, -1])`
 */
export const reshape: (input: Tensor, shape: number[] | number) => Tensor = defineOp({
  name: 'reshape',
  autocast: 'passThrough',
  forward: (input: Tensor, shape: number[] | number): Tensor => raw.reshape.call(input, shape),
  backward: ({ args: [input] }, [g]) => [g && reshape(g, input.shape)],
});

/** Same as {@link reshape} (every tensor is contiguous). @example `mp.ones([2, 3]).view([-1])` */
export const view: (input: Tensor, shape: number[] | number) => Tensor = defineOp({
  name: 'view',
  autocast: 'passThrough',
  forward: (input: Tensor, shape: number[] | number): Tensor => raw.view.call(input, shape),
  backward: ({ args: [input] }, [g]) => [g && reshape(g, input.shape)],
});

/**
 * Converts dtype and/or device; returns the input itself when nothing changes. Gradients flow
 * back converted to the input's dtype and device.
 * @example `mp.ones([2]).to('float16')`
 */
export const to: (input: Tensor, target: ToTarget) => Tensor = defineOp({
  name: 'to',
  autocast: 'passThrough',
  forward: (input: Tensor, target: ToTarget): Tensor => raw.to.call(input, target),
  backward: ({ args: [input] }, [g]) => [g && to(g, { dtype: input.dtype, device: input.device })],
});

/** A copy with its own memory. @example `mp.clone(mp.ones([2]))` */
export const clone: (input: Tensor) => Tensor = defineOp({
  name: 'clone',
  autocast: 'passThrough',
  forward: (input: Tensor): Tensor => raw.clone.call(input),
  backward: (_ctx, [g]) => [g],
});

/**
 * Merges dimensions `startDim..endDim` into one (a view).
 * @example `mp.flatten(mp.ones([2, 3, 4]), 1)` // [N, C, H, W] → [N, C*H*W]
 */
export function flatten(input: Tensor, startDim = 0, endDim = -1): Tensor {
  if (!(input instanceof Tensor)) throw argTypeError('flatten', 'input', 'a Tensor', input);
  if (input.ndim === 0) return reshape(input, [1]);
  const s = normalizeDim('flatten', 'startDim', startDim, input.ndim);
  const e = normalizeDim('flatten', 'endDim', endDim, input.ndim);
  if (s > e) throw argTypeError('flatten', 'startDim', `a dimension not after endDim (${e})`, startDim);
  const shape = input.shape;
  const merged = shape.slice(s, e + 1).reduce((a, b) => a * b, 1);
  return reshape(input, [...shape.slice(0, s), merged, ...shape.slice(e + 1)]);
}

declare module '../tensor' {
  interface Tensor {
    /** Merges dimensions `startDim..endDim` (default: all) into one; see {@link flatten}. */
    flatten(startDim?: number, endDim?: number): Tensor;
  }
}

/**
 * Replaces the raw reshape/view/to/clone methods with the recorded ops, adds flatten, and gives
 * autocast the recorded `to` for its casts. Called once by `ops/install.ts`.
 */
export function installViewCastMethods(): void {
  Tensor.prototype.reshape = function (this: Tensor, shape: number[] | number) { return reshape(this, shape); };
  Tensor.prototype.view = function (this: Tensor, shape: number[] | number) { return view(this, shape); };
  Tensor.prototype.to = function (this: Tensor, target: ToTarget) { return to(this, target); };
  Tensor.prototype.clone = function (this: Tensor) { return clone(this); };
  Tensor.prototype.flatten = function (this: Tensor, startDim?: number, endDim?: number) { return flatten(this, startDim, endDim); };
  setAutocastCast((t, dtype) => to(t, dtype));
}
