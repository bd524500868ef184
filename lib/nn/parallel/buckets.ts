/**
 * How DistributedDataParallel groups gradients into buckets (PyTorch's
 * `compute_bucket_assignment_by_size`): parameters in reverse registration order (the order
 * backward produces their gradients), one dtype and device per bucket, the first bucket of
 * each dtype/device closed at 1 MiB so the first all-reduce starts early, the next ones at the
 * bucket cap. A bucket is closed as soon as it reaches its limit, so it can exceed it by one
 * parameter (a parameter is never split).
 */
import type { Device } from '../../device';
import { elementSize, type DType } from '../../dtype';
import type { Tensor } from '../../tensor';

/** PyTorch's `_DEFAULT_FIRST_BUCKET_BYTES`. */
export const FIRST_BUCKET_BYTES = 1024 * 1024;

/** One bucket: parameters (indices into the list given) and where each sits in the flat buffer. */
export interface BucketPlan {
  dtype: DType;
  device: Device;
  /** Indices into the parameter list, in the order the bucket holds them. */
  indices: number[];
  /** Element offset of each parameter in the bucket's flat buffer. */
  offsets: number[];
  numel: number;
}

/** The bucket plan of `params` (registration order) with a cap of `capBytes` after the first bucket. */
export function assignBuckets(params: readonly Tensor[], capBytes: number): BucketPlan[] {
  const closed: BucketPlan[] = [];
  const open = new Map<string, { plan: BucketPlan; limit: number }>();
  for (let i = params.length - 1; i >= 0; --i) {
    const p = params[i];
    const key = `${p.dtype}@${p.device}`;
    let entry = open.get(key);
    if (!entry) {
      const first = !closed.some((b) => `${b.dtype}@${b.device}` === key);
      entry = { plan: { dtype: p.dtype, device: p.device, indices: [], offsets: [], numel: 0 }, limit: first ? Math.min(FIRST_BUCKET_BYTES, capBytes) : capBytes };
      open.set(key, entry);
    }
    const { plan } = entry;
    plan.indices.push(i);
    plan.offsets.push(plan.numel);
    plan.numel += p.numel;
    if (plan.numel * elementSize(plan.dtype) >= entry.limit) {
      closed.push(plan);
      open.delete(key);
    }
  }
  const all = [...closed, ...[...open.values()].map((e) => e.plan)];
  // Bucket order is the order gradients become ready: by the latest-registered parameter in each.
  return all.sort((a, b) => b.indices[0] - a.indices[0]);
}
