/**
 * What backward functions share: reducing a broadcast gradient back to an operand's shape.
 */
import { sameShape } from '../shape';
import type { Tensor } from '../tensor';

/** Sums `g` over the dimensions that broadcasting expanded, giving a tensor of `shape`. */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  const gs = g.shape;
  if (sameShape(gs, shape as number[])) return g;
  const lead = gs.length - shape.length;
  const dims: number[] = [];
  for (let i = 0; i < gs.length; ++i) {
    if (i < lead || (shape[i - lead] === 1 && gs[i] !== 1)) dims.push(i);
  }
  const summed = dims.length > 0 ? g.sum({ dim: dims, keepdim: true }) : g;
  return summed.reshape(shape as number[]);
}
