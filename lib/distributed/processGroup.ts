/**
 * The process group and its collectives, PyTorch's `torch.distributed` in camelCase: Open MPI
 * (loaded at run time) for CPU tensors. Decisions and argument checks live here; the engine
 * (csrc/distributed) runs each collective on its own thread, in submission order, against a deadline.
 */
import { empty } from '../creation';
import { MixprecError, MixprecTypeError, argRangeError, argTypeError } from '../errors';
import {
  copyElementsFrom, distAvailability, distDestroy, distInit, distSubmit, type CollectiveCall,
} from '../ops/collectiveCalls';
import { checkInPlace } from '../ops/registry';
import type { Storage } from '../storage';
import { checkTensor, Tensor } from '../tensor';
import { checkOptions } from '../validate';
import { CollectiveWork, type Work } from './work';

export type { Work } from './work';

/** A distributed engine: `'mpi'` (Open MPI, CPU tensors) or `'nccl'` (NVIDIA's NCCL, CUDA tensors on this rank's device). */
export type DistBackend = 'mpi' | 'nccl';
/** How allReduce and reduceScatter combine: avg is the sum divided by the world size. */
export type ReduceOp = 'sum' | 'avg' | 'max' | 'min';

const backends: readonly DistBackend[] = ['mpi', 'nccl'];
const reduceOps: readonly ReduceOp[] = ['sum', 'avg', 'max', 'min'];
const collectiveDtypes = ['float32', 'float64', 'int32', 'float16', 'bfloat16'];
const defaultTimeoutMs = 300_000;

interface Group {
  backend: DistBackend;
  rank: number;
  worldSize: number;
  timeoutMs: number;
  library: string;
}

let group: Group | undefined;
let nextWorkId = 1;
/** Collectives in flight by id, until the engine says they ended. */
const inFlight = new Map<number, CollectiveWork>();

function onComplete(id: number): void {
  const work = inFlight.get(id);
  inFlight.delete(id);
  work?.settle();
}

function requireGroup(op: string): Group {
  if (!group) throw new MixprecError('ERR_DISTRIBUTED_NOT_INITIALIZED', `${op}: no process group; call mp.distributed.initProcessGroup() first`);
  return group;
}

/**
 * Whether `backend` can be used here: for 'mpi', whether Open MPI's library loads; for 'nccl',
 * whether this is a CUDA build, NCCL 2.10+ loads (MIXPREC_NCCL_LIBRARY, else libnccl.so.2) and
 * a CUDA device exists (NCCL groups also need MPI: it launches the ranks). Never throws.
 *
 * @example
 * ```ts
 * console.log('MPI here:', mp.distributed.isAvailable('mpi'));
 * ```
 */
export function isAvailable(backend: DistBackend): boolean {
  if (!backends.includes(backend)) return false;
  try {
    return distAvailability(backend).available;
  } catch {
    return false;
  }
}

/**
 * Joins the process group. Under `mpirun` the rank and world size come from MPI; a process
 * started alone is a world of one. Every collective must be called by every rank in the same
 * order; one whose ranks do not all arrive within `timeoutMs` (default 300000) fails with
 * ERR_DISTRIBUTED_TIMEOUT on the ranks that wait, and one whose ranks disagree on the kind,
 * dtype, element count, op or src fails with ERR_DISTRIBUTED_MISMATCH on every rank; either
 * breaks the group (later calls fail at once). The MPI library is found through
 * `MIXPREC_MPI_LIBRARY` (a path), then `libmpi.so.40`, then `libmpi.so`.
 *
 * @example
 * ```ts
 * // What each rank of `mpirun -np 2 node train.js` calls once, before any collective:
 * function joinGroup(): void {
 *   mp.distributed.initProcessGroup({ backend: 'mpi', timeoutMs: 60_000 });
 *   console.log(`rank ${mp.distributed.getRank()} of ${mp.distributed.getWorldSize()}`);
 * }
 * if (mp.distributed.isAvailable('mpi') && !mp.distributed.isInitialized()) console.log('MPI is installed', typeof joinGroup);
 * ```
 */
export function initProcessGroup(options?: { backend?: DistBackend; timeoutMs?: number }): void {
  const op = 'initProcessGroup';
  const o = checkOptions(op, options, ['backend', 'timeoutMs']);
  const backend = o.backend === undefined ? 'mpi' : o.backend;
  if (!backends.includes(backend as DistBackend)) throw argTypeError(op, 'options.backend', "'mpi' or 'nccl'", backend);
  const timeoutMs = o.timeoutMs === undefined ? defaultTimeoutMs : o.timeoutMs;
  if (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    throw argRangeError(op, 'options.timeoutMs', 'a positive integer (milliseconds)', timeoutMs);
  }
  if (group) throw new MixprecError('ERR_DISTRIBUTED', `${op}: a process group already exists; call destroyProcessGroup() first`);
  const availability = distAvailability(backend as DistBackend);
  if (!availability.available) throw new MixprecError('ERR_DISTRIBUTED_UNAVAILABLE', `${op}({backend: '${backend}'}): ${availability.reason}`);
  const info = distInit(backend as DistBackend, timeoutMs, onComplete);
  group = { backend: backend as DistBackend, rank: info.rank, worldSize: info.worldSize, timeoutMs, library: info.library };
}

/**
 * Whether a process group exists.
 *
 * @example
 * ```ts
 * console.log(mp.distributed.isInitialized()); // false until initProcessGroup()
 * ```
 */
export function isInitialized(): boolean {
  return group !== undefined;
}

/** This process's rank in [0, worldSize). Throws ERR_DISTRIBUTED_NOT_INITIALIZED without a group. */
export function getRank(): number {
  return requireGroup('getRank').rank;
}

/** The number of processes in the group. Throws ERR_DISTRIBUTED_NOT_INITIALIZED without a group. */
export function getWorldSize(): number {
  return requireGroup('getWorldSize').worldSize;
}

/** The engine's library and version (`libmpi.so.40 (Open MPI v4.1.4)`), for logs. */
export function getBackendInfo(): { backend: DistBackend; library: string; timeoutMs: number } {
  const g = requireGroup('getBackendInfo');
  return { backend: g.backend, library: g.library, timeoutMs: g.timeoutMs };
}

/**
 * Waits for the collectives still queued (each bounded by the timeout), then leaves the group.
 * MPI itself stays initialized until the process exits (MPI cannot be initialized twice), so a
 * new group may be made afterwards. Without a group it does nothing.
 */
export function destroyProcessGroup(): void {
  if (!group) return;
  group = undefined;
  distDestroy();
}

function checkCollectiveTensor(op: string, arg: string, value: unknown): Tensor {
  const t = checkTensor(op, arg, value);
  if (!collectiveDtypes.includes(t.dtype)) {
    throw argTypeError(op, arg, `a tensor of ${collectiveDtypes.join(', ')}`, `a ${t.dtype} tensor`, 'ERR_INVALID_DTYPE');
  }
  const wanted = group?.backend === 'nccl' ? 'cuda' : 'cpu';
  if (t.device.type !== wanted) {
    throw new MixprecError(
      'ERR_DEVICE_MISMATCH',
      `${op}: argument '${arg}' is on ${t.deviceName}, but the '${group?.backend}' backend reduces ${wanted === 'cuda' ? 'CUDA' : 'CPU'} tensors`,
    );
  }
  return t;
}

function sameDtype(op: string, arg: string, t: Tensor, reference: Tensor): void {
  if (t.dtype !== reference.dtype) {
    throw new MixprecTypeError('ERR_DTYPE_MISMATCH', `${op}: argument '${arg}' must be ${reference.dtype} like the input, got ${t.dtype}`);
  }
}

function reduceOpOption(op: string, o: Record<string, unknown>, t: Tensor): ReduceOp {
  const reduce = o.op === undefined ? 'sum' : o.op;
  if (!reduceOps.includes(reduce as ReduceOp)) throw argTypeError(op, 'options.op', "'sum', 'avg', 'max' or 'min'", reduce);
  if (reduce === 'avg' && t.dtype === 'int32') {
    throw argTypeError(op, 'options.op', "'sum', 'max' or 'min' for an int32 tensor (avg is for floating dtypes)", reduce, 'ERR_INVALID_DTYPE');
  }
  return reduce as ReduceOp;
}

function asyncOption(op: string, o: Record<string, unknown>): boolean {
  if (o.async === undefined) return false;
  if (typeof o.async !== 'boolean') throw argTypeError(op, 'options.async', 'a boolean', o.async);
  return o.async;
}

/** Queues `call`; waits for it unless `async`, when it returns the Work. */
function run(call: Omit<CollectiveCall, 'id'>, held: Storage[], async: boolean, after?: () => void): Work | undefined {
  const id = nextWorkId++;
  const work = new CollectiveWork(distSubmit({ ...call, id }), held, after);
  if (async) {
    // Kept until the engine's notice arrives (on the event loop) so promise() can settle; a
    // synchronous call settles in wait() and its notice finds nothing to do.
    inFlight.set(id, work);
    return work;
  }
  work.wait();
  return undefined;
}

/**
 * Reduces `t` across all ranks, in place: every rank ends with the same result. `op`: 'sum'
 * (default), 'avg' (the sum divided by the world size, floating dtypes only), 'max', 'min'.
 * float32 and float64 sums are MPI's; float16 and bfloat16 are widened to float32, combined and
 * rounded once per pairwise combine (with 2 ranks: round16(a + b), bit for bit); max and min
 * propagate NaN. With `{async: true}` it returns a {@link Work} instead of waiting.
 *
 * @example
 * ```ts
 * if (mp.distributed.isInitialized()) { // after initProcessGroup(), under mpirun
 *   const grad = mp.ones([4]);
 *   mp.distributed.allReduce(grad, { op: 'avg' });
 *   const work = mp.distributed.allReduce(mp.ones([4]), { async: true });
 *   work?.wait();
 * }
 * ```
 */
export function allReduce(t: Tensor, options?: { op?: ReduceOp; async?: boolean }): Work | void {
  const op = 'allReduce';
  const g = requireGroup(op);
  const tensor = checkCollectiveTensor(op, 't', t);
  const o = checkOptions(op, options, ['op', 'async']);
  const reduce = reduceOpOption(op, o, tensor);
  const async = asyncOption(op, o);
  checkInPlace(op, tensor);
  tensor.markModified();
  return run({ kind: 'allReduce', size: g.worldSize, count: tensor.numel, op: reduce, output: tensor }, [tensor.storage], async);
}

/**
 * Copies rank `src`'s `t` (default 0) into `t` on every other rank, in place.
 *
 * @example
 * ```ts
 * if (mp.distributed.isInitialized()) { // after initProcessGroup(), under mpirun
 *   const weights = mp.randn([3, 3]);
 *   mp.distributed.broadcast(weights, { src: 0 }); // every rank now holds rank 0's weights
 * }
 * ```
 */
export function broadcast(t: Tensor, options?: { src?: number; async?: boolean }): Work | void {
  const op = 'broadcast';
  const g = requireGroup(op);
  const tensor = checkCollectiveTensor(op, 't', t);
  const o = checkOptions(op, options, ['src', 'async']);
  const src = o.src === undefined ? 0 : o.src;
  if (typeof src !== 'number' || !Number.isInteger(src) || src < 0 || src >= g.worldSize) {
    throw argRangeError(op, 'options.src', `a rank in [0, ${g.worldSize})`, src);
  }
  const async = asyncOption(op, o);
  checkInPlace(op, tensor);
  tensor.markModified();
  return run({ kind: 'broadcast', size: g.worldSize, count: tensor.numel, root: src, output: tensor }, [tensor.storage], async);
}

/**
 * Gathers every rank's `t`: into `out`, a list of worldSize tensors of t's size (PyTorch's
 * all_gather), or one tensor of worldSize times t's elements, rank r's at [r * t.numel, ...)
 * (all_gather_into_tensor).
 *
 * @example
 * ```ts
 * if (mp.distributed.isInitialized()) { // after initProcessGroup(), under mpirun
 *   const world = mp.distributed.getWorldSize();
 *   const out = mp.empty([world, 2]);
 *   mp.distributed.allGather(out, mp.full([2], mp.distributed.getRank()));
 * }
 * ```
 */
export function allGather(out: Tensor[] | Tensor, t: Tensor, options?: { async?: boolean }): Work | void {
  const op = 'allGather';
  const g = requireGroup(op);
  const input = checkCollectiveTensor(op, 't', t);
  const o = checkOptions(op, options, ['async']);
  const async = asyncOption(op, o);
  const call = { kind: 'allGather' as const, size: g.worldSize, count: input.numel, input };
  if (out instanceof Tensor) {
    const output = checkCollectiveTensor(op, 'out', out);
    sameDtype(op, 'out', output, input);
    if (output.numel !== g.worldSize * input.numel) {
      throw argRangeError(op, 'out', `a tensor of worldSize * t.numel = ${g.worldSize * input.numel} elements`, `${output.numel} elements`, 'ERR_SHAPE_MISMATCH');
    }
    checkInPlace(op, output);
    output.markModified();
    return run({ ...call, output }, [input.storage, output.storage], async);
  }
  if (!Array.isArray(out)) throw argTypeError(op, 'out', 'a Tensor or an array of worldSize tensors', out);
  if (out.length !== g.worldSize) throw argRangeError(op, 'out', `an array of worldSize = ${g.worldSize} tensors`, `${out.length} entries`);
  const outputs = out.map((item, i) => {
    const each = checkCollectiveTensor(op, `out[${i}]`, item);
    sameDtype(op, `out[${i}]`, each, input);
    if (each.numel !== input.numel) {
      throw argRangeError(op, `out[${i}]`, `a tensor of t.numel = ${input.numel} elements`, `${each.numel} elements`, 'ERR_SHAPE_MISMATCH');
    }
    checkInPlace(op, each);
    return each;
  });
  // Gathered into one staging tensor, then copied out when the collective has ended.
  const staging = empty([g.worldSize * input.numel], { dtype: input.dtype, device: input.device });
  const copyOut = (): void => {
    outputs.forEach((each, r) => {
      copyElementsFrom(each, staging, r * input.numel);
      each.markModified();
    });
    staging.dispose();
  };
  return run({ ...call, output: staging }, [input.storage, ...outputs.map((each) => each.storage)], async, copyOut);
}

/**
 * Reduces `input` (worldSize times out's elements) across ranks and leaves block `rank` of the
 * result in `out` (PyTorch's reduce_scatter_tensor). `op` as in {@link allReduce}.
 *
 * @example
 * ```ts
 * if (mp.distributed.isInitialized()) { // after initProcessGroup(), under mpirun
 *   const world = mp.distributed.getWorldSize();
 *   const out = mp.empty([2]);
 *   mp.distributed.reduceScatter(out, mp.ones([world * 2]), { op: 'sum' }); // out = [world, world]
 * }
 * ```
 */
export function reduceScatter(out: Tensor, input: Tensor, options?: { op?: ReduceOp; async?: boolean }): Work | void {
  const op = 'reduceScatter';
  const g = requireGroup(op);
  const output = checkCollectiveTensor(op, 'out', out);
  const source = checkCollectiveTensor(op, 'input', input);
  sameDtype(op, 'out', output, source);
  if (source.numel !== g.worldSize * output.numel) {
    throw argRangeError(op, 'input', `a tensor of worldSize * out.numel = ${g.worldSize * output.numel} elements`, `${source.numel} elements`, 'ERR_SHAPE_MISMATCH');
  }
  const o = checkOptions(op, options, ['op', 'async']);
  const reduce = reduceOpOption(op, o, output);
  const async = asyncOption(op, o);
  checkInPlace(op, output);
  output.markModified();
  return run({ kind: 'reduceScatter', size: g.worldSize, count: output.numel, op: reduce, input: source, output }, [source.storage, output.storage], async);
}

/**
 * Returns when every rank has called it (or throws ERR_DISTRIBUTED_TIMEOUT after the timeout).
 *
 * @example
 * ```ts
 * if (mp.distributed.isInitialized()) { // after initProcessGroup(), under mpirun
 *   mp.distributed.barrier();
 * }
 * ```
 */
export function barrier(): void {
  requireGroup('barrier');
  run({ kind: 'barrier', size: 0, count: 0 }, [], false);
}
