/**
 * DistributedDataParallel: data-parallel training across processes (PyTorch's
 * `torch.nn.parallel.DistributedDataParallel`). Each rank runs the same model on its own share
 * of every batch; during backward the gradients are averaged across ranks in buckets, so after
 * `backward()` every rank holds the same gradients and the optimizers stay in lockstep.
 */
import { isGradEnabled, noGrad } from '../../autograd/gradMode';
import { broadcast, getWorldSize, isInitialized, type Work } from '../../distributed/processGroup';
import { argRangeError, argTypeError, MixprecError } from '../../errors';
import type { Tensor } from '../../tensor';
import { checkOptions, numberIn, optionalBoolean } from '../../validate';
import { Module } from '../module';
import { assignBuckets } from './buckets';
import { Reducer } from './reducer';

/** Options of {@link DistributedDataParallel}. */
export interface DistributedDataParallelOptions {
  /** Bucket size in MiB after the first bucket, which is 1 MiB (default 25, as PyTorch). */
  bucketCapMb?: number;
  /** Broadcast rank 0's buffers (e.g. batch-norm statistics) before every forward (default true). */
  broadcastBuffers?: boolean;
  /**
   * Parameters that get no gradient in a backward (parts of the model unused in that iteration)
   * contribute zeros instead of being an error (default false). Costs one small all-reduce and a
   * host read per backward, to learn which parameters no rank used: those keep no gradient.
   */
  findUnusedParameters?: boolean;
}

const OPTION_KEYS = ['bucketCapMb', 'broadcastBuffers', 'findUnusedParameters'];

/**
 * Wraps `module` for data-parallel training with one process per rank (launched by `mpirun`,
 * see docs/distributed.md). At construction rank 0's parameters and buffers are broadcast, so
 * every rank starts from the same weights. During backward, each parameter's gradient is
 * copied, as soon as it is accumulated, into a bucket (reverse registration order; one dtype
 * per bucket; the first bucket 1 MiB, then `bucketCapMb`); a full bucket is all-reduced
 * (average over ranks) asynchronously while backward goes on, and at the end of backward the
 * averages are written back into `.grad`.
 *
 * `forward` delegates to the wrapped module, which is the `module` property; `stateDict()` keys
 * carry a `module.` prefix, as PyTorch's (save `ddp.module.stateDict()` to load into an
 * unwrapped model). Build the DDP after moving the model to its device and dtype, and the
 * optimizer from its parameters. Works under autocast (gradients have the parameters' dtype)
 * and with 16-bit parameters (16-bit buckets) under an optimizer's master weights.
 *
 * @example
 * ```ts
 * // Under `mpirun -np 2 node train.js`, after mp.distributed.initProcessGroup({ backend: 'mpi' }):
 * if (mp.distributed.isInitialized()) {
 *   const model = new mp.nn.parallel.DistributedDataParallel(new mp.nn.Linear(4, 2));
 *   const opt = new mp.optim.SGD(model.parameters(), { lr: 0.1 });
 *   const loss = model.forward(mp.randn([8, 4])).pow(2).mean();
 *   loss.backward(); // gradients averaged over the ranks
 *   opt.step();
 * }
 * ```
 */
export class DistributedDataParallel<Args extends unknown[] = [Tensor], Out = Tensor> extends Module<Args, Out> {
  /** The wrapped model. */
  readonly module: Module<Args, Out>;
  readonly bucketCapMb: number;
  readonly broadcastBuffers: boolean;
  readonly findUnusedParameters: boolean;
  /**
   * Whether the next forward's backward averages gradients across ranks (default true).
   * PyTorch's `require_backward_grad_sync`: set it false on gradient-accumulation micro-steps
   * and true on the last one (the form without a callback; {@link noSync} sets it for a scope).
   * It is read when `forward` runs.
   */
  requireBackwardGradSync = true;
  readonly #reducer: Reducer;
  readonly #bucketNames: string[][];

  constructor(module: Module<Args, Out>, options: DistributedDataParallelOptions = {}) {
    super();
    const op = 'DistributedDataParallel';
    if (!(module instanceof Module)) throw argTypeError(op, 'module', 'an nn.Module', module);
    const o = checkOptions(op, options, OPTION_KEYS);
    this.bucketCapMb = numberIn(op, 'options.bucketCapMb', o.bucketCapMb, 25, (x) => x > 0 && Number.isFinite(x), 'a positive number of MiB');
    this.broadcastBuffers = optionalBoolean(op, 'options.broadcastBuffers', o.broadcastBuffers, true);
    this.findUnusedParameters = optionalBoolean(op, 'options.findUnusedParameters', o.findUnusedParameters, false);
    if (!isInitialized()) {
      throw new MixprecError('ERR_DISTRIBUTED_NOT_INITIALIZED', `${op}: the process group is not initialized; call mp.distributed.initProcessGroup() first (under mpirun)`);
    }
    this.module = module;
    const named = uniqueNamed(module.namedParameters()).filter(([, p]) => p.requiresGrad);
    if (named.length === 0) throw argRangeError(op, 'module', 'a module with at least one parameter that requires grad', 'none');
    const params = named.map(([, p]) => p);
    syncFromRankZero([...params, ...uniqueNamed(module.namedBuffers()).map(([, b]) => b)]);
    const plans = assignBuckets(params, this.bucketCapMb * 1024 * 1024);
    this.#bucketNames = plans.map((b) => b.indices.map((i) => named[i][0]));
    this.#reducer = new Reducer(params, named.map(([n]) => n), plans, this.findUnusedParameters);
    params.forEach((p, i) => p.registerPostAccumulateGradHook(() => this.#reducer.markReady(i)));
  }

  /**
   * Runs the wrapped module's forward, after broadcasting rank 0's buffers (when
   * `broadcastBuffers`); with grad enabled and `requireBackwardGradSync`, the next backward
   * averages the gradients.
   */
  forward(...args: Args): Out {
    if (this.broadcastBuffers && getWorldSize() > 1) syncFromRankZero(this.module.buffers());
    this.#reducer.prepareForBackward(isGradEnabled() && this.requireBackwardGradSync);
    return this.module.forward(...args);
  }

  /**
   * Runs `fn` with gradient averaging off: backwards of forwards run inside it only accumulate
   * into `.grad` locally (gradient accumulation); the first backward with sync then averages
   * the accumulated sum. An async `fn` keeps sync off until its promise settles. PyTorch's
   * `no_sync()`.
   * @example
   * ```ts
   * if (mp.distributed.isInitialized()) {
   *   const ddp = new mp.nn.parallel.DistributedDataParallel(new mp.nn.Linear(2, 1));
   *   ddp.noSync(() => ddp.forward(mp.ones([4, 2])).sum().backward()); // micro-step: local only
   *   ddp.forward(mp.ones([4, 2])).sum().backward();                     // last micro-step: averaged
   * }
   * ```
   */
  noSync<T>(fn: () => T): T {
    const previous = this.requireBackwardGradSync;
    this.requireBackwardGradSync = false;
    let result: T;
    try {
      result = fn();
    } catch (e) {
      this.requireBackwardGradSync = previous;
      throw e;
    }
    if (result instanceof Promise) {
      return result.finally(() => (this.requireBackwardGradSync = previous)) as T;
    }
    this.requireBackwardGradSync = previous;
    return result;
  }

  /**
   * The buckets, in the order they are all-reduced: each one's parameter names (in the
   * wrapped module's naming) in the order they sit in its buffer.
   * @example `if (mp.distributed.isInitialized()) new mp.nn.parallel.DistributedDataParallel(new mp.nn.Linear(2, 1)).bucketLayout() // [['bias', 'weight']]`
   */
  bucketLayout(): string[][] {
    return this.#bucketNames.map((names) => [...names]);
  }

  /** Frees the gradient buckets and the wrapped module's tensors. */
  override dispose(): void {
    this.#reducer.dispose();
    super.dispose();
  }
}

/** Each tensor once (tied weights appear under several names), first name kept. */
function uniqueNamed(named: [string, Tensor][]): [string, Tensor][] {
  const seen = new Set<Tensor>();
  return named.filter(([, t]) => !seen.has(t) && seen.add(t) !== undefined);
}

/** Overwrites `tensors` with rank 0's values (all broadcasts in flight at once, then waited). */
function syncFromRankZero(tensors: Tensor[]): void {
  if (tensors.length === 0) return;
  // Parameters are leaves that require grad: written in place outside the graph, as init does.
  const works = noGrad(() => tensors.map((t) => broadcast(t, { src: 0, async: true }) as Work));
  for (const w of works) w.wait();
}
