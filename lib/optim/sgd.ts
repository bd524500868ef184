/**
 * Stochastic gradient descent with momentum (optionally Nesterov), dampening, L2 weight decay
 * and maximize, as torch.optim.SGD.
 */
import { MixprecRangeError } from '../errors';
import { sgdStep } from '../ops/multiTensor';
import { check, Optimizer, type KernelCall, type OptimizerOptions, type Params } from './optimizer';

/** SGD's hyper-parameters (PyTorch's, in camelCase). */
export interface SGDOptions {
  /** Learning rate (required: in the options or in every group). */
  lr: number;
  /** Momentum factor (default 0: no momentum buffer). */
  momentum: number;
  /** Dampening of the momentum (default 0). */
  dampening: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay: number;
  /** Nesterov momentum (default false; needs momentum > 0 and dampening 0). */
  nesterov: boolean;
  /** Maximize the objective instead of minimizing it (default false). */
  maximize: boolean;
}

/**
 * torch.optim.SGD. With momentum, each parameter's state is a momentum buffer (its dtype) and a
 * float32 step counter on its device; the buffer starts as the first gradient, decided on the
 * device, so a step skipped by `foundInf` never counts as the first. With `masterWeights: true`,
 * a float16/bfloat16 parameter is updated through a float32 master copy (`masterParam` in its
 * state; the buffer is float32 too).
 *
 * @example
 * ```ts
 * const params = [mp.zeros([2]).requiresGrad_()];
 * const halfParams = [mp.zeros([2], { dtype: 'float16' }).requiresGrad_()];
 * const opt = new mp.optim.SGD(params, { lr: 0.1, momentum: 0.9, nesterov: true });
 * // float16 params updated through float32 masters:
 * const half = new mp.optim.SGD(halfParams, { lr: 0.1, momentum: 0.9, masterWeights: true });
 * opt.zeroGrad();
 * params[0].sum().backward();
 * opt.step();
 * ```
 */
export class SGD extends Optimizer<SGDOptions> {
  constructor(params: Params<SGDOptions>, options: Partial<SGDOptions> & OptimizerOptions = {}) {
    super('SGD', params, { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false, ...options });
  }

  protected resolve(g: Record<string, unknown>, where: string): SGDOptions {
    if (g.lr === undefined) {
      throw new MixprecRangeError('ERR_INVALID_ARG', `SGD: argument '${where}.lr' is required (give lr in the options or in every parameter group), got undefined`);
    }
    const o: SGDOptions = {
      lr: check.number('SGD', where, 'lr', g.lr),
      momentum: check.number('SGD', where, 'momentum', g.momentum),
      dampening: check.number('SGD', where, 'dampening', g.dampening, -Infinity),
      weightDecay: check.number('SGD', where, 'weightDecay', g.weightDecay),
      nesterov: check.boolean('SGD', where, 'nesterov', g.nesterov),
      maximize: check.boolean('SGD', where, 'maximize', g.maximize),
    };
    if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0)) {
      throw new MixprecRangeError('ERR_INVALID_ARG', `SGD: ${where}.nesterov needs momentum > 0 and dampening 0, got momentum ${o.momentum} and dampening ${o.dampening}`);
    }
    return o;
  }

  protected stateKeys(g: SGDOptions): string[] {
    return g.momentum !== 0 ? ['step', 'momentumBuffer'] : [];
  }

  protected loadableKeys(): { allowed: string[]; required: string[] } {
    return { allowed: ['step', 'momentumBuffer'], required: [] };
  }

  protected runKernel({ group: g, dtype, params, grads, states, gradScale, foundInf }: KernelCall<SGDOptions>): void {
    const momentum = g.momentum !== 0;
    sgdStep(dtype, [params, grads, momentum ? states.map((s) => s.step) : [], momentum ? states.map((s) => s.momentumBuffer) : []], gradScale,
      foundInf, g);
  }
}
