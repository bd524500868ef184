/**
 * Data-parallel building blocks across processes and machines: a process group on Open MPI
 * (CPU tensors) and the collectives, PyTorch's `torch.distributed` in camelCase. Launch with
 * `mpirun -np N node script.js`; see docs/distributed.md.
 *
 * @example
 * ```ts
 * if (mp.distributed.isInitialized()) { // after initProcessGroup({ backend: 'mpi' }), under mpirun
 *   const t = mp.full([3], mp.distributed.getRank());
 *   mp.distributed.allReduce(t, { op: 'max' }); // every rank: worldSize - 1
 * }
 * ```
 * @module
 */
export {
  initProcessGroup, isInitialized, isAvailable, getRank, getWorldSize, getBackendInfo, destroyProcessGroup,
  allReduce, broadcast, allGather, reduceScatter, barrier, type DistBackend, type ReduceOp, type Work,
} from './processGroup';
