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
import './ops/elementwise';
import './ops/unary';
import './ops/compare';
import './ops/shapeOps';
import './ops/matmul';
import './ops/reduce';
import './ops/reduceAlong';
import './ops/fillCopy';

export { Tensor, type TensorData, type NestedArray, type ToTarget } from './tensor';
export { tensor, zeros, ones, full, empty, zerosLike, onesLike, arange, linspace, eye, type TensorDataOptions, type TensorLike, type TensorOptions } from './creation';
export { Generator, defaultGenerator, manualSeed, rand, randn, randint, type RandomOptions } from './random';
export { add, sub, mul, div, pow, maximum, minimum, type Operand } from './ops/elementwise';
export { neg, abs, exp, log, log1p, expm1, sqrt, rsqrt, reciprocal, sin, cos, tanh, sigmoid, relu, leakyRelu, elu, gelu, silu, softplus, clamp } from './ops/unary';
export { eq, ne, lt, le, gt, ge } from './ops/compare';
export { matmul, mm, bmm, linear } from './ops/matmul';
export { permute, transpose, squeeze, unsqueeze, narrow, slice, expand, cat, stack, split, chunk } from './ops/shapeOps';
export { sum, mean, type ReduceOptions } from './ops/reduce';
export { prod, max, min, argmax, argmin, logsumexp, variance, std, softmax, logSoftmax, type DimOptions, type VarOptions } from './ops/reduceAlong';
export { tidy, keep, dispose, memory, resetPeakMemory, type MemoryInfo, type DeviceMemory, type DTypeMemory } from './memory';
export { dtypes, promoteTypes, isFloatingPoint, type DType } from './dtype';
export { Device, type DeviceLike } from './device';
export { MixprecError, MixprecTypeError, MixprecRangeError, type ErrorCode } from './errors';
export { backend, setSimdLevel, cuda, type BackendInfo } from './backend';
export * as optim from './optim';
