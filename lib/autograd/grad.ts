/**
 * `autograd.grad`: gradients of outputs with respect to chosen inputs, returned instead of
 * accumulated — the building block of gradient penalties and higher-order derivatives.
 */
import { argTypeError } from '../errors';
import { resolveOptions } from '../options';
import { checkTensor, type Tensor } from '../tensor';
import { runBackward } from './engine';
import { optionalBoolean } from '../validate';

/** Options of {@link grad}. */
export interface GradOptions {
  /** Gradients of the outputs (default: ones for one-element outputs). */
  gradOutputs?: Tensor | (Tensor | undefined)[];
  /** Keep the graph for another backward (default: createGraph). */
  retainGraph?: boolean;
  /** Record the backward pass so the returned gradients are differentiable (default false). */
  createGraph?: boolean;
  /** Return undefined for inputs the outputs do not depend on instead of throwing (default false). */
  allowUnused?: boolean;
}

function asList(op: string, arg: string, v: Tensor | Tensor[]): Tensor[] {
  const list = Array.isArray(v) ? v : [v];
  return list.map((t, i) => checkTensor(op, Array.isArray(v) ? `${arg}[${i}]` : arg, t));
}

/**
 * The gradients of `outputs` with respect to `inputs` (leaves' `.grad` are left untouched).
 *
 * @example
 * ```ts
 * const x = mp.tensor([1, 2, 3], { dtype: 'float64' }).requiresGrad_();
 * const y = x.pow(3).sum();
 * const [dx] = mp.autograd.grad(y, x, { createGraph: true });  // 3x²
 * const [d2x] = mp.autograd.grad(dx!.sum(), x);                   // 6x
 * ```
 */
export function grad(outputs: Tensor | Tensor[], inputs: Tensor | Tensor[], options?: GradOptions): (Tensor | undefined)[] {
  const o = resolveOptions('grad', options, ['gradOutputs', 'retainGraph', 'createGraph', 'allowUnused']);
  const outs = asList('grad', 'outputs', outputs);
  const ins = asList('grad', 'inputs', inputs);
  const given: unknown[] = o.gradOutputs === undefined ? [] : Array.isArray(o.gradOutputs) ? o.gradOutputs : [o.gradOutputs];
  if (given.length > 0 && given.length !== outs.length) {
    throw argTypeError('grad', 'options.gradOutputs', `${outs.length} gradient(s), one per output`, given);
  }
  const gradOutputs = outs.map((_, i) => (given[i] === undefined ? undefined : checkTensor('grad', `options.gradOutputs[${i}]`, given[i])));
  const createGraph = optionalBoolean('grad', 'options.createGraph', o.createGraph, false);
  return runBackward(outs, gradOutputs, {
    retainGraph: optionalBoolean('grad', 'options.retainGraph', o.retainGraph, createGraph),
    createGraph,
    inputs: ins,
    allowUnused: optionalBoolean('grad', 'options.allowUnused', o.allowUnused, false),
    op: 'grad',
  });
}
