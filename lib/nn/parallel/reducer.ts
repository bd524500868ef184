/**
 * The gradient reducer of DistributedDataParallel (PyTorch's c10d Reducer, simplified): during
 * one backward it copies each parameter's finished gradient into its bucket's flat buffer, starts
 * an asynchronous average all-reduce of a bucket as soon as it is full (buckets launch in bucket
 * order, the same on every rank), and when backward has finished waits for every bucket in
 * order and copies the averages back into `.grad`.
 */
import { noGrad } from '../../autograd/gradMode';
import { queueCallback } from '../../autograd/engine';
import { tensor, zeros } from '../../creation';
import { allReduce, type Work } from '../../distributed/processGroup';
import { MixprecError } from '../../errors';
import { keep } from '../../memory';
import { Tensor } from '../../tensor';
import type { BucketPlan } from './buckets';

/** A bucket's flat buffer and one view of it per parameter (made once, kept). */
interface Bucket {
  plan: BucketPlan;
  flat: Tensor;
  views: Tensor[];
  /** Parameters not yet ready in this backward. */
  pending: number;
  work: Work | undefined;
}

export class Reducer {
  readonly #params: readonly Tensor[];
  readonly #names: readonly string[];
  readonly #buckets: Bucket[];
  /** Per parameter: its bucket and its position there. */
  readonly #where: { bucket: Bucket; slot: number }[] = [];
  readonly #findUnused: boolean;
  /** Whether the hooks act (set by the forward of a synchronising iteration). */
  #expectHooks = false;
  /** Whether a backward is being reduced now (its end callback is queued). */
  #active = false;
  #ready: boolean[] = [];
  #nextBucket = 0;

  constructor(params: readonly Tensor[], names: readonly string[], plans: BucketPlan[], findUnused: boolean) {
    this.#params = params;
    this.#names = names;
    this.#findUnused = findUnused;
    this.#buckets = plans.map((plan) => {
      const flat = keep(zeros([plan.numel], { dtype: plan.dtype, device: plan.device }));
      const views = plan.indices.map((i, k) => keep(new Tensor(flat.storage, params[i].shape, plan.offsets[k])));
      const bucket: Bucket = { plan, flat, views, pending: 0, work: undefined };
      plan.indices.forEach((i, slot) => (this.#where[i] = { bucket, slot }));
      return bucket;
    });
  }

  /** Called by forward: whether the next backward reduces (false under noSync). */
  prepareForBackward(sync: boolean): void {
    if (this.#active) {
      // The last backward failed before its end: let its launched collectives finish.
      for (const b of this.#buckets) b.work?.wait();
      this.#active = false;
    }
    this.#expectHooks = sync;
  }

  /** The post-accumulate-grad hook of parameter `index`. */
  markReady(index: number): void {
    if (!this.#expectHooks) return;
    if (!this.#active) this.#start();
    if (this.#ready[index]) return;
    const p = this.#params[index];
    const { bucket, slot } = this.#where[index];
    noGrad(() => bucket.views[slot].copy_(p.grad!));
    this.#markReady(index, bucket);
  }

  /** Frees the buckets' buffers (a collective still in flight holds its own reference). */
  dispose(): void {
    for (const b of this.#buckets) {
      for (const v of b.views) v.dispose();
      b.flat.dispose();
    }
  }

  #start(): void {
    this.#active = true;
    this.#ready = this.#params.map(() => false);
    this.#nextBucket = 0;
    for (const b of this.#buckets) {
      b.pending = b.plan.indices.length;
      b.work = undefined;
    }
    queueCallback(() => this.#finish());
  }

  #markReady(index: number, bucket: Bucket): void {
    this.#ready[index] = true;
    bucket.pending -= 1;
    // Buckets start in bucket order on every rank, whatever order their gradients finish in.
    while (this.#nextBucket < this.#buckets.length && this.#buckets[this.#nextBucket].pending === 0) {
      const b = this.#buckets[this.#nextBucket++];
      b.work = allReduce(b.flat, { op: 'avg', async: true }) as Work;
    }
  }

  /** End of backward: unused parameters, then wait for every bucket and write the averages back. */
  #finish(): void {
    this.#active = false;
    this.#expectHooks = false;
    const unused = this.#params.map((_, i) => i).filter((i) => !this.#ready[i]);
    // Unused parameters contribute zeros, so every rank launches the same collectives either way.
    for (const i of unused) {
      const { bucket, slot } = this.#where[i];
      noGrad(() => bucket.views[slot].zero_());
      this.#markReady(i, bucket);
    }
    // With findUnusedParameters every rank runs this collective, whether it has unused ones or not.
    const used = this.#findUnused ? this.#globallyUsed(unused) : undefined;
    for (const b of this.#buckets) b.work!.wait();
    if (unused.length > 0 && !this.#findUnused) {
      const names = unused.map((i) => `'${this.#names[i]}'`).join(', ');
      throw new MixprecError('ERR_DISTRIBUTED_UNUSED_PARAMETERS', `DistributedDataParallel: parameter(s) ${names} received no gradient in this backward on this rank, and without findUnusedParameters every parameter must take part in the loss; no gradient was written back (the reduction ran with zeros for them, so the ranks stay in step). Pass {findUnusedParameters: true} if parts of the model are unused in some iterations`);
    }
    noGrad(() => {
      this.#params.forEach((p, i) => {
        const { bucket, slot } = this.#where[i];
        const averaged = bucket.views[slot];
        if (p.grad !== undefined) p.grad.copy_(averaged);
        else if (used !== undefined && used[i] !== 0) p.grad = averaged.clone();
      });
    });
  }

  /**
   * Which parameters any rank used in this backward (a max all-reduce of the local flags and one
   * host read, as PyTorch's `find_unused_parameters`): one unused everywhere keeps no gradient.
   */
  #globallyUsed(unused: number[]): Int32Array {
    const flags = new Int32Array(this.#params.length).fill(1);
    for (const i of unused) flags[i] = 0;
    const t = tensor(flags, { dtype: 'int32', device: this.#params[0].device });
    try {
      allReduce(t, { op: 'max' });
      return t.dataSync() as Int32Array;
    } finally {
      t.dispose();
    }
  }
}
