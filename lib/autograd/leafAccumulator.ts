/**
 * The graph node that accumulates gradients into a leaf tensor's `.grad`. One per leaf, so every
 * use of a leaf in a graph delivers into the same place; views of a disposed saved leaf share it.
 */
import { Tensor } from '../tensor';
import { GraphNode } from './node';

const accumulators = new WeakMap<Tensor, AccumulateGrad>();

/** Called with the leaf once backward has accumulated its gradient into `.grad`. */
export type PostAccumulateGradHook = (leaf: Tensor) => void;

export class AccumulateGrad extends GraphNode {
  /** Hooks run after each accumulation into the leaf's `.grad` (PyTorch's post-accumulate-grad hooks). */
  readonly postAccumulateHooks: PostAccumulateGradHook[] = [];

  constructor(readonly leaf: Tensor) {
    super('AccumulateGrad', [], [{ shape: leaf.shape, dtype: leaf.dtype, device: leaf.device }]);
  }
}

/** The accumulator of a leaf that requires grad (created on first use). */
export function accumulatorOf(leaf: Tensor): AccumulateGrad {
  let acc = accumulators.get(leaf);
  if (!acc) {
    acc = new AccumulateGrad(leaf);
    accumulators.set(leaf, acc);
  }
  return acc;
}

/** Makes `view` deliver its gradients into `leaf`'s accumulator. */
export function linkAccumulator(view: Tensor, leaf: Tensor): void {
  accumulators.set(view, accumulatorOf(leaf));
}
