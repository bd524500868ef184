/**
 * Data loading: datasets, the batching DataLoader and the bundled MNIST digits.
 *
 * @example
 * ```ts
 * const { train } = mp.data.mnist();
 * for (const [images, labels] of new mp.data.DataLoader(train, { batchSize: 128 })) {
 *   mp.dispose([images, labels]);
 * }
 * ```
 * @module
 */
import { installTensorMethods } from '../ops/install';

export { TensorDataset, type Dataset } from './dataset';
export { DataLoader, type DataLoaderOptions, type DataLoaderState, type Sampler } from './dataLoader';
export { DistributedSampler, type DistributedSamplerOptions } from './distributedSampler';
export { mnist } from './mnist';

installTensorMethods();
