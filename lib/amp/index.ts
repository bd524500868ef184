/**
 * Automatic mixed precision: autocast scopes, cast policies, the decision log and autocast for
 * custom Functions.
 *
 * @example
 * ```ts
 * const model = new mp.nn.Linear(4, 3);
 * const x = mp.randn([2, 4]);
 * const y = mp.tensor([0, 2], { dtype: 'int32' });
 * const loss = mp.amp.autocast({ deviceType: 'cpu' }, () => mp.nn.functional.crossEntropy(model.forward(x), y));
 * loss.backward();
 * ```
 */
import { installTensorMethods } from '../ops/install';

export { autocast, explain, type AutocastOptions, type AutocastScope, type Explained, type ExplainedResult } from './autocast';
export { isAutocastEnabled, getAutocastDtype, type DeviceAutocast } from '../autocast/state';
export { AutocastPolicy, policies, policy, autocastCategories, type AutocastCategory, type AutocastDeviceType, type PolicyChanges } from '../autocast/policy';
export { DecisionLog, type Decision, type DecisionReason, type DecisionTotals } from '../autocast/decisionLog';
export { customFwd, customBwd, type CustomFwdOptions, type CustomBwdOptions } from './customFunction';
export { GradScaler, type GradScalerOptions, type GradScalerStateDict } from './gradScaler';
export type { ScalerStatistics, ScalerStepResult, ScalerEvent, OverflowReport } from './scalerMonitoring';
export { prepare, type OptLevel, type PrepareOptions, type Prepared, type LowPrecisionDType } from './prepare';

installTensorMethods();
