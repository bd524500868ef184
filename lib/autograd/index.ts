/**
 * `mp.autograd`: gradients of chosen inputs, custom functions, gradient checking.
 */

export { grad, type GradOptions } from './grad';
export { queueCallback } from './engine';
export type { PostAccumulateGradHook } from './leafAccumulator';
export { Function, FunctionCtx } from './function';
export { gradcheck, type GradcheckOptions } from './gradcheck';
export type { GraphNode } from './node';
export type { BackwardOptions, RemovableHandle } from './tensorMethods';
