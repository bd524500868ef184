/**
 * The backward pass: walks the graph from the outputs in dependency order, calls each node's
 * backward, sums gradients that meet, and either accumulates into leaves' `.grad` (backward) or
 * hands the gradients of chosen inputs back (autograd.grad). Gradients it creates and no longer
 * needs are freed as soon as their last consumer ran, so peak memory stays near PyTorch's.
 */
import { onesLike } from '../creation';
import { argTypeError, MixprecError, MixprecTypeError } from '../errors';
import { tidy } from '../memory';
import { sameShape } from '../shape';
import { nextTensorIdWatermark, Tensor } from '../tensor';
import { withAutocastOff } from '../autocast/state';
import { enableGrad, noGrad } from './gradMode';
import { AccumulateGrad, accumulatorOf } from './leafAccumulator';
import type { Edge, GradHook, GraphNode } from './node';

/** The edge a tensor's gradient flows into, or undefined when it does not require grad. */
export function edgeOf(t: Tensor): Edge | undefined {
  if (!t.requiresGrad) return undefined;
  if (t.gradNode !== undefined) return { node: t.gradNode as GraphNode, outputIndex: t.gradOutputIndex };
  return { node: accumulatorOf(t), outputIndex: 0 };
}

export interface EngineOptions {
  retainGraph: boolean;
  createGraph: boolean;
  /** When given, gradients of these tensors are returned and no `.grad` is touched. */
  inputs?: Tensor[];
  allowUnused?: boolean;
  op: string;
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Nodes reachable from the roots, with how many edges point at each. */
function countDependencies(roots: GraphNode[]): Map<GraphNode, number> {
  const deps = new Map<GraphNode, number>();
  const stack = [...new Set(roots)];
  for (const r of stack) deps.set(r, 0);
  while (stack.length > 0) {
    const node = stack.pop()!;
    for (const e of node.next) {
      if (!e) continue;
      const seen = deps.has(e.node);
      deps.set(e.node, (deps.get(e.node) ?? 0) + 1);
      if (!seen) stack.push(e.node);
    }
  }
  return deps;
}

/** Nodes that lead to one of the targets (only those run when capturing input gradients). */
function nodesLeadingTo(targets: Set<GraphNode>, all: Iterable<GraphNode>): Set<GraphNode> {
  const memo = new Map<GraphNode, boolean>();
  const visit = (root: GraphNode): boolean => {
    const stack: [GraphNode, number][] = [[root, 0]];
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const [node, i] = top;
      if (memo.has(node)) {
        stack.pop();
        continue;
      }
      if (i < node.next.length) {
        top[1] += 1;
        const e = node.next[i];
        if (e && !memo.has(e.node)) stack.push([e.node, 0]);
        continue;
      }
      stack.pop();
      memo.set(node, targets.has(node) || node.next.some((e) => e !== undefined && memo.get(e.node) === true));
    }
    return memo.get(root) === true;
  };
  const needed = new Set<GraphNode>();
  for (const n of all) if (visit(n)) needed.add(n);
  return needed;
}

/**
 * Runs backward from `roots` with `rootGrads` (undefined: ones, allowed for one-element roots).
 * Returns the gradients of `options.inputs` when given.
 */
export function runBackward(roots: Tensor[], rootGrads: (Tensor | undefined)[], options: EngineOptions): (Tensor | undefined)[] {
  const run = () => {
    const pass = new BackwardPass(options, nextTensorIdWatermark());
    runningPasses.push(pass);
    try {
      const result = pass.run(roots, rootGrads);
      pass.runQueuedCallbacks();
      return result;
    } finally {
      runningPasses.pop();
    }
  };
  // Backward runs in the dtypes forward chose: autocast is off inside, whatever the caller's scope.
  return withAutocastOff(() => (options.createGraph ? enableGrad(run) : noGrad(run)));
}

/** The passes running now, innermost last (a hook may start a backward of its own). */
const runningPasses: BackwardPass[] = [];

/**
 * Queues `callback` to run once the backward pass now running has finished (every gradient
 * accumulated, still inside backward: grad mode and autocast as the pass had them). PyTorch's
 * `Variable._execution_engine.queue_callback`; DistributedDataParallel waits for its gradient
 * reductions there. Callbacks run in the order queued; one queued by a callback runs too.
 * Only callable while a backward runs (from a hook).
 *
 * @example
 * ```ts
 * const w = mp.ones([2]).requiresGrad_();
 * const done: string[] = [];
 * w.registerHook(() => { mp.autograd.queueCallback(() => done.push('backward finished')); });
 * w.mul(3).sum().backward(); // done: ['backward finished']
 * ```
 */
export function queueCallback(callback: () => void): void {
  if (typeof callback !== 'function') throw argTypeError('queueCallback', 'callback', 'a function', callback);
  const pass = runningPasses[runningPasses.length - 1];
  if (pass === undefined) throw new MixprecError('ERR_AUTOGRAD', 'queueCallback: no backward pass is running; queue callbacks from a hook during backward()');
  pass.queued.push(callback);
}

/**
 * A gradient hook's result: undefined (keep the gradient) or a tensor like it. Anything else is the
 * hook's mistake, named as such, before an op downstream fails on it (PyTorch refuses these too).
 */
function checkHookResult(node: GraphNode, index: number, hook: GradHook, g: Tensor, result: unknown): Tensor | undefined {
  const where = `a gradient hook${hook.name ? ` '${hook.name}'` : ''} on output ${index} of ${node.name}`;
  if (result === undefined || result === null) return undefined;
  if (!(result instanceof Tensor)) {
    throw new MixprecTypeError('ERR_AUTOGRAD', `${where} returned ${result === null ? 'null' : typeof result}; a hook must return a Tensor (the new gradient) or undefined`);
  }
  result.assertAlive(where, 'result');
  if (!sameShape(result.shape, g.shape) || result.dtype !== g.dtype || result.device !== g.device) {
    throw new MixprecError('ERR_AUTOGRAD', `${where} changed the gradient: it returned ${result.describe()} for a gradient that is ${g.describe()}; a hook must keep the shape, dtype and device`);
  }
  return result;
}

class BackwardPass {
  private readonly buffers = new Map<GraphNode, (Tensor | undefined)[]>();
  /** Buffer slots (and captures) referring to each gradient tensor. */
  private readonly uses = new Map<Tensor, number>();
  /** Tensors never freed by the pass: user gradients, captured results, hook results. */
  private readonly protectedGrads = new Set<Tensor>();
  private readonly captured: (Tensor | undefined)[] = [];
  /** Per target node and output: the positions in `inputs` that capture it. */
  private readonly targets = new Map<GraphNode, Map<number, number[]>>();
  /** Callbacks to run when the pass has finished ({@link queueCallback}). */
  readonly queued: (() => void)[] = [];

  constructor(
    private readonly options: EngineOptions,
    private readonly firstOwnedId: number,
  ) {}

  run(roots: Tensor[], rootGrads: (Tensor | undefined)[]): (Tensor | undefined)[] {
    const { op } = this.options;
    const rootEdges = roots.map((t, i) => {
      const e = edgeOf(t);
      if (!e) throw new MixprecError('ERR_AUTOGRAD', `${op}: element ${i} of the outputs (${t.describe()}) does not require grad and has no gradFn; set requiresGrad on the leaves it depends on before computing it`);
      return e;
    });
    const inputs = this.options.inputs;
    if (inputs) {
      inputs.forEach((t, i) => {
        const e = edgeOf(t);
        if (!e) throw new MixprecError('ERR_AUTOGRAD', `${op}: element ${i} of the inputs (${t.describe()}) does not require grad`);
        let outs = this.targets.get(e.node);
        if (!outs) this.targets.set(e.node, (outs = new Map()));
        outs.set(e.outputIndex, [...(outs.get(e.outputIndex) ?? []), i]);
      });
      this.captured.length = inputs.length;
    }
    roots.forEach((t, i) => {
      const g = rootGrads[i];
      let grad: Tensor;
      if (g === undefined) {
        if (t.numel !== 1) throw new MixprecError('ERR_AUTOGRAD', `${op}: grad can be implicitly created only for outputs with one element; output ${i} is ${t.describe()}, pass a gradient of the same shape`);
        grad = onesLike(t);
      } else {
        if (!sameShape(g.shape, t.shape)) throw new MixprecError('ERR_SHAPE_MISMATCH', `${op}: gradient ${i} must have the output's shape [${t.shape.join(', ')}], got ${g.describe()}`);
        // A gradient of another dtype or device is a mistake, not something to convert silently.
        if (g.dtype !== t.dtype) throw new MixprecError('ERR_DTYPE_MISMATCH', `${op}: gradient ${i} must have the output's dtype ${t.dtype}, got ${g.describe()}`);
        if (g.device !== t.device) throw new MixprecError('ERR_DEVICE_MISMATCH', `${op}: gradient ${i} must be on the output's device ${t.device}, got ${g.describe()}`);
        this.protectedGrads.add(g);
        grad = g;
      }
      this.deliver(rootEdges[i], grad);
    });

    const rootNodes = rootEdges.map((e) => e.node);
    const deps = countDependencies(rootNodes);
    const needed = inputs ? nodesLeadingTo(new Set(this.targets.keys()), deps.keys()) : undefined;
    const ready = [...new Set(rootNodes)].filter((n) => deps.get(n) === 0);
    while (ready.length > 0) {
      const node = ready.pop()!;
      this.process(node, needed === undefined || needed.has(node));
      for (const e of node.next) {
        if (!e) continue;
        const left = deps.get(e.node)! - 1;
        deps.set(e.node, left);
        if (left === 0) ready.push(e.node);
      }
    }
    if (inputs && !this.options.allowUnused) {
      const unused = this.captured.findIndex((g) => g === undefined);
      if (unused >= 0) throw new MixprecError('ERR_AUTOGRAD', `${op}: input ${unused} (${inputs[unused].describe()}) was not used to compute the outputs; pass {allowUnused: true} to get undefined for it`);
    }
    return this.captured;
  }

  /** Runs the callbacks queued during the pass, including those queued by a callback. */
  runQueuedCallbacks(): void {
    for (let i = 0; i < this.queued.length; ++i) this.queued[i]();
  }

  /** Adds `grad` into the buffer slot of `edge`. */
  private deliver(edge: Edge, grad: Tensor): void {
    let slots = this.buffers.get(edge.node);
    if (!slots) this.buffers.set(edge.node, (slots = []));
    const old = slots[edge.outputIndex];
    if (old === undefined) {
      slots[edge.outputIndex] = grad;
      this.use(grad, 1);
      return;
    }
    const sum = old.add(grad);
    slots[edge.outputIndex] = sum;
    this.use(sum, 1);
    this.use(old, -1);
    this.releaseIfUnused(grad);
  }

  private use(t: Tensor, delta: number): void {
    const n = (this.uses.get(t) ?? 0) + delta;
    if (n > 0) {
      this.uses.set(t, n);
      return;
    }
    this.uses.delete(t);
    this.releaseIfUnused(t);
  }

  /** Frees a gradient this pass created once nothing refers to it. */
  private releaseIfUnused(t: Tensor): void {
    if (this.uses.has(t) || this.protectedGrads.has(t) || t.id < this.firstOwnedId || t.kept) return;
    t.dispose();
  }

  private process(node: GraphNode, needed: boolean): void {
    const grads = this.buffers.get(node) ?? [];
    this.buffers.delete(node);
    for (const [index, hooks] of node.hooks) {
      for (const hook of hooks) {
        const g = grads[index];
        if (g === undefined) break;
        const replaced = checkHookResult(node, index, hook, g, hook(g));
        if (replaced !== undefined && replaced !== g) {
          this.protectedGrads.add(replaced);
          this.use(replaced, 1);
          grads[index] = replaced;
          this.use(g, -1);
        }
      }
    }
    const targetOutputs = this.targets.get(node);
    if (targetOutputs) {
      for (const [index, positions] of targetOutputs) {
        const g = grads[index];
        if (g === undefined) continue;
        for (const p of positions) this.captured[p] = g;
        this.protectedGrads.add(g);
      }
    }
    if (node instanceof AccumulateGrad) {
      if (!this.options.inputs && grads[0] !== undefined && this.accumulate(node.leaf, grads[0])) {
        for (const hook of [...node.postAccumulateHooks]) hook(node.leaf);
      }
    } else if (needed && node.backwardFn && grads.some((g) => g !== undefined)) {
      this.callBackward(node, grads);
      // Only nodes that ran free their buffers: a pruned branch can still be backwarded later.
      if (!this.options.retainGraph) node.release();
    }
    for (const g of grads) if (g !== undefined) this.use(g, -1);
  }

  private callBackward(node: GraphNode, grads: (Tensor | undefined)[]): void {
    const { op } = this.options;
    // A node that saved nothing (a cast, an add) can run again: only freed saved tensors forbid it.
    if (node.released && node.saved.length > 0) {
      throw new MixprecError('ERR_AUTOGRAD', `${op}: trying to backward through the graph a second time through ${node.name} (its saved tensors were freed); pass {retainGraph: true} to the first backward() if you need to backward twice`);
    }
    const results = tidy(() => {
      const out = node.backwardFn!(grads);
      return node.next.map((edge, i) => {
        const g = out[i];
        const meta = node.inputs[i];
        if (!edge || g === undefined || !meta) return undefined;
        if (!sameShape(g.shape, meta.shape)) {
          throw new MixprecError('ERR_AUTOGRAD', `${op}: ${node.name} returned a gradient of shape ${shapeText(g.shape)} for input ${i}, expected ${shapeText(meta.shape)}`);
        }
        return g.dtype === meta.dtype ? g : g.to(meta.dtype);
      });
    });
    results.forEach((g, i) => {
      const edge = node.next[i];
      if (g !== undefined && edge) this.deliver(edge, g);
    });
  }

  /** Accumulates `g` into `leaf.grad`; false when the leaf is gone (nothing accumulated). */
  private accumulate(leaf: Tensor, g: Tensor): boolean {
    if (leaf.isDisposed) return false;
    const grad = leaf.grad;
    if (grad === undefined || grad.isDisposed) {
      leaf.grad = this.options.createGraph && g.requiresGrad ? g : this.ownedCopy(g);
      if (leaf.grad === g) this.protectedGrads.add(g);
    } else if (this.options.createGraph || grad.requiresGrad) {
      leaf.grad = grad.add(g);
    } else {
      grad.add_(g);
    }
    return true;
  }

  /**
   * `g` itself when nothing else can see its memory (made by this pass, one buffer slot, no
   * view or saved tensor sharing the storage), else a copy: `.grad` is later updated in place.
   */
  private ownedCopy(g: Tensor): Tensor {
    const exclusive = g.id >= this.firstOwnedId && !this.protectedGrads.has(g) && (this.uses.get(g) ?? 0) === 1 && !g.kept && g.storage.refCount === 1;
    if (exclusive) {
      this.protectedGrads.add(g);
      return g;
    }
    return g.clone();
  }
}
