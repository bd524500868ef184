/**
 * Attaching a recorded op to the graph: shared by the op registry and custom Functions.
 */
import { isFloatingPoint } from '../dtype';
import { Tensor } from '../tensor';
import { edgeOf } from './engine';
import { GraphNode, type BackwardFn, type TensorMeta } from './node';
import type { SavedTensor } from './savedTensor';

/** The tensor inputs of a call: top-level tensor arguments and tensors in top-level arrays. */
export function tensorInputs(args: readonly unknown[]): Tensor[] {
  const found: Tensor[] = [];
  for (const a of args) {
    if (a instanceof Tensor) found.push(a);
    else if (Array.isArray(a)) for (const x of a) if (x instanceof Tensor) found.push(x);
  }
  return found;
}

/** The tensors an op returned (one tensor or an array). */
export function outputsOf(out: unknown): Tensor[] {
  if (out instanceof Tensor) return [out];
  if (Array.isArray(out)) return out.filter((t): t is Tensor => t instanceof Tensor);
  return [];
}

export const metaOf = (t: Tensor): TensorMeta => ({ shape: t.shape, dtype: t.dtype, device: t.device });

/**
 * Per input, whether recording needs its gradient; undefined when no input requires grad.
 * Callers check isGradEnabled() first.
 */
export function gradNeeds(inputs: Tensor[]): boolean[] | undefined {
  const needs = inputs.map((t) => t.requiresGrad && isFloatingPoint(t.dtype));
  return needs.includes(true) ? needs : undefined;
}

/** Creates the node of a recorded call and makes its floating-point outputs point at it. */
export function recordNode(name: string, inputs: Tensor[], needs: boolean[], outputs: Tensor[], backwardFn: BackwardFn, saved: SavedTensor[], nonDifferentiable: ReadonlySet<Tensor> = new Set()): GraphNode {
  const node = new GraphNode(name, inputs.map((t, i) => (needs[i] ? edgeOf(t) : undefined)), outputs.map(metaOf), backwardFn, saved, inputs.map(metaOf));
  outputs.forEach((t, i) => {
    if (!isFloatingPoint(t.dtype) || nonDifferentiable.has(t)) return;
    t.requiresGrad = true;
    t.gradNode = node;
    t.gradOutputIndex = i;
  });
  return node;
}
