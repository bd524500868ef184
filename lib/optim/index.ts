/**
 * Optimizers (`mp.optim`): SGD, Adam and AdamW with PyTorch's update rules, one native
 * multi-tensor call per parameter group, device and dtype, and state that stays on the device.
 *
 * @example
 * ```ts
 * const params = [mp.zeros([2]).requiresGrad_()];
 * const opt = new mp.optim.AdamW(params, { lr: 3e-4 });
 * opt.zeroGrad();
 * // ... backward ...
 * opt.step();
 * ```
 */
import { installTensorMethods } from '../ops/install';

export { MASTER_PARAM_KEY } from './masterWeights';
export { Optimizer, type OptimizerOptions, type ParamGroup, type ParamGroupInput, type Params, type ParamState, type OptimizerStateDict, type StepOptions } from './optimizer';
export { SGD, type SGDOptions } from './sgd';
export { Adam, AdamW, type AdamOptions } from './adam';
export * as lrScheduler from './lrScheduler';
export { LRScheduler, StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, LinearLR, LambdaLR, SequentialLR, type SchedulableOptimizer } from './lrScheduler';

installTensorMethods();
