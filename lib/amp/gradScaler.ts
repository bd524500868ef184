/**
 * GradScaler: dynamic loss scaling for float16 training (PyTorch's `torch.amp.GradScaler`,
 * reference §4). The loss is multiplied by a scale so small float16 gradients do not underflow;
 * gradients are checked for inf/NaN and unscaled by one fused multi-tensor kernel per device and
 * dtype; a step whose gradients overflowed is skipped inside the optimizer's kernel; the scale
 * backs off after an overflow and grows after `growthInterval` clean steps. The scale, growth
 * tracker and found-inf flags stay on the device: no host read happens in scale/unscale/step/
 * update (`mp.hostReads()` shows it). This file holds the state machine; its statistics, events
 * and overflow reports are in `scalerMonitoring.ts`, the arithmetic in csrc/core/ampMath.h.
 */
import { EventEmitter } from 'node:events';
import { cuda } from '../backend';
import { full, zeros } from '../creation';
import { Device } from '../device';
import { isFloatingPoint } from '../dtype';
import { argRangeError, argTypeError, MixprecError } from '../errors';
import { keep, tidy } from '../memory';
import { noGrad } from '../autograd/gradMode';
import { mul } from '../ops/elementwise';
import { ampUnscale, ampUpdateScale, groupByDeviceDtype, withScalarOn } from '../ops/multiTensor';
import type { Module } from '../nn/module';
import type { Optimizer } from '../optim/optimizer';
import { Tensor } from '../tensor';
import { checkDeviceType } from '../autocast/state';
import type { AutocastDeviceType } from '../autocast/policy';
import { FLOOR_HITS_SLOT, overflowReports, readStatistics, reportEvents, STAT_SLOTS, StepResult, type OverflowFlags, type OverflowReport, type ScalerStatistics, type ScalerStepResult } from './scalerMonitoring';
import { numberIn, optionalBoolean, ownOptions, rejectUnknownKeys } from '../validate';
import { allReduce, getWorldSize, isInitialized } from '../distributed/processGroup';

/** Options of {@link GradScaler}. */
export interface GradScalerOptions {
  /** The device type of the training ('cuda' by default, as PyTorch; 'cpu' on machines without a GPU). */
  device?: AutocastDeviceType;
  /** The first scale (default 65536): a finite, normal float32 (from 2^-126 to about 3.4e38). */
  initScale?: number;
  /** Multiplies the scale after `growthInterval` clean steps (default 2; must be > 1). */
  growthFactor?: number;
  /** Multiplies the scale after an overflow (default 0.5; must be in (0, 1)). */
  backoffFactor?: number;
  /** Clean steps between growths (default 2000). */
  growthInterval?: number;
  /** False makes every method a pass-through: `scale` returns its input, `step` calls `optimizer.step()` (default true). */
  enabled?: boolean;
  /** Consecutive overflowing steps tolerated before backing off, as DeepSpeed (default 1: back off at once). Steps still skip. */
  hysteresis?: number;
  /**
   * The scale never backs off below this floor (default: 2^-126, the smallest normal float32,
   * below which 1/scale is infinite and every unscaled gradient would become inf/NaN). A normal
   * float32 >= 2^-126. PyTorch has no floor; see docs/gradScaler.md.
   */
  minScale?: number;
  /** The scale never grows above this (default: no bound). */
  maxScale?: number;
  /**
   * What happens when a backoff would go below `minScale`: the scale holds at `minScale` in all
   * cases (the clamp happens in the device's update kernel); 'warn' (default) also emits a
   * warning, 'throw' makes the next scaler call throw, 'hold' only holds. With `minScale` given,
   * noticing it takes one asynchronous read after each update; at the default floor no read is
   * added, and the hit is noticed where the scaler reads the device anyway (`getScale`,
   * `statistics`, `stateDict`, and the update events when someone listens).
   */
  onFloor?: 'warn' | 'throw' | 'hold';
  /**
   * With an initialized process group of more than one rank (`mp.distributed`), agree on
   * found-inf across ranks (default true): each check's flag is all-reduced (max) on the device
   * before the step, so every rank skips or applies the same step and the scale and growth
   * tracker stay identical everywhere (as PyTorch's ShardedGradScaler). False keeps every
   * rank's decision local, for ranks training independent models.
   */
  distributed?: boolean;
}

/** The state in PyTorch's keys, so checkpoints move between the two. */
export interface GradScalerStateDict {
  scale: number;
  growth_factor: number;
  backoff_factor: number;
  growth_interval: number;
  _growth_tracker: number;
  /**
   * mixprec's key, present only when `hysteresis > 1`: overflows still tolerated before the next
   * backoff. PyTorch's `load_state_dict` ignores it; absent, it resets to `hysteresis`.
   */
  _hysteresis_left?: number;
}

type Stage = 'ready' | 'unscaled' | 'stepped';

/** One optimizer's checks in the current iteration. */
interface IterationState {
  stage: Stage;
  /** Found-inf flags, one float32 scalar per device. */
  foundInf: Map<Device, Tensor>;
  /** Per (device, dtype) group: the parameters checked and one flag per parameter. */
  flags: OverflowFlags[];
  /** What the step passed to the optimizer as its found-inf (for `applied`). */
  stepFoundInf?: Tensor;
}


/**
 * Dynamic loss scaling. The recipe (two lines changed from a float32 loop):
 *
 * @example
 * ```ts
 * const model = new mp.nn.Linear(4, 3).cuda();
 * const opt = new mp.optim.SGD(model.parameters(), { lr: 0.1 });
 * const loader = [[mp.randn([2, 4], { device: 'cuda' }), mp.tensor([0, 2], { dtype: 'int32', device: 'cuda' })]];
 * const scaler = new mp.amp.GradScaler({ device: 'cuda' });
 * for (const [x, y] of loader) {
 *   opt.zeroGrad();
 *   const loss = mp.amp.autocast({ deviceType: 'cuda' }, () => mp.nn.functional.crossEntropy(model.forward(x), y));
 *   scaler.scale(loss).backward();
 *   scaler.step(opt);          // skipped on the device if a gradient overflowed
 *   scaler.update();
 * }
 * scaler.on('skip', ({ step, scale }) => console.log(`step ${step} skipped, scale now ${scale}`));
 * ```
 */
export class GradScaler extends EventEmitter {
  private readonly enabled: boolean;
  private readonly device: AutocastDeviceType;
  private initScale: number;
  private growthFactor: number;
  private backoffFactor: number;
  private growthInterval: number;
  private initGrowthTracker = 0;
  private initHysteresisLeft: number | undefined;
  private readonly hysteresis: number;
  private readonly minScale: number;
  private readonly maxScale: number;
  private readonly onFloor: 'warn' | 'throw' | 'hold';
  private readonly distributed: boolean;
  private scaleTensor: Tensor | undefined;
  private tracker: Tensor | undefined;
  private hysteresisLeft: Tensor | undefined;
  private stats: Tensor | undefined;
  private iteration = new Map<Optimizer<{ lr: number }>, IterationState>();
  private previous = new Map<Optimizer<{ lr: number }>, IterationState>();
  private floorError: Error | undefined;
  /** Whether `minScale` was given (then every update watches the floor with an asynchronous read). */
  private readonly floorWatched: boolean;
  /** The floor hits already reported (the device counter only grows). */
  private floorHitsReported = 0;

  constructor(options: GradScalerOptions = {}) {
    super();
    const op = 'GradScaler';
    if (typeof options !== 'object' || options === null) throw argTypeError(op, 'options', 'an options object', options);
    options = ownOptions(options);
    rejectUnknownKeys(op, options, ['device', 'initScale', 'growthFactor', 'backoffFactor', 'growthInterval', 'enabled', 'hysteresis', 'minScale', 'maxScale', 'onFloor', 'distributed'], MixprecError);
    this.device = checkDeviceType(op, options.device ?? 'cuda', 'options.device');
    let enabled = optionalBoolean(op, 'options.enabled', options.enabled, true);
    this.initScale = numberIn(op, 'options.initScale', options.initScale, 65536, isNormalFloat32, NORMAL_SCALE);
    this.growthFactor = numberIn(op, 'options.growthFactor', options.growthFactor, 2, validGrowthFactor, 'a finite number > 1');
    this.backoffFactor = numberIn(op, 'options.backoffFactor', options.backoffFactor, 0.5, validBackoffFactor, 'a number in (0, 1)');
    this.growthInterval = numberIn(op, 'options.growthInterval', options.growthInterval, 2000, (x) => Number.isInteger(x) && x >= 1 && x < 2 ** 31, 'a positive integer');
    this.hysteresis = numberIn(op, 'options.hysteresis', options.hysteresis, 1, (x) => Number.isInteger(x) && x >= 1 && x < 2 ** 31, 'a positive integer');
    this.floorWatched = options.minScale !== undefined;
    this.minScale = numberIn(op, 'options.minScale', options.minScale, MIN_NORMAL_FLOAT32, isNormalFloat32, NORMAL_SCALE);
    this.maxScale = numberIn(op, 'options.maxScale', options.maxScale, Infinity, (x) => x >= this.minScale, `a number >= minScale (${this.minScale})`);
    if (options.onFloor !== undefined && !['warn', 'throw', 'hold'].includes(options.onFloor)) {
      throw argTypeError(op, 'options.onFloor', "'warn', 'throw' or 'hold'", options.onFloor);
    }
    this.onFloor = options.onFloor ?? 'warn';
    this.distributed = optionalBoolean(op, 'options.distributed', options.distributed, true);
    if (enabled && this.device === 'cuda' && !cuda.isAvailable()) {
      process.emitWarning("GradScaler: device 'cuda' was requested but CUDA is not available; the scaler is disabled (pass { device: 'cpu' } to scale on the CPU)", { type: 'MixprecWarning', code: 'MIXPREC_SCALER_DISABLED' });
      enabled = false;
    }
    this.enabled = enabled;
  }

  /** Whether the scaler scales (false when constructed disabled, or for CUDA without a GPU). */
  isEnabled(): boolean {
    return this.enabled;
  }

  /**
   * `outputs` multiplied by the scale: a tensor, or arrays / plain objects of tensors (structure
   * kept). The scale tensor is created on the first call, on the first tensor's device.
   */
  scale<T>(outputs: T): T {
    if (!this.enabled) return outputs;
    this.throwIfFloored();
    const copies = new Map<Device, Tensor>();
    const visit = (v: unknown): unknown => {
      if (v instanceof Tensor) {
        v.assertAlive('GradScaler.scale', 'outputs');
        const scale = this.scaleOn(v.device, copies);
        return mul(v, scale);
      }
      if (Array.isArray(v)) return v.map(visit);
      if (typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype) {
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, visit(x)]));
      }
      throw new MixprecError('ERR_INVALID_ARG', `GradScaler.scale: outputs must be a Tensor or arrays/objects of Tensors, got ${v === null ? 'null' : typeof v}`);
    };
    try {
      return visit(outputs) as T;
    } finally {
      for (const c of copies.values()) if (c !== this.scaleTensor) c.dispose();
    }
  }

  /**
   * Divides `optimizer`'s gradients by the scale in place (one fused pass per device and dtype
   * that also records inf/NaN), e.g. before clipping. At most once per optimizer per iteration,
   * after all of its gradients are accumulated; `step` then does not unscale again.
   */
  unscale(optimizer: Optimizer<{ lr: number }>): void {
    if (!this.enabled) return;
    const op = 'GradScaler.unscale';
    this.throwIfFloored();
    const scale = this.requireScale(op);
    const state = this.stateOf(op, optimizer);
    if (state.stage === 'unscaled') throw new MixprecError('ERR_INVALID_ARG', `${op}: unscale() has already been called on this optimizer since the last update()`);
    if (state.stage === 'stepped') throw new MixprecError('ERR_INVALID_ARG', `${op}: unscale() is being called after step(); call it before step() in the same iteration`);
    this.check(state, optimizer, scale);
    state.stage = 'unscaled';
  }

  /**
   * Steps `optimizer` unless its gradients had an inf/NaN — decided on the device, inside the
   * optimizer's kernel, with no host read. Without a prior `unscale`, float32/bfloat16 gradients
   * are unscaled in place first; when a gradient is float16 the optimizer divides by the scale in
   * float32 inside its kernel instead (its `.grad` then stays scaled), so small float16
   * gradients are not flushed to zero.
   */
  step(optimizer: Optimizer<{ lr: number }>, ...rest: unknown[]): ScalerStepResult {
    const op = 'GradScaler.step';
    if (rest.some((r) => typeof r === 'function' || (typeof r === 'object' && r !== null && 'closure' in r))) {
      throw new MixprecError('ERR_INVALID_ARG', `${op}: closures are not supported with a gradient scaler (the step must be skippable on the device)`);
    }
    if (rest.length > 0) throw new MixprecError('ERR_INVALID_ARG', `${op}: takes only the optimizer, got ${rest.length} more argument(s)`);
    if (!this.enabled) {
      optimizer.step();
      return { applied: Promise.resolve(true) };
    }
    this.throwIfFloored();
    const scale = this.requireScale(op);
    const state = this.stateOf(op, optimizer);
    if (state.stage === 'stepped') throw new MixprecError('ERR_INVALID_ARG', `${op}: step() has already been called on this optimizer since the last update()`);
    let gradScale: Tensor | undefined;
    if (state.stage === 'ready') {
      const withGrads = optimizer.paramGroups.flatMap((g) => g.params).filter((p) => p.grad !== undefined);
      const float16 = withGrads.some((p) => p.grad!.dtype === 'float16');
      this.check(state, optimizer, float16 ? undefined : scale);
      if (float16) gradScale = scale;
    }
    const foundInf = this.combined([...state.foundInf.values()], scale.device);
    state.stepFoundInf = foundInf;
    optimizer.step({ gradScale, foundInf });
    state.stage = 'stepped';
    return new StepResult(op, foundInf);
  }

  /**
   * Updates the scale from every optimizer's inf/NaN checks of this iteration (back off if any
   * overflowed, grow after `growthInterval` clean updates), on the device. With `newScale` (a
   * number, or a one-element float tensor) the scale is set instead. Call once per iteration,
   * after every `step`.
   */
  update(newScale?: number | Tensor): void {
    if (!this.enabled) return;
    const op = 'GradScaler.update';
    this.throwIfFloored();
    const scale = this.requireScale(op);
    if (newScale !== undefined) {
      this.setScale(op, scale, newScale);
    } else {
      const found = [...this.iteration.values()].flatMap((s) => [...s.foundInf.values()]);
      if (found.length === 0) {
        throw new MixprecError('ERR_INVALID_ARG', `${op}: no inf checks were recorded this iteration; call scaler.step(optimizer) (or unscale) before update()`);
      }
      const total = this.combined(found, scale.device);
      ampUpdateScale({ scale, tracker: this.tracker!, hysteresisLeft: this.hysteresisLeft!, foundInf: total, stats: this.stats! }, {
        growthFactor: this.growthFactor, backoffFactor: this.backoffFactor, growthInterval: this.growthInterval,
        hysteresis: this.hysteresis, minScale: this.minScale, maxScale: this.maxScale });
      if (!found.includes(total)) total.dispose();
      for (const t of [scale, this.tracker!, this.hysteresisLeft!, this.stats!]) t.markModified();
      reportEvents(this, this.stats!, scale, { minScale: this.minScale, onFloor: this.floorWatched ? this.onFloor : 'hold', fail: (e) => (this.floorError = e) });
    }
    this.endIteration();
  }

  /** The current scale (a host read: avoid it inside the training loop). 1 when disabled. */
  getScale(): number {
    if (!this.enabled) return 1;
    if (!this.scaleTensor) return this.initScale;
    const value = this.scaleTensor.item() as number;
    // Only a scale at the floor can have hit it: the counters are read only then.
    if (value <= this.minScale) this.noticeFloor(this.stats!.dataSync()[FLOOR_HITS_SLOT] as number);
    return value;
  }

  /**
   * The scaler's device counters and scale in one asynchronous read (zeros before the first
   * update).
   * @example `const { skippedSteps, scale } = await new mp.amp.GradScaler({ device: 'cpu' }).statistics();`
   */
  async statistics(): Promise<ScalerStatistics> {
    if (!this.enabled || !this.stats) return { steps: 0, skippedSteps: 0, growths: 0, backoffs: 0, floorHits: 0, scale: this.getScale() };
    const statistics = await readStatistics(this.stats, this.scaleTensor!);
    this.noticeFloor(statistics.floorHits);
    return statistics;
  }

  /**
   * The parameters whose gradients had an inf/NaN in the last completed iteration (one
   * asynchronous read of the per-tensor flags the fused kernel wrote). Pass the model to get
   * names from `namedParameters()`.
   */
  lastOverflow(model?: Module): Promise<OverflowReport[]> {
    return overflowReports(this.previous, model);
  }

  getGrowthFactor(): number {
    return this.growthFactor;
  }
  setGrowthFactor(value: number): void {
    this.growthFactor = requiredNumber('GradScaler.setGrowthFactor', 'value', value, validGrowthFactor, 'a finite number > 1');
  }
  getBackoffFactor(): number {
    return this.backoffFactor;
  }
  setBackoffFactor(value: number): void {
    this.backoffFactor = requiredNumber('GradScaler.setBackoffFactor', 'value', value, validBackoffFactor, 'a number in (0, 1)');
  }
  getGrowthInterval(): number {
    return this.growthInterval;
  }
  setGrowthInterval(value: number): void {
    this.growthInterval = requiredNumber('GradScaler.setGrowthInterval', 'value', value, (x) => Number.isInteger(x) && x >= 1 && x < 2 ** 31, 'a positive integer');
  }

  /** The state in PyTorch's keys (reads the scale and tracker: call it after `update()`). `{}` when disabled. */
  stateDict(): GradScalerStateDict | Record<string, never> {
    if (!this.enabled) return {};
    return {
      scale: this.getScale(),
      growth_factor: this.growthFactor,
      backoff_factor: this.backoffFactor,
      growth_interval: this.growthInterval,
      _growth_tracker: this.tracker ? (this.tracker.item() as number) : this.initGrowthTracker,
      ...(this.hysteresis > 1 && { _hysteresis_left: this.hysteresisLeft ? (this.hysteresisLeft.item() as number) : this.initHysteresisLeft ?? this.hysteresis }),
    };
  }

  /** Restores {@link stateDict}'s result (also one saved by PyTorch). A no-op when disabled. */
  loadStateDict(state: GradScalerStateDict): void {
    if (!this.enabled) return;
    const op = 'GradScaler.loadStateDict';
    if (typeof state !== 'object' || state === null) throw argTypeError(op, 'state', 'a state dict object', state);
    if (Object.keys(state).length === 0) {
      throw new MixprecError('ERR_INVALID_ARG', `${op}: the state dict is empty, possibly because it was saved from a disabled GradScaler`);
    }
    const keys = ['scale', 'growth_factor', 'backoff_factor', 'growth_interval', '_growth_tracker'] as const;
    for (const k of keys) {
      if (typeof state[k] !== 'number') throw argTypeError(op, `state.${k}`, 'a number', state[k]);
    }
    this.initScale = numberIn(op, 'state.scale', state.scale, 1, isNormalFloat32, NORMAL_SCALE);
    this.setGrowthFactor(state.growth_factor);
    this.setBackoffFactor(state.backoff_factor);
    this.setGrowthInterval(state.growth_interval);
    this.initGrowthTracker = numberIn(op, 'options._growth_tracker', state._growth_tracker, 0, (x) => Number.isInteger(x) && x >= 0, 'a non-negative integer');
    this.initHysteresisLeft = state._hysteresis_left === undefined ? undefined
      : numberIn(op, 'state._hysteresis_left', state._hysteresis_left, this.hysteresis, (x) => Number.isInteger(x) && x >= 1 && x <= this.hysteresis, `an integer in [1, hysteresis = ${this.hysteresis}]`);
    noGrad(() => {
      this.scaleTensor?.fill_(this.initScale);
      this.tracker?.fill_(this.initGrowthTracker);
      this.hysteresisLeft?.fill_(this.initHysteresisLeft ?? this.hysteresis);
    });
  }

  /** Frees the scaler's device tensors (scale, counters, the last iterations' flags). */
  dispose(): void {
    this.endIteration();
    this.endIteration();
    for (const t of [this.scaleTensor, this.tracker, this.hysteresisLeft, this.stats]) if (t && !t.isDisposed) t.dispose();
    this.scaleTensor = this.tracker = this.hysteresisLeft = this.stats = undefined;
  }

  private scaleOn(device: Device, copies: Map<Device, Tensor>): Tensor {
    if (!this.scaleTensor) this.createState(device);
    const scale = this.scaleTensor!;
    if (scale.device === device) return scale;
    let c = copies.get(device);
    if (!c) copies.set(device, (c = scale.to(device)));
    return c;
  }

  private createState(device: Device): void {
    this.scaleTensor = keep(full([], this.initScale, { device }));
    this.tracker = keep(full([], this.initGrowthTracker, { dtype: 'int32', device }));
    this.hysteresisLeft = keep(full([], this.initHysteresisLeft ?? this.hysteresis, { dtype: 'int32', device }));
    this.stats = keep(zeros([STAT_SLOTS], { dtype: 'int32', device }));
  }

  private requireScale(op: string): Tensor {
    if (!this.scaleTensor) {
      throw new MixprecError('ERR_INVALID_ARG', `${op}: the scale does not exist yet; call scaler.scale(loss) (and backward) earlier in the iteration`);
    }
    return this.scaleTensor;
  }

  private stateOf(op: string, optimizer: Optimizer<{ lr: number }>): IterationState {
    if (typeof optimizer !== 'object' || optimizer === null || !Array.isArray((optimizer as { paramGroups?: unknown }).paramGroups)) {
      throw argTypeError(op, 'optimizer', 'an optimizer (mp.optim.SGD, Adam, AdamW)', optimizer);
    }
    let s = this.iteration.get(optimizer);
    if (!s) this.iteration.set(optimizer, (s = { stage: 'ready', foundInf: new Map(), flags: [] }));
    return s;
  }

  /** The fused check (and unscale, when `scale` is given) of every gradient of `optimizer`. */
  private check(state: IterationState, optimizer: Optimizer<{ lr: number }>, scale: Tensor | undefined): void {
    const params = optimizer.paramGroups.flatMap((g) => g.params).filter((p) => p.grad !== undefined && !p.grad.isDisposed);
    for (const { device, dtype, items } of groupByDeviceDtype(params, (p) => p.grad!)) {
      if (!isFloatingPoint(dtype)) continue;
      let found = state.foundInf.get(device);
      if (!found) state.foundInf.set(device, (found = keep(zeros([], { device }))));
      const flags = keep(zeros([items.length], { device }));
      state.flags.push({ params: items, flags });
      const grads = items.map((p) => p.grad!);
      const foundInf = found;
      withScalarOn(scale, device, (s) => ampUnscale(dtype, grads, s, foundInf, flags));
      if (scale) for (const g of grads) g.markModified();
    }
    if (state.foundInf.size === 0) {
      // No gradients: nothing overflowed (PyTorch asserts here; an empty check is harmless).
      const device = this.scaleTensor!.device;
      state.foundInf.set(device, keep(zeros([], { device })));
    }
    if (this.distributed && isInitialized() && getWorldSize() > 1) this.agreeAcrossRanks(state);
  }

  /**
   * Replaces this check's found-inf flags by one flag on the scale's device holding the max over
   * every rank's flags (an all-reduce on the device: no host read), so all ranks decide alike.
   */
  private agreeAcrossRanks(state: IterationState): void {
    const device = this.scaleTensor!.device;
    const local = [...state.foundInf.values()];
    const total = this.combined(local, device);
    allReduce(total, { op: 'max' });
    for (const f of local) if (f !== total) f.dispose();
    state.foundInf = new Map([[device, total]]);
  }

  /** The sum of found-inf flags on `device` (the tensor itself when there is one on it). */
  private combined(found: Tensor[], device: Device): Tensor {
    if (found.length === 1 && found[0].device === device) return found[0];
    return keep(tidy(() => noGrad(() => found.map((f) => f.to(device)).reduce((a, b) => a.add(b)))));
  }

  private setScale(op: string, scale: Tensor, value: number | Tensor): void {
    if (typeof value === 'number') {
      if (!isNormalFloat32(value)) throw argRangeError(op, 'newScale', NORMAL_SCALE, value);
      noGrad(() => scale.fill_(value));
      return;
    }
    if (!(value instanceof Tensor)) throw argTypeError(op, 'newScale', 'a number or a one-element float32 tensor', value);
    value.assertAlive(op, 'newScale');
    if (value.numel !== 1 || value.dtype !== 'float32' || value.requiresGrad || value.device.type !== scale.device.type) {
      throw argTypeError(op, 'newScale', `a one-element float tensor of dtype float32 (as PyTorch's) on ${scale.device.type} that does not require grad`, value);
    }
    // The one host read of the tensor form: its value is checked like the number form's.
    const v = value.item() as number;
    if (!isNormalFloat32(v)) throw argRangeError(op, 'newScale', NORMAL_SCALE, v);
    tidy(() => noGrad(() => scale.copy_(value.to({ device: scale.device }).reshape([]))));
  }

  /** Frees the iteration before last and starts a new one (results stay readable for one more). */
  private endIteration(): void {
    for (const state of this.previous.values()) {
      for (const t of [...state.foundInf.values(), ...state.flags.map((f) => f.flags), state.stepFoundInf]) if (t && !t.isDisposed) t.dispose();
    }
    this.previous = this.iteration;
    this.iteration = new Map();
  }

  private throwIfFloored(): void {
    if (this.floorError) throw this.floorError;
  }

  /**
   * Reports floor hits of the default floor, counted on the device, once they are read by a call
   * that reads the device anyway (a watched `minScale` reports through `reportEvents` instead).
   */
  private noticeFloor(floorHits: number): void {
    if (this.floorWatched || floorHits <= this.floorHitsReported) return;
    this.floorHitsReported = floorHits;
    const message = `GradScaler: the loss scale hit its floor (the smallest normal float32, ${MIN_NORMAL_FLOAT32}) ${floorHits} time(s): gradients keep overflowing and those steps were skipped; check the model for inf/NaN activations or lower the learning rate`;
    if (this.onFloor === 'warn') process.emitWarning(message, { type: 'MixprecWarning', code: 'MIXPREC_SCALE_FLOOR' });
    else if (this.onFloor === 'throw') this.floorError = new MixprecError('ERR_NONFINITE', message);
  }
}

/** The smallest normal float32, 2^-126: the scale's default and lowest floor. */
const MIN_NORMAL_FLOAT32 = 2 ** -126;
const NORMAL_SCALE = 'a finite number > 0 stored as a normal float32 (from 2^-126 = 1.1754943508222875e-38 to 3.4028234663852886e38)';

/** Whether `x` is stored as a finite, normal, positive float32 (so 1/x is finite too). */
function isNormalFloat32(x: number): boolean {
  const f = Math.fround(x);
  return f >= MIN_NORMAL_FLOAT32 && Number.isFinite(f);
}

function validGrowthFactor(x: number): boolean {
  return x > 1 && Number.isFinite(x);
}

function validBackoffFactor(x: number): boolean {
  return x > 0 && x < 1;
}

/** A number `accept` approves; unlike `numberIn`, undefined is refused (a setter needs a value). */
function requiredNumber(op: string, arg: string, v: unknown, accept: (x: number) => boolean, expected: string): number {
  if (typeof v !== 'number' || !accept(v)) throw argRangeError(op, arg, expected, v);
  return v;
}
