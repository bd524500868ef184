/**
 * Nodes of the autograd graph. A node is created by a recorded op: it knows the nodes of its
 * inputs (edges), what the outputs looked like (to make zero gradients), the tensors it saved,
 * and how to turn output gradients into input gradients.
 */
import type { Device } from '../device';
import type { DType } from '../dtype';
import type { GradFn, Tensor } from '../tensor';
import type { SavedTensor } from './savedTensor';

/** Shape, dtype and device of a tensor, kept without keeping its memory. */
export interface TensorMeta {
  shape: number[];
  dtype: DType;
  device: Device;
}

/** Where a gradient goes: a node and which of its outputs the gradient is for. */
export interface Edge {
  node: GraphNode;
  outputIndex: number;
}

/** Turns the gradients of a node's outputs into gradients of its inputs (undefined: none). */
export type BackwardFn = (grads: (Tensor | undefined)[]) => (Tensor | undefined)[];

/** A hook on a gradient: returns a replacement gradient or undefined to keep it. */
export type GradHook = (grad: Tensor) => Tensor | void;

export class GraphNode implements GradFn {
  /** Hooks per output index, run when that output's gradient is ready. */
  readonly hooks = new Map<number, GradHook[]>();
  /** @internal Set once backward freed the saved tensors. */
  released = false;

  constructor(
    /** The op's backward name, e.g. `MulBackward`. */
    readonly name: string,
    /** Per input of the op: where its gradient goes (undefined: no gradient needed). */
    readonly next: (Edge | undefined)[],
    /** The op's outputs, for zero gradients and checks. */
    readonly outputs: TensorMeta[],
    readonly backwardFn?: BackwardFn,
    readonly saved: SavedTensor[] = [],
    /** Per input: its shape/dtype, to check and convert the gradients backward returns. */
    readonly inputs: (TensorMeta | undefined)[] = [],
  ) {}

  /** The nodes this node sends gradients to (PyTorch's `next_functions`). */
  get nextFunctions(): (GraphNode | undefined)[] {
    return this.next.map((e) => e?.node);
  }

  /** Frees the saved tensors. */
  release(): void {
    this.released = true;
    for (const s of this.saved) s.release();
  }

  toString(): string {
    return `<${this.name}>`;
  }
}
