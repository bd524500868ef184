/**
 * mixprec: automatic mixed precision training for Node.js.
 *
 * @example
 * ```ts
 * import * as mp from 'mixprec';
 * const x = mp.randn([4, 4]).to('bfloat16');
 * console.log(x.toString(), mp.backend());
 * ```
 * @packageDocumentation
 */
import { installTensorMethods } from './ops/install';

export { Tensor, hostReads, type TensorData, type NestedArray, type ToTarget } from './tensor';
export { tensor, zeros, ones, full, empty, zerosLike, onesLike, arange, linspace, eye, type TensorDataOptions, type TensorLike, type TensorOptions } from './creation';
export { Generator, defaultGenerator, manualSeed, rand, randn, randint, type RandomOptions } from './random';
export { reshape, view, flatten, clone } from './ops/viewCast';
export { add, sub, mul, div, pow, maximum, minimum, type Operand } from './ops/elementwise';
export { neg, abs, exp, log, log1p, expm1, sqrt, rsqrt, reciprocal, sin, cos, tanh, sigmoid, relu, leakyRelu, elu, gelu, silu, softplus, clamp, erf, sign } from './ops/unary';
export { eq, ne, lt, le, gt, ge } from './ops/compare';
export { matmul, mm, bmm, linear, addmm, baddbmm, type AddmmOptions } from './ops/matmul';
export { permute, transpose, squeeze, unsqueeze, narrow, slice, expand, cat, stack, split, chunk } from './ops/shapeOps';
export { where, gather, scatterAdd, indexSelect, indexAdd, unfold, fold, type WindowOptions } from './ops/indexing';
export { sum, mean, norm, type ReduceOptions, type NormOptions } from './ops/reduce';
export { prod, max, min, argmax, argmin, logsumexp, variance, std, softmax, logSoftmax, type DimOptions, type VarOptions, type ProdOptions, type SoftmaxOptions } from './ops/reduceAlong';
export * as autograd from './autograd';
export * as amp from './amp';
export { noGrad, enableGrad, isGradEnabled } from './autograd/gradMode';
export { registeredOps, type RegisteredOp, type AutocastCategory } from './ops/registry';
export { tidy, keep, dispose, memory, resetPeakMemory, emptyCache, type MemoryInfo, type DeviceMemory, type DTypeMemory } from './memory';
export { dtypes, promoteTypes, isFloatingPoint, type DType } from './dtype';
export { Device, type DeviceLike } from './device';
export { MixprecError, MixprecTypeError, MixprecRangeError, type ErrorCode } from './errors';
export { backend, setSimdLevel, cuda, type BackendInfo } from './backend';
export * as data from './data';
export * as nn from './nn';
export * as optim from './optim';
export * as distributed from './distributed';
export { save, load, loadWithMetadata, saveAsync, loadAsync, loadWithMetadataAsync, serialize, deserialize, checkpoint, type SaveOptions, type LoadOptions } from './io';

installTensorMethods();
