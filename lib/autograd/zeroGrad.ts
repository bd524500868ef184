/**
 * Clearing gradients, shared by Module.zeroGrad and Optimizer.zeroGrad.
 */
import { argTypeError } from '../errors';
import type { Tensor } from '../tensor';
import { noGrad } from './gradMode';
import { booleanArg, isOptionsObject } from '../validate';

/**
 * Drops (`setToNone`, the default: the memory is freed now) or zero-fills the `.grad` of every
 * tensor in `params`. `op` names the caller in errors.
 */
export function zeroGrads(op: string, params: Iterable<Tensor>, options: unknown): void {
  if (options !== undefined && !isOptionsObject(options)) throw argTypeError(op, 'options', 'an options object', options);
  const setToNone = (options as { setToNone?: unknown } | undefined)?.setToNone ?? true;
  booleanArg(op, 'options.setToNone', setToNone);
  noGrad(() => {
    for (const p of params) {
      const g = p.grad;
      if (g === undefined) continue;
      if (setToNone) {
        p.grad = undefined;
        g.dispose();
      } else {
        g.zero_();
      }
    }
  });
}
