/** Data parallelism across processes (`mp.nn.parallel`). */
export { DistributedDataParallel, type DistributedDataParallelOptions } from './distributedDataParallel';
