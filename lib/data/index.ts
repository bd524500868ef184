/**
 * Data loading: datasets, the batching DataLoader, the bundled MNIST digits and Brown corpus,
 * tokenizers and language-model windows.
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
export { DataLoader, type DataLoaderOptions, type DataLoaderState } from './dataLoader';
export { mnist } from './mnist';
export { brown, brownFiles, type BrownFile, type BrownSplit } from './brown';
export { cleanBrownText } from './brownText';
export { CharTokenizer, type CharTokenizerJSON } from './charTokenizer';
export { BytePairTokenizer, type BytePairTokenizerJSON, type BytePairTrainOptions } from './bytePairTokenizer';
export { TokenDataset, type TokenDatasetOptions, type TokenBatch } from './tokenDataset';

installTensorMethods();
