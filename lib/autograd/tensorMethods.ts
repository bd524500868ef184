/**
 * The autograd methods of Tensor: backward, requiresGrad_, detach, registerHook,
 * registerPostAccumulateGradHook, retainGrad.
 */
import { argTypeError, MixprecError } from '../errors';
import { resolveOptions } from '../options';
import { checkTensor, Tensor } from '../tensor';
import { edgeOf, runBackward } from './engine';
import { accumulatorOf, type PostAccumulateGradHook } from './leafAccumulator';
import type { GradHook } from './node';
import { booleanArg, optionalBoolean } from '../validate';

/** Options of {@link Tensor.backward}. */
export interface BackwardOptions {
  /** Keep the graph's saved tensors so backward can run through it again (default false). */
  retainGraph?: boolean;
  /** Record the backward pass itself, so gradients are differentiable (default false). */
  createGraph?: boolean;
}

/** Handle returned by {@link Tensor.registerHook}. */
export interface RemovableHandle {
  remove(): void;
}

declare module '../tensor' {
  interface Tensor {
    /**
     * Computes the gradient of this tensor with respect to every leaf that requires grad and
     * accumulates it into their `.grad` (in each leaf's dtype). `gradient` defaults to 1 for a
     * one-element tensor.
     *
     * @example
     * ```ts
     * const w = mp.tensor([1, 2, 3]).requiresGrad_();
     * w.mul(w).sum().backward();
     * w.grad!.toArray(); // [2, 4, 6]
     * ```
     */
    backward(gradient?: Tensor, options?: BackwardOptions): void;
    /** Sets `requiresGrad` on a leaf (floating-point tensors only); returns this. @example `mp.zeros([3]).requiresGrad_()` */
    requiresGrad_(requiresGrad?: boolean): Tensor;
    /** A tensor sharing this one's memory, cut from the graph. @example `const y = mp.ones([2]).requiresGrad_().mul(2).detach()` */
    detach(): Tensor;
    /**
     * Calls `hook(grad)` when this tensor's gradient is computed; a returned tensor replaces the
     * gradient.
     * @example `mp.ones([2]).requiresGrad_().registerHook((g) => g.mul(2))`
     */
    registerHook(hook: GradHook): RemovableHandle;
    /**
     * Calls `hook(tensor)` each time backward has accumulated this leaf's gradient into
     * `.grad` (PyTorch's `register_post_accumulate_grad_hook`): the gradient is complete for
     * this backward when the hook runs. Leaves that require grad only; not run by
     * `mp.autograd.grad`, which leaves `.grad` alone.
     * @example
     * ```ts
     * const w = mp.ones([2]).requiresGrad_();
     * const seen: mp.Tensor[] = [];
     * w.registerPostAccumulateGradHook((p) => { seen.push(p.grad!); });
     * w.mul(3).sum().backward(); // seen[0] is w.grad, [3, 3]
     * ```
     */
    registerPostAccumulateGradHook(hook: PostAccumulateGradHook): RemovableHandle;
    /** Makes backward store this non-leaf tensor's gradient in `.grad` too. @example `mp.ones([2]).requiresGrad_().mul(2).retainGrad()` */
    retainGrad(): Tensor;
  }
}

function backward(this: Tensor, gradient?: Tensor, options?: BackwardOptions): void {
  checkTensor('backward', 'self', this);
  const o = resolveOptions('backward', options, ['retainGraph', 'createGraph']);
  const createGraph = optionalBoolean('backward', 'options.createGraph', o.createGraph, false);
  if (gradient !== undefined) checkTensor('backward', 'gradient', gradient);
  runBackward([this], [gradient], { retainGraph: optionalBoolean('backward', 'options.retainGraph', o.retainGraph, createGraph), createGraph, op: 'backward' });
}

function requiresGrad_(this: Tensor, requiresGrad = true): Tensor {
  checkTensor('requiresGrad_', 'self', this);
  booleanArg('requiresGrad_', 'requiresGrad', requiresGrad);
  if (!this.isLeaf) {
    throw new MixprecError('ERR_AUTOGRAD', `requiresGrad_: can only change the flag of leaf tensors; this one was produced by ${this.gradFn!.name} (use detach() to get a leaf)`);
  }
  if (requiresGrad && !this.isFloatingPoint()) {
    throw new MixprecError('ERR_INVALID_DTYPE', `requiresGrad_: only floating-point tensors can require gradients, got ${this.dtype}`);
  }
  this.requiresGrad = requiresGrad;
  return this;
}

function detach(this: Tensor): Tensor {
  checkTensor('detach', 'self', this);
  return new Tensor(this.storage, this.shape, this.offset);
}

function registerHook(this: Tensor, hook: GradHook): RemovableHandle {
  checkTensor('registerHook', 'self', this);
  if (typeof hook !== 'function') throw argTypeError('registerHook', 'hook', 'a function', hook);
  const edge = edgeOf(this);
  if (!edge) throw new MixprecError('ERR_AUTOGRAD', `registerHook: cannot register a hook on a tensor that does not require grad (${this.describe()})`);
  const hooks = edge.node.hooks.get(edge.outputIndex) ?? [];
  hooks.push(hook);
  edge.node.hooks.set(edge.outputIndex, hooks);
  return {
    remove: () => {
      const i = hooks.indexOf(hook);
      if (i >= 0) hooks.splice(i, 1);
    },
  };
}

function registerPostAccumulateGradHook(this: Tensor, hook: PostAccumulateGradHook): RemovableHandle {
  const op = 'registerPostAccumulateGradHook';
  checkTensor(op, 'self', this);
  if (typeof hook !== 'function') throw argTypeError(op, 'hook', 'a function', hook);
  if (!this.requiresGrad || !this.isLeaf) {
    throw new MixprecError('ERR_AUTOGRAD', `${op}: post-accumulate-grad hooks can only be registered on leaf tensors that require grad, got ${this.describe()}${this.isLeaf ? ' (requiresGrad is false)' : ` produced by ${this.gradFn!.name}`}`);
  }
  const hooks = accumulatorOf(this).postAccumulateHooks;
  hooks.push(hook);
  return {
    remove: () => {
      const i = hooks.indexOf(hook);
      if (i >= 0) hooks.splice(i, 1);
    },
  };
}

function retainGrad(this: Tensor): Tensor {
  if (this.isLeaf) return this;
  const self = this;
  this.registerHook((g) => {
    self.grad = self.grad === undefined ? g.detach() : self.grad.add(g).detach();
  });
  return this;
}

/** Attaches the autograd methods declared above. Called once by `ops/install.ts`. */
export function installAutogradMethods(): void {
  Object.assign(Tensor.prototype, { backward, requiresGrad_, detach, registerHook, registerPostAccumulateGradHook, retainGrad });
}
