/**
 * Neural-network building blocks: the Module base, layers, containers, initialisation
 * (`nn.init`) and the stateless functions the layers call (`nn.functional`).
 *
 * @example
 * ```ts
 * import * as mp from 'mixprec';
 * const model = new mp.nn.Sequential(new mp.nn.Linear(4, 8), new mp.nn.ReLU(), new mp.nn.Linear(8, 2));
 * const y = model.forward(mp.randn([16, 4]));
 * ```
 * @packageDocumentation
 */
import { installTensorMethods } from '../ops/install';

export { Module, parameter, type AnyModule, type BufferOptions, type LoadResult, type StateDict } from './module';
export { Sequential, ModuleList, ModuleDict } from './containers';
export { Linear, type LinearOptions } from './linear';
export { Conv2d, type Conv2dOptions } from './conv';
export { BatchNorm1d, BatchNorm2d, LayerNorm, GroupNorm, type BatchNormOptions, type LayerNormOptions, type GroupNormOptions } from './normalization';
export { RMSNorm, type RMSNormOptions } from './normalization';
export { Embedding, type EmbeddingOptions } from './embedding';
export { Dropout } from './dropout';
export { MultiheadAttention, type MultiheadAttentionOptions, type MultiheadAttentionForwardOptions } from './attention';
export { ReLU, GELU, SiLU, Tanh, Sigmoid, Softmax } from './activation';
export { Flatten } from './flatten';
export { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, type MaxPool2dOptions, type AvgPool2dOptions } from './pooling';
export * as init from './init';
export * as functional from './functional';
export * as utils from './utils';

installTensorMethods();
