/**
 * Learning-rate schedulers with PyTorch's semantics (torch.optim.lr_scheduler): the constructor
 * records each group's `initialLr` and performs the first step (epoch 0); each `step()` moves one
 * epoch on, updating the groups' `lr` with the chainable (recursive) formula; `SequentialLR`
 * jumps a scheduler to epoch 0 with its closed form at a milestone, as PyTorch does.
 */
import { argRangeError, argTypeError, describe, MixprecRangeError, MixprecTypeError } from '../errors';
import { checkOptions, finiteNumber, positiveInteger } from '../validate';

/**
 * What a scheduler needs of an optimizer: parameter groups with a learning rate. Schedulers
 * write `lr`, and `initialLr` (the lr the schedule starts from) when it is not set yet.
 *
 * @example
 * ```ts
 * const opt: mp.optim.SchedulableOptimizer = { paramGroups: [{ lr: 0.1 }] };
 * const sched = new mp.optim.StepLR(opt, 10);
 * ```
 */
export interface SchedulableOptimizer {
  paramGroups: Array<{ lr: number; initialLr?: number }>;
}

/** The scheduler state `stateDict()` returns: numbers and arrays, safe to JSON-serialize. */
export type SchedulerState = Record<string, unknown>;

/** Fields that are wiring, not state: never saved or loaded. */
const NOT_STATE = new Set(['optimizer', 'isInitial', 'lrLambdas', 'schedulers']);

function checkLastEpoch(op: string, value: unknown): number {
  if (value === undefined) return -1;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < -1) throw argRangeError(op, 'options.lastEpoch', 'an integer >= -1', value);
  return value;
}

function checkOptimizer(op: string, optimizer: unknown): SchedulableOptimizer {
  const groups = (optimizer as SchedulableOptimizer | null)?.paramGroups;
  if (typeof optimizer !== 'object' || optimizer === null || !Array.isArray(groups) || groups.length === 0) {
    throw argTypeError(op, 'optimizer', 'an optimizer with a non-empty paramGroups array', optimizer);
  }
  groups.forEach((g, i) => {
    if (typeof g !== 'object' || g === null) throw argTypeError(op, `optimizer.paramGroups[${i}]`, 'an object with an lr', g);
    finiteNumber(op, `optimizer.paramGroups[${i}].lr`, g.lr);
    if (g.initialLr !== undefined) finiteNumber(op, `optimizer.paramGroups[${i}].initialLr`, g.initialLr);
  });
  return optimizer as SchedulableOptimizer;
}

/** How many of the sorted `values` are <= x (Python's bisect_right). */
function bisectRight(values: readonly number[], x: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (values[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The base of every scheduler. A subclass implements {@link LRScheduler.getLr} (the lrs of
 * epoch `lastEpoch` from the current ones), optionally {@link LRScheduler.closedFormLr}, and
 * calls `this.start(op, lastEpoch)` at the end of its constructor, once its fields are set.
 *
 * @example
 * ```ts
 * class HalvingLR extends mp.optim.LRScheduler {
 *   constructor(optimizer: mp.optim.SchedulableOptimizer) {
 *     super('HalvingLR', optimizer);
 *     this.start('HalvingLR', -1);
 *   }
 *   protected getLr(): number[] {
 *     return this.groupLrs().map((lr) => (this.lastEpoch === 0 ? lr : lr / 2));
 *   }
 * }
 * ```
 */
export abstract class LRScheduler {
  /** The optimizer whose groups this scheduler sets. */
  readonly optimizer: SchedulableOptimizer;
  /** Each group's `initialLr`: the lrs the schedule is computed from. */
  baseLrs: number[] = [];
  /** The epoch of the current lrs: 0 after construction, +1 per `step()`. */
  lastEpoch = -1;
  /** How many times `step()` ran since the initial step (1 after construction). */
  protected stepCount = 0;
  /** True during the constructor's step: schedules that must not move yet check it. */
  protected isInitial = false;
  /** The lrs the last step set. */
  protected lastLr: number[] = [];

  protected constructor(op: string, optimizer: SchedulableOptimizer) {
    this.optimizer = checkOptimizer(op, optimizer);
  }

  /**
   * Records the base lrs and performs the initial step. With `lastEpoch` -1 (a fresh run) every
   * group's `initialLr` defaults to its `lr`; resuming (`lastEpoch` >= 0) requires `initialLr`.
   */
  protected start(op: string, lastEpoch: number): void {
    const groups = this.optimizer.paramGroups;
    if (lastEpoch === -1) {
      for (const g of groups) g.initialLr ??= g.lr;
    } else {
      groups.forEach((g, i) => {
        if (g.initialLr === undefined) {
          throw new MixprecTypeError('ERR_INVALID_ARG', `${op}: optimizer.paramGroups[${i}].initialLr is not set; resuming with lastEpoch ${lastEpoch} needs the initialLr recorded when the schedule started`);
        }
      });
    }
    this.baseLrs = groups.map((g) => g.initialLr as number);
    this.lastEpoch = lastEpoch;
    this.initialStep();
  }

  /** The lr of each group at epoch `lastEpoch`, given the groups' current lrs (chainable form). */
  protected abstract getLr(): number[];

  /** The lr of each group at epoch `lastEpoch` from the base lrs alone, when a formula exists. */
  protected closedFormLr(): number[] | undefined {
    return undefined;
  }

  /** The groups' current lrs. */
  protected groupLrs(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }

  /**
   * Moves to the next epoch and writes its lr into every group. Call it after the optimizer's
   * step, once per epoch (or per iteration, if the schedule counts iterations).
   *
   * @example
   * ```ts
   * const optimizer = new mp.optim.SGD([mp.zeros([1]).requiresGrad_()], { lr: 0.05 });
   * const scheduler = new mp.optim.StepLR(optimizer, 30);
   * const scaler = new mp.amp.GradScaler({ device: 'cpu' });
   * for (let epoch = 0; epoch < 90; ++epoch) {
   *   optimizer.step(); // a real loop runs an epoch of training here
   *   scheduler.step();
   * }
   * // With a gradient scaler, a skipped step does not advance the schedule:
   * optimizer.zeroGrad();
   * scaler.scale(optimizer.paramGroups[0].params[0].sum()).backward();
   * await scheduler.step(scaler.step(optimizer)); // resolves to whether it stepped
   * ```
   */
  step(): void;
  step(after: { readonly applied: PromiseLike<boolean> }): Promise<boolean>;
  step(after?: { readonly applied: PromiseLike<boolean> }): void | Promise<boolean> {
    if (after !== undefined) {
      if (typeof after !== 'object' || after === null || typeof after.applied?.then !== 'function') {
        throw argTypeError(`${this.constructor.name}.step`, 'after', "a GradScaler step result ({ applied: Promise<boolean> })", after);
      }
      return Promise.resolve(after.applied).then((applied) => {
        if (applied) this.step();
        return applied;
      });
    }
    this.stepCount += 1;
    this.updateLr();
  }

  /** Steps once (epoch 0) with {@link isInitial} set. @internal */
  initialStep(): void {
    this.stepCount = 0;
    this.isInitial = true;
    try {
      this.step();
    } finally {
      this.isInitial = false;
    }
  }

  /**
   * Moves to the next epoch, or jumps to `epoch` using the closed form where there is one.
   * @internal
   */
  updateLr(epoch?: number): void {
    let values: number[];
    if (epoch === undefined) {
      this.lastEpoch += 1;
      values = this.getLr();
    } else {
      this.lastEpoch = epoch;
      values = this.closedFormLr() ?? this.getLr();
    }
    this.optimizer.paramGroups.forEach((g, i) => {
      g.lr = values[i];
    });
    this.lastLr = this.groupLrs();
  }

  /**
   * The lrs the last step set, one per group.
   *
   * @example
   * ```ts
   * const optimizer = new mp.optim.SGD([mp.zeros([1]).requiresGrad_()], { lr: 0.05 });
   * const scheduler = new mp.optim.StepLR(optimizer, 1, { gamma: 0.2 });
   * scheduler.step();
   * console.log(scheduler.getLastLr()); // [0.01]
   * ```
   */
  getLastLr(): number[] {
    return this.lastLr.slice();
  }

  /**
   * The scheduler's state (everything but the optimizer and functions), to save with the
   * optimizer's and restore with {@link loadStateDict}. It is plain data: JSON-serializable.
   *
   * @example
   * ```ts
   * const optimizer = new mp.optim.SGD([mp.zeros([1]).requiresGrad_()], { lr: 0.05 });
   * const scheduler = new mp.optim.StepLR(optimizer, 30);
   * const saved = JSON.stringify(scheduler.stateDict());
   * ```
   */
  stateDict(): SchedulerState {
    const state: SchedulerState = {};
    for (const [key, value] of Object.entries(this)) {
      if (!NOT_STATE.has(key)) state[key] = structuredClone(value);
    }
    return state;
  }

  /**
   * Restores a state from {@link stateDict} (of a scheduler of the same kind). The optimizer's
   * lrs are not touched: restore the optimizer's own state too.
   *
   * @example
   * ```ts
   * const optimizer = new mp.optim.SGD([mp.zeros([1]).requiresGrad_()], { lr: 0.05 });
   * const scheduler = new mp.optim.StepLR(optimizer, 30);
   * const saved = JSON.stringify(scheduler.stateDict());
   * scheduler.loadStateDict(JSON.parse(saved));
   * ```
   */
  loadStateDict(state: SchedulerState): void {
    const op = `${this.constructor.name}.loadStateDict`;
    if (typeof state !== 'object' || state === null || Array.isArray(state)) throw argTypeError(op, 'state', 'a state object from stateDict()', state);
    const self = this as unknown as Record<string, unknown>;
    const own = this.stateDict();
    for (const [key, value] of Object.entries(state)) {
      if (!(key in own)) {
        throw new MixprecTypeError('ERR_INVALID_ARG', `${op}: unknown state key '${key}' (expected ${Object.keys(own).map((k) => `'${k}'`).join(', ')})`);
      }
      if (Array.isArray(own[key]) !== Array.isArray(value) || typeof own[key] !== typeof value) {
        throw argTypeError(op, `state.${key}`, Array.isArray(own[key]) ? 'an array' : `a ${typeof own[key]}`, value);
      }
    }
    for (const [key, value] of Object.entries(state)) self[key] = structuredClone(value);
  }
}

/** Options of {@link StepLR}. */
export interface StepLROptions {
  /** Factor applied every `stepSize` epochs (default 0.1). */
  gamma?: number;
  /** The epoch to resume from (default -1: a fresh start). */
  lastEpoch?: number;
}

/**
 * Multiplies the lr by `gamma` every `stepSize` epochs: lr = initialLr * gamma^floor(epoch / stepSize).
 *
 * @example
 * ```ts
 * const optimizer = new mp.optim.SGD([mp.zeros([1]).requiresGrad_()], { lr: 0.05 });
 * // lr = 0.05 for epochs 0..29, 0.005 for 30..59, 0.0005 for 60..89, ...
 * const scheduler = new mp.optim.StepLR(optimizer, 30, { gamma: 0.1 });
 * ```
 */
export class StepLR extends LRScheduler {
  stepSize: number;
  gamma: number;

  constructor(optimizer: SchedulableOptimizer, stepSize: number, options?: StepLROptions) {
    super('StepLR', optimizer);
    const o = checkOptions('StepLR', options, ['gamma', 'lastEpoch']);
    this.stepSize = positiveInteger('StepLR', 'stepSize', stepSize);
    this.gamma = finiteNumber('StepLR', 'options.gamma', o.gamma ?? 0.1);
    this.start('StepLR', checkLastEpoch('StepLR', o.lastEpoch));
  }

  protected getLr(): number[] {
    const lrs = this.groupLrs();
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return lrs;
    return lrs.map((lr) => lr * this.gamma);
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map((base) => base * this.gamma ** Math.floor(this.lastEpoch / this.stepSize));
  }
}

/** Options of {@link MultiStepLR}. */
export interface MultiStepLROptions {
  /** Factor applied at each milestone (default 0.1). */
  gamma?: number;
  /** The epoch to resume from (default -1: a fresh start). */
  lastEpoch?: number;
}

/**
 * Multiplies the lr by `gamma` at each milestone epoch (a milestone listed twice applies twice):
 * lr = initialLr * gamma^(milestones passed).
 *
 * @example
 * ```ts
 * const optimizer = new mp.optim.SGD([mp.zeros([1]).requiresGrad_()], { lr: 0.05 });
 * // lr = 0.05 for epochs 0..29, 0.005 for 30..79, 0.0005 from 80 on
 * const scheduler = new mp.optim.MultiStepLR(optimizer, [30, 80], { gamma: 0.1 });
 * ```
 */
export class MultiStepLR extends LRScheduler {
  /** The milestones, sorted (repeats kept). */
  milestones: number[];
  gamma: number;

  constructor(optimizer: SchedulableOptimizer, milestones: number[], options?: MultiStepLROptions) {
    super('MultiStepLR', optimizer);
    const o = checkOptions('MultiStepLR', options, ['gamma', 'lastEpoch']);
    if (!Array.isArray(milestones) || !milestones.every((m) => typeof m === 'number' && Number.isSafeInteger(m) && m >= 0)) {
      throw argTypeError('MultiStepLR', 'milestones', 'an array of non-negative integers', milestones);
    }
    this.milestones = milestones.slice().sort((a, b) => a - b);
    this.gamma = finiteNumber('MultiStepLR', 'options.gamma', o.gamma ?? 0.1);
    this.start('MultiStepLR', checkLastEpoch('MultiStepLR', o.lastEpoch));
  }

  protected getLr(): number[] {
    const hits = this.milestones.filter((m) => m === this.lastEpoch).length;
    const lrs = this.groupLrs();
    return hits === 0 ? lrs : lrs.map((lr) => lr * this.gamma ** hits);
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map((base) => base * this.gamma ** bisectRight(this.milestones, this.lastEpoch));
  }
}

/** Options of {@link ExponentialLR}. */
export interface ExponentialLROptions {
  /** The epoch to resume from (default -1: a fresh start). */
  lastEpoch?: number;
}

/**
 * Multiplies the lr by `gamma` every epoch: lr = initialLr * gamma^epoch.
 *
 * @example
 * ```ts
 * const optimizer = new mp.optim.SGD([mp.zeros([1]).requiresGrad_()], { lr: 0.05 });
 * const scheduler = new mp.optim.ExponentialLR(optimizer, 0.95);
 * ```
 */
export class ExponentialLR extends LRScheduler {
  gamma: number;

  constructor(optimizer: SchedulableOptimizer, gamma: number, options?: ExponentialLROptions) {
    super('ExponentialLR', optimizer);
    const o = checkOptions('ExponentialLR', options, ['lastEpoch']);
    this.gamma = finiteNumber('ExponentialLR', 'gamma', gamma);
    this.start('ExponentialLR', checkLastEpoch('ExponentialLR', o.lastEpoch));
  }

  protected getLr(): number[] {
    // Resuming must not decay one epoch ahead during the constructor's step.
    if (this.isInitial) return this.groupLrs();
    return this.groupLrs().map((lr) => lr * this.gamma);
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map((base) => base * this.gamma ** this.lastEpoch);
  }
}

/** Options of {@link CosineAnnealingLR}. */
export interface CosineAnnealingLROptions {
  /** The lowest lr (default 0). */
  etaMin?: number;
  /** The epoch to resume from (default -1: a fresh start). */
  lastEpoch?: number;
}

/**
 * Cosine annealing without restarts (SGDR): lr = etaMin + (initialLr - etaMin) *
 * (1 + cos(pi * epoch / tMax)) / 2, reaching etaMin at epoch tMax and rising again after it.
 * Computed recursively from the current lr, as PyTorch does, so changes made by other code
 * carry on.
 *
 * @example
 * ```ts
 * const optimizer = new mp.optim.SGD([mp.zeros([1]).requiresGrad_()], { lr: 0.05 });
 * const scheduler = new mp.optim.CosineAnnealingLR(optimizer, 100, { etaMin: 1e-5 });
 * ```
 */
export class CosineAnnealingLR extends LRScheduler {
  tMax: number;
  etaMin: number;

  constructor(optimizer: SchedulableOptimizer, tMax: number, options?: CosineAnnealingLROptions) {
    super('CosineAnnealingLR', optimizer);
    const o = checkOptions('CosineAnnealingLR', options, ['etaMin', 'lastEpoch']);
    this.tMax = positiveInteger('CosineAnnealingLR', 'tMax', tMax);
    this.etaMin = finiteNumber('CosineAnnealingLR', 'options.etaMin', o.etaMin ?? 0);
    this.start('CosineAnnealingLR', checkLastEpoch('CosineAnnealingLR', o.lastEpoch));
  }

  protected getLr(): number[] {
    const { lastEpoch: e, tMax, etaMin } = this;
    const lrs = this.groupLrs();
    if (this.isInitial) return lrs;
    if ((e - 1 - tMax) % (2 * tMax) === 0) {
      // Leaving the minimum: the ratio below would divide by 1 + cos(pi) = 0.
      return lrs.map((lr, i) => lr + ((this.baseLrs[i] - etaMin) * (1 - Math.cos(Math.PI / tMax))) / 2);
    }
    return lrs.map((lr) => ((1 + Math.cos((Math.PI * e) / tMax)) / (1 + Math.cos((Math.PI * (e - 1)) / tMax))) * (lr - etaMin) + etaMin);
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map((base) => this.etaMin + ((base - this.etaMin) * (1 + Math.cos((Math.PI * this.lastEpoch) / this.tMax))) / 2);
  }
}

/** Options of {@link LinearLR}. */
export interface LinearLROptions {
  /** Factor at epoch 0, in (0, 1] (default 1/3). */
  startFactor?: number;
  /** Factor from epoch `totalIters` on, in [0, 1] (default 1). */
  endFactor?: number;
  /** Epochs the factor takes to go from start to end (default 5). */
  totalIters?: number;
  /** The epoch to resume from (default -1: a fresh start). */
  lastEpoch?: number;
}

/**
 * Scales the lr by a factor going linearly from `startFactor` to `endFactor` over `totalIters`
 * epochs, then constant: lr = initialLr * (start + (end - start) * min(epoch, totalIters) / totalIters).
 * A common warm-up.
 *
 * @example
 * ```ts
 * const optimizer = new mp.optim.SGD([mp.zeros([1]).requiresGrad_()], { lr: 0.05 });
 * // lr = 0.025, 0.03125, 0.0375, 0.04375, then 0.05 from epoch 4 on (initial lr 0.05)
 * const warmup = new mp.optim.LinearLR(optimizer, { startFactor: 0.5, totalIters: 4 });
 * ```
 */
export class LinearLR extends LRScheduler {
  startFactor: number;
  endFactor: number;
  totalIters: number;

  constructor(optimizer: SchedulableOptimizer, options?: LinearLROptions) {
    super('LinearLR', optimizer);
    const o = checkOptions('LinearLR', options, ['startFactor', 'endFactor', 'totalIters', 'lastEpoch']);
    const startFactor = finiteNumber('LinearLR', 'options.startFactor', o.startFactor ?? 1 / 3);
    if (startFactor <= 0 || startFactor > 1) throw argRangeError('LinearLR', 'options.startFactor', 'in (0, 1]', startFactor);
    const endFactor = finiteNumber('LinearLR', 'options.endFactor', o.endFactor ?? 1);
    if (endFactor < 0 || endFactor > 1) throw argRangeError('LinearLR', 'options.endFactor', 'in [0, 1]', endFactor);
    this.startFactor = startFactor;
    this.endFactor = endFactor;
    this.totalIters = positiveInteger('LinearLR', 'options.totalIters', o.totalIters ?? 5);
    this.start('LinearLR', checkLastEpoch('LinearLR', o.lastEpoch));
  }

  protected getLr(): number[] {
    const { lastEpoch: e, startFactor: s, endFactor: f, totalIters: n } = this;
    const lrs = this.groupLrs();
    if (e === 0) return lrs.map((lr) => lr * s);
    if (this.isInitial || e > n) return lrs;
    return lrs.map((lr) => lr * (1 + (f - s) / (n * s + (e - 1) * (f - s))));
  }

  protected override closedFormLr(): number[] {
    const { lastEpoch: e, startFactor: s, endFactor: f, totalIters: n } = this;
    return this.baseLrs.map((base) => base * (s + ((f - s) * Math.min(n, e)) / n));
  }
}

/** Options of {@link LambdaLR}. */
export interface LambdaLROptions {
  /** The epoch to resume from (default -1: a fresh start). */
  lastEpoch?: number;
}

/**
 * Sets lr = initialLr * lrLambda(epoch), with one function for all groups or one per group.
 * The functions are not part of `stateDict()`.
 *
 * @example
 * ```ts
 * const optimizer = new mp.optim.SGD([mp.zeros([1]).requiresGrad_()], { lr: 0.05 });
 * const twoGroupOptimizer = new mp.optim.SGD([{ params: [mp.zeros([1]).requiresGrad_()] }, { params: [mp.zeros([1]).requiresGrad_()] }], { lr: 0.05 });
 * const scheduler = new mp.optim.LambdaLR(optimizer, (epoch) => 0.95 ** epoch);
 * const perGroup = new mp.optim.LambdaLR(twoGroupOptimizer, [(e) => Math.floor(e / 30), (e) => 0.95 ** e]);
 * ```
 */
export class LambdaLR extends LRScheduler {
  private readonly lrLambdas: Array<(epoch: number) => number>;

  constructor(optimizer: SchedulableOptimizer, lrLambda: ((epoch: number) => number) | Array<(epoch: number) => number>, options?: LambdaLROptions) {
    super('LambdaLR', optimizer);
    const o = checkOptions('LambdaLR', options, ['lastEpoch']);
    const groups = this.optimizer.paramGroups.length;
    if (Array.isArray(lrLambda)) {
      if (lrLambda.length !== groups) throw argRangeError('LambdaLR', 'lrLambda', `an array of ${groups} functions (one per parameter group)`, lrLambda);
      lrLambda.forEach((f, i) => {
        if (typeof f !== 'function') throw argTypeError('LambdaLR', `lrLambda[${i}]`, 'a function of the epoch', f);
      });
      this.lrLambdas = lrLambda.slice();
    } else {
      if (typeof lrLambda !== 'function') throw argTypeError('LambdaLR', 'lrLambda', 'a function of the epoch or an array of them', lrLambda);
      this.lrLambdas = new Array(groups).fill(lrLambda);
    }
    this.start('LambdaLR', checkLastEpoch('LambdaLR', o.lastEpoch));
  }

  protected getLr(): number[] {
    return this.baseLrs.map((base, i) => {
      const factor = this.lrLambdas[i](this.lastEpoch);
      if (typeof factor !== 'number' || !Number.isFinite(factor)) {
        throw new MixprecTypeError('ERR_INVALID_ARG', `LambdaLR: lrLambda${this.lrLambdas.length > 1 ? `[${i}]` : ''}(${this.lastEpoch}) must return a finite number, got ${describe(factor)}`);
      }
      return base * factor;
    });
  }
}

/** Options of {@link SequentialLR}. */
export interface SequentialLROptions {
  /** The epoch to resume from (default -1: a fresh start). */
  lastEpoch?: number;
}

/**
 * Runs schedulers one after another: `schedulers[i]` drives epochs from `milestones[i - 1]` on.
 * At a milestone the next scheduler starts over at its epoch 0 (closed form), from the initial
 * lrs. Build the schedulers on the same optimizer first; this constructor undoes their initial
 * steps and restarts the first one.
 *
 * @example
 * ```ts
 * const optimizer = new mp.optim.SGD([mp.zeros([1]).requiresGrad_()], { lr: 1 });
 * // initial lr 1: 0.1, 0.55, 1 (warm-up), then 1, 0.9, 0.81, ... from epoch 3
 * const warmup = new mp.optim.LinearLR(optimizer, { startFactor: 0.1, totalIters: 2 });
 * const decay = new mp.optim.ExponentialLR(optimizer, 0.9);
 * const scheduler = new mp.optim.SequentialLR(optimizer, [warmup, decay], [3]);
 * ```
 */
export class SequentialLR extends LRScheduler {
  /** The schedulers, in the order they run. */
  readonly schedulers: readonly LRScheduler[];
  /** The epochs at which the next scheduler takes over. */
  milestones: number[];

  constructor(optimizer: SchedulableOptimizer, schedulers: LRScheduler[], milestones: number[], options?: SequentialLROptions) {
    super('SequentialLR', optimizer);
    const o = checkOptions('SequentialLR', options, ['lastEpoch']);
    if (!Array.isArray(schedulers) || schedulers.length === 0) throw argTypeError('SequentialLR', 'schedulers', 'a non-empty array of schedulers', schedulers);
    schedulers.forEach((s, i) => {
      if (!(s instanceof LRScheduler)) throw argTypeError('SequentialLR', `schedulers[${i}]`, 'an LRScheduler', s);
      // A nested sequence cannot jump to a milestone's epoch 0: it has no closed form.
      if (s instanceof SequentialLR) throw argTypeError('SequentialLR', `schedulers[${i}]`, 'a scheduler other than SequentialLR', s);
      if (s.optimizer !== this.optimizer) {
        throw new MixprecRangeError('ERR_INVALID_ARG', `SequentialLR: schedulers[${i}] (${s.constructor.name}) acts on another optimizer; every scheduler must act on the optimizer given to SequentialLR`);
      }
    });
    if (!Array.isArray(milestones) || milestones.length !== schedulers.length - 1) {
      throw argRangeError('SequentialLR', 'milestones', `an array of ${schedulers.length - 1} epochs (one fewer than the schedulers)`, milestones);
    }
    milestones.forEach((m, i) => {
      if (typeof m !== 'number' || !Number.isSafeInteger(m) || m < 0 || (i > 0 && m <= milestones[i - 1])) {
        throw argRangeError('SequentialLR', `milestones[${i}]`, 'a non-negative integer greater than the previous milestone', m);
      }
    });
    this.schedulers = Object.freeze(schedulers.slice());
    this.milestones = milestones.slice();
    this.lastEpoch = checkLastEpoch('SequentialLR', o.lastEpoch) + 1;
    // The schedulers built on this optimizer recorded every group's initialLr.
    this.baseLrs = this.optimizer.paramGroups.map((g) => g.initialLr as number);
    this.optimizer.paramGroups.forEach((g, i) => {
      g.lr = this.baseLrs[i];
    });
    // Each scheduler stepped to epoch 0 when built; only the first one may have.
    for (const s of this.schedulers) s.lastEpoch -= 1;
    this.schedulers[0].initialStep();
    this.stepCount = 1;
    this.lastLr = this.schedulers[0].getLastLr();
  }

  /**
   * Steps the scheduler in charge of the new epoch (restarting it at its milestone) and returns
   * the lrs it set.
   */
  protected getLr(): number[] {
    const idx = bisectRight(this.milestones, this.lastEpoch);
    const scheduler = this.schedulers[idx];
    if (idx > 0 && this.milestones[idx - 1] === this.lastEpoch) scheduler.updateLr(0);
    else scheduler.step();
    return scheduler.getLastLr();
  }

  /**
   * The sequence's own state plus each scheduler's, under `schedulers`.
   *
   * @example
   * ```ts
   * const optimizer = new mp.optim.SGD([mp.zeros([1]).requiresGrad_()], { lr: 0.05 });
   * const sequential = new mp.optim.SequentialLR(optimizer, [new mp.optim.LinearLR(optimizer), new mp.optim.ExponentialLR(optimizer, 0.9)], [5]);
   * const saved = JSON.stringify(sequential.stateDict());
   * ```
   */
  override stateDict(): SchedulerState {
    return { ...super.stateDict(), schedulers: this.schedulers.map((s) => s.stateDict()) };
  }

  /**
   * Restores the sequence's state and each scheduler's.
   *
   * @example
   * ```ts
   * const optimizer = new mp.optim.SGD([mp.zeros([1]).requiresGrad_()], { lr: 0.05 });
   * const sequential = new mp.optim.SequentialLR(optimizer, [new mp.optim.LinearLR(optimizer), new mp.optim.ExponentialLR(optimizer, 0.9)], [5]);
   * const saved = JSON.stringify(sequential.stateDict());
   * sequential.loadStateDict(JSON.parse(saved));
   * ```
   */
  override loadStateDict(state: SchedulerState): void {
    if (typeof state !== 'object' || state === null || Array.isArray(state)) throw argTypeError('SequentialLR.loadStateDict', 'state', 'a state object from stateDict()', state);
    const { schedulers, ...own } = state;
    if (!Array.isArray(schedulers) || schedulers.length !== this.schedulers.length) {
      throw argTypeError('SequentialLR.loadStateDict', 'state.schedulers', `an array of ${this.schedulers.length} scheduler states`, schedulers);
    }
    super.loadStateDict(own);
    this.schedulers.forEach((s, i) => s.loadStateDict(schedulers[i] as SchedulerState));
  }
}
