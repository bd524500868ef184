/**
 * Adam (L2 weight decay added to the gradient) and AdamW (decoupled weight decay), with amsgrad
 * and maximize, as torch.optim.Adam / AdamW.
 */
import { argTypeError } from '../errors';
import { adamStep } from '../ops/multiTensor';
import { check, Optimizer, type KernelCall, type OptimizerOptions, type Params } from './optimizer';

/** Adam's and AdamW's hyper-parameters (PyTorch's, in camelCase). */
export interface AdamOptions {
  /** Learning rate (default 1e-3). */
  lr: number;
  /** Decay rates of the first and second moment estimates, each in [0, 1) (default [0.9, 0.999]). */
  betas: [number, number];
  /** Added to the denominator for numerical stability (default 1e-8). */
  eps: number;
  /** Weight decay (Adam: L2 added to the gradient, default 0; AdamW: decoupled, default 1e-2). */
  weightDecay: number;
  /** Use the maximum of past second moments (AMSGrad; default false). */
  amsgrad: boolean;
  /** Maximize the objective instead of minimizing it (default false). */
  maximize: boolean;
}

/** Adam and AdamW: the same kernel, weight decay applied to the gradient or to the parameter. */
abstract class AdamBase extends Optimizer<AdamOptions> {
  protected constructor(name: string, private readonly decoupled: boolean, params: Params<AdamOptions>, defaults: Partial<AdamOptions> & OptimizerOptions) {
    super(name, params, defaults);
  }

  protected resolve(g: Record<string, unknown>, where: string): AdamOptions {
    const betas = g.betas;
    if (!Array.isArray(betas) || betas.length !== 2) throw argTypeError(this.name, `${where}.betas`, 'an array of two numbers', betas);
    const beta = (i: number): number => check.number(this.name, where, `betas[${i}]`, betas[i], 0, 1);
    return {
      lr: check.number(this.name, where, 'lr', g.lr),
      betas: [beta(0), beta(1)],
      eps: check.number(this.name, where, 'eps', g.eps),
      weightDecay: check.number(this.name, where, 'weightDecay', g.weightDecay),
      amsgrad: check.boolean(this.name, where, 'amsgrad', g.amsgrad),
      maximize: check.boolean(this.name, where, 'maximize', g.maximize),
    };
  }

  protected stateKeys(g: AdamOptions): string[] {
    return g.amsgrad ? ['step', 'expAvg', 'expAvgSq', 'maxExpAvgSq'] : ['step', 'expAvg', 'expAvgSq'];
  }

  protected loadableKeys(g: AdamOptions): { allowed: string[]; required: string[] } {
    return { allowed: ['step', 'expAvg', 'expAvgSq', 'maxExpAvgSq'], required: this.stateKeys(g) };
  }

  protected runKernel({ group: g, dtype, params, grads, states, gradScale, foundInf }: KernelCall<AdamOptions>): void {
    adamStep(dtype, [params, grads, states.map((s) => s.step), states.map((s) => s.expAvg), states.map((s) => s.expAvgSq),
      g.amsgrad ? states.map((s) => s.maxExpAvgSq) : []], gradScale, foundInf, { lr: g.lr, beta1: g.betas[0], beta2: g.betas[1], eps: g.eps,
      weightDecay: g.weightDecay, decoupled: this.decoupled, amsgrad: g.amsgrad, maximize: g.maximize });
  }
}

/**
 * torch.optim.Adam: weight decay is an L2 term added to the gradient. Each parameter's state is
 * expAvg, expAvgSq (and maxExpAvgSq with amsgrad) in its dtype and a float32 step counter, all
 * on its device; with `masterWeights: true` a float16/bfloat16 parameter's buffers are float32
 * and its float32 master copy is `masterParam` (see {@link OptimizerOptions.masterWeights}).
 *
 * @example
 * ```ts
 * const params = [mp.zeros([2]).requiresGrad_()];
 * const opt = new mp.optim.Adam(params, { lr: 1e-3, betas: [0.9, 0.99] });
 * opt.step();
 * ```
 */
export class Adam extends AdamBase {
  constructor(params: Params<AdamOptions>, options: Partial<AdamOptions> & OptimizerOptions = {}) {
    super('Adam', false, params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false, ...options });
  }
}

/**
 * torch.optim.AdamW: Adam with decoupled weight decay (`param -= lr * weightDecay * param`
 * before the Adam update), weightDecay 1e-2 by default.
 *
 * @example
 * ```ts
 * const params = [mp.zeros([2]).requiresGrad_()];
 * const halfParams = [mp.zeros([2], { dtype: 'float16' }).requiresGrad_()];
 * const opt = new mp.optim.AdamW(params, { lr: 3e-4, weightDecay: 0.1 });
 * opt.step();
 * const half = new mp.optim.AdamW(halfParams, { lr: 3e-4, masterWeights: true }); // float32 masters
 * ```
 */
export class AdamW extends AdamBase {
  constructor(params: Params<AdamOptions>, options: Partial<AdamOptions> & OptimizerOptions = {}) {
    super('AdamW', true, params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, amsgrad: false, maximize: false, ...options });
  }
}
