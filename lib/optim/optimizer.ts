/**
 * The optimizer base: parameter groups, lazily created state kept on the parameters' devices,
 * zeroGrad, step (one native multi-tensor call per group, device and dtype, through the float32
 * masters of `masterWeights.ts` for 16-bit parameters), and state dicts in PyTorch's shape.
 */
import { zeroGrads } from '../autograd/zeroGrad';
import { zeros } from '../creation';
import type { Device } from '../device';
import type { DType } from '../dtype';
import { argRangeError, argTypeError, describe, MixprecError, MixprecRangeError, MixprecTypeError } from '../errors';
import { keep, tidy } from '../memory';
import { checkDeviceScalar, groupByDeviceDtype, withScalarOn } from '../ops/multiTensor';
import { castInto, Tensor } from '../tensor';
import { MASTER_PARAM_KEY, MasterWeights, withFloat32Grads } from './masterWeights';
import { booleanArg, isOptionsObject, numberArg } from '../validate';

/** A parameter group: its parameters and its hyper-parameters, which schedulers may edit. */
export type ParamGroup<O> = O & { params: Tensor[] };

/** A parameter group as given to a constructor: hyper-parameters it omits come from the options. */
export type ParamGroupInput<O> = Partial<O> & { params: Tensor | Iterable<Tensor> };

/** What optimizers take: parameters, or parameter groups. */
export type Params<O> = Iterable<Tensor> | Iterable<ParamGroupInput<O>>;

/**
 * One parameter's state: its step counter (float32, on its device) and buffers of its dtype —
 * or, with {@link OptimizerOptions.masterWeights} and a float16/bfloat16 parameter, buffers in
 * float32 and the float32 master copy under {@link MASTER_PARAM_KEY}.
 */
export type ParamState = Record<string, Tensor>;

/** Options every optimizer takes besides its hyper-parameters. */
export interface OptimizerOptions {
  /**
   * Keep a float32 master copy of every float16/bfloat16 parameter (default false). The update
   * runs on the master, with float32 moments and the gradient read in float32, and the
   * parameter receives the master rounded to its dtype, so updates smaller than half a unit in
   * the last place of the 16-bit weight accumulate instead of being lost. float32 and float64
   * parameters are updated as without the option. An optimizer-wide setting (not per group).
   */
  masterWeights?: boolean;
}

/** {@link Optimizer.stateDict}'s result: state by parameter index, and the groups' hyper-parameters. */
export interface OptimizerStateDict<O = Record<string, unknown>> {
  state: Record<number, ParamState>;
  paramGroups: (O & { params: number[] })[];
}

/** Options of {@link Optimizer.step}: the device scalars a gradient scaler passes. */
export interface StepOptions {
  /** float32 one-element tensor: gradients are divided by it inside the kernel (they stay as they are). */
  gradScale?: Tensor;
  /** float32 one-element tensor: when non-zero, parameters, state and step counters are left untouched. */
  foundInf?: Tensor;
}

/** What a subclass's kernel call receives for one (group, device, dtype). */
export interface KernelCall<O> {
  group: ParamGroup<O>;
  device: Device;
  /** The dtype of every tensor of the call: float32 when the tensors updated are masters. */
  dtype: DType;
  /** The tensors to update: the parameters, or their float32 master copies. */
  params: Tensor[];
  /** Their gradients, in `dtype` (float32 copies of a 16-bit parameter's gradient for masters). */
  grads: Tensor[];
  states: ParamState[];
  gradScale: Tensor | undefined;
  foundInf: Tensor | undefined;
}

/**
 * Base class of {@link SGD}, {@link Adam} and {@link AdamW}. Subclasses give the defaults, the
 * hyper-parameter checks, the state a group needs and the native call.
 *
 * @example
 * ```ts
 * const model = new mp.nn.Linear(2, 2);
 * const body = [mp.zeros([2]).requiresGrad_()];
 * const head = [mp.zeros([1]).requiresGrad_()];
 * const opt = new mp.optim.Adam([{ params: body, lr: 1e-4 }, { params: head }], { lr: 1e-3 });
 * opt.zeroGrad();
 * // ... backward ...
 * opt.step();
 * opt.paramGroups[0].lr *= 0.5; // what a scheduler does
 *
 * // float16 weights updated through float32 masters (apex O2's optimizer side):
 * const half = new mp.optim.AdamW(model.half().parameters(), { lr: 1e-4, masterWeights: true });
 * ```
 */
export abstract class Optimizer<O extends { lr: number }> {
  /** The groups, in order; their hyper-parameters may be edited between steps. */
  readonly paramGroups: ParamGroup<O>[] = [];
  /** Each parameter's state, created on its first step. */
  readonly state = new Map<Tensor, ParamState>();
  /** The hyper-parameters groups fall back on. */
  readonly defaults: Partial<O>;
  readonly #masters: MasterWeights;

  protected constructor(
    /** The class name, for messages. */
    protected readonly name: string,
    params: Params<O>,
    defaults: Partial<O> & OptimizerOptions,
  ) {
    if (!isOptionsObject(defaults)) throw argTypeError(name, 'options', 'an options object', defaults);
    const { masterWeights, ...hyper } = defaults;
    this.defaults = hyper as Partial<O>;
    this.#masters = new MasterWeights(masterWeights === undefined ? false : check.boolean(name, 'options', 'masterWeights', masterWeights));
    if (params instanceof Tensor) {
      throw argTypeError(name, 'params', 'an iterable of Tensors or of parameter groups (wrap a single tensor in an array)', params);
    }
    if (typeof params !== 'object' || params === null || typeof (params as Iterable<unknown>)[Symbol.iterator] !== 'function') {
      throw argTypeError(name, 'params', 'an iterable of Tensors or of parameter groups', params);
    }
    const list = [...(params as Iterable<unknown>)];
    if (list.length === 0) throw argRangeError(name, 'params', 'a non-empty list (the optimizer got an empty parameter list)', list);
    if (list[0] instanceof Tensor) {
      this.addGroup({ params: list }, 'options', 'params');
    } else {
      list.forEach((g, i) => this.addGroup(g, `params[${i}]`, `params[${i}].params`));
    }
  }

  /** Fills `group`'s missing hyper-parameters and checks them; `where` names it in errors. */
  protected abstract resolve(group: Record<string, unknown>, where: string): O;

  /** Names of the state a parameter needs under `group`'s options (`step` is a float32 counter). */
  protected abstract stateKeys(group: O): string[];

  /** State keys {@link loadStateDict} accepts, and those it requires (given the group). */
  protected abstract loadableKeys(group: O): { allowed: string[]; required: string[] };

  /** Runs the native step for one (group, device, dtype). */
  protected abstract runKernel(call: KernelCall<O>): void;

  /**
   * Whether float16/bfloat16 parameters are updated through float32 master copies (see
   * {@link OptimizerOptions.masterWeights}). It may be changed only while the optimizer holds no
   * state (before the first step and before {@link loadStateDict}); `mp.amp.prepare` sets it.
   *
   * @example
   * ```ts
   * const model = new mp.nn.Linear(2, 2);
   * const opt = new mp.optim.SGD(model.parameters(), { lr: 0.1 });
   * opt.masterWeights = true; // before the first step
   * ```
   */
  get masterWeights(): boolean {
    return this.#masters.enabled;
  }

  set masterWeights(value: boolean) {
    const v = check.boolean(this.name, this.name, 'masterWeights', value);
    if (v !== this.#masters.enabled && this.state.size > 0) {
      throw new MixprecError('ERR_INVALID_ARG', `${this.name}.masterWeights: cannot change to ${v} while the optimizer holds state for ${this.state.size} parameters (set it before the first step and before loadStateDict, or in the constructor's options)`);
    }
    this.#masters.enabled = v;
  }

  /**
   * Adds a parameter group; hyper-parameters it omits come from the constructor's options.
   *
   * @example
   * ```ts
   * const opt = new mp.optim.SGD([mp.zeros([2]).requiresGrad_()], { lr: 0.1 });
   * const newLayer = new mp.nn.Linear(2, 2);
   * opt.addParamGroup({ params: [newLayer.weight], lr: 1e-4 });
   * ```
   */
  addParamGroup(group: ParamGroupInput<O>): void {
    this.addGroup(group, 'group', 'group.params');
  }

  /** `where` names the group's hyper-parameters in errors, `paramsWhere` its parameter list. */
  private addGroup(input: unknown, where: string, paramsWhere: string): void {
    if (!isOptionsObject(input) || !('params' in input)) {
      throw argTypeError(this.name, where, 'a Tensor or a parameter group {params, ...options}', input);
    }
    const raw = input.params instanceof Tensor ? [input.params] : input.params;
    if (typeof raw !== 'object' || raw === null || typeof (raw as Iterable<unknown>)[Symbol.iterator] !== 'function') {
      throw argTypeError(this.name, paramsWhere, 'a Tensor or an iterable of Tensors', raw);
    }
    if ('masterWeights' in input) {
      throw new MixprecTypeError('ERR_INVALID_ARG', `${this.name}: ${where}.masterWeights is an optimizer option, not a parameter group option (pass it in the constructor's options: new ${this.name}(params, { masterWeights: true }))`);
    }
    const params = [...(raw as Iterable<unknown>)].map((p, i) => this.checkParam(p, `${paramsWhere}[${i}]`));
    if (params.length === 0) throw argRangeError(this.name, paramsWhere, 'a non-empty list of parameters', params);
    const seen = new Set(this.paramGroups.flatMap((g) => g.params));
    params.forEach((p, i) => {
      if (seen.has(p)) {
        throw new MixprecError('ERR_INVALID_ARG', `${this.name}: ${paramsWhere}[${i}] appears more than once in the parameter groups (each parameter may be optimized once)`);
      }
      seen.add(p);
    });
    const rest = Object.fromEntries(Object.entries(input).filter(([k]) => k !== 'params'));
    const resolved = this.resolve({ ...this.defaults, ...rest }, where);
    this.paramGroups.push({ ...resolved, params });
  }

  private checkParam(value: unknown, where: string): Tensor {
    if (!(value instanceof Tensor)) throw argTypeError(this.name, where, 'a Tensor', value);
    value.assertAlive(this.name, where);
    if (!value.isFloatingPoint()) throw argTypeError(this.name, where, 'a floating-point tensor', value, 'ERR_INVALID_DTYPE');
    if (!value.isLeaf) throw argTypeError(this.name, where, "a leaf tensor (can't optimize a tensor computed by recorded ops)", value);
    return value;
  }

  /**
   * Clears the gradients of every parameter. With `setToNone` (the default) each `grad` is
   * disposed and becomes undefined — don't keep using a gradient after this; otherwise the
   * gradients are zero-filled in place.
   *
   * @example
   * ```ts
   * const opt = new mp.optim.SGD([mp.zeros([2]).requiresGrad_()], { lr: 0.1 });
   * opt.zeroGrad();                      // grads become undefined
   * opt.zeroGrad({ setToNone: false });  // grads become zeros
   * ```
   */
  zeroGrad(options?: { setToNone?: boolean }): void {
    zeroGrads(`${this.name}.zeroGrad`, this.paramGroups.flatMap((g) => g.params), options);
  }

  /**
   * Updates every parameter that has a gradient (the others are skipped): one native call per
   * group, device and dtype, with no host read. `gradScale` and `foundInf` are what a gradient
   * scaler passes (see {@link StepOptions}); they are copied to each parameter device as needed.
   *
   * With {@link masterWeights}, a float16/bfloat16 parameter's update runs on its float32 master
   * (created from the parameter on its first step): the gradient is read through a temporary
   * float32 copy, the float32 kernel updates the master and its float32 state, and the master
   * rounded to the parameter's dtype is written into the parameter (one native cast). When
   * `foundInf` skips the step the master is unchanged, so the write-back stores the parameter's
   * own value again. A parameter written by something else since the last step (init,
   * `Module.loadStateDict`, `copy_`: its storage version changed) first has its master
   * re-synced: elements where the parameter no longer equals the rounded master take the
   * parameter's value, the others keep the master's extra bits.
   *
   * @example
   * ```ts
   * const opt = new mp.optim.SGD([mp.zeros([2]).requiresGrad_()], { lr: 0.1 });
   * const scale = mp.tensor([1024]);
   * const foundInf = mp.zeros([1]);
   * opt.step();
   * opt.step({ gradScale: scale, foundInf }); // skipped on device when foundInf != 0
   * ```
   */
  step(options: StepOptions = {}): void {
    const op = `${this.name}.step`;
    if (!isOptionsObject(options)) throw argTypeError(op, 'options', 'an object {gradScale?, foundInf?}', options);
    const gradScale = options.gradScale === undefined ? undefined : checkDeviceScalar(op, 'gradScale', options.gradScale);
    const foundInf = options.foundInf === undefined ? undefined : checkDeviceScalar(op, 'foundInf', options.foundInf);
    this.paramGroups.forEach((group, gi) => {
      // Schedulers and users edit groups between steps: check what this step will use.
      Object.assign(group, this.resolve(group, `paramGroups[${gi}]`));
      const live = group.params.filter((p, i) => {
        p.assertAlive(op, `paramGroups[${gi}].params[${i}]`);
        p.grad?.assertAlive(op, `paramGroups[${gi}].params[${i}].grad`);
        return p.grad !== undefined;
      });
      for (const { device, dtype, items } of groupByDeviceDtype(live, (p) => p)) {
        const masters = this.#masters.usedFor(dtype);
        const states = items.map((p) => this.ensureState(p, group));
        const run = (params: Tensor[], grads: Tensor[], kernelDtype: DType): void =>
          withScalarOn(gradScale, device, (scale) =>
            withScalarOn(foundInf, device, (inf) => {
              this.runKernel({ group, device, dtype: kernelDtype, params, grads, states, gradScale: scale, foundInf: inf });
            }),
          );
        if (masters) {
          withFloat32Grads(items, (grads32) => run(states.map((s) => s[MASTER_PARAM_KEY]), grads32, 'float32'));
          // Write back: the master rounded to the parameter's dtype, in place.
          items.forEach((p, i) => castInto(states[i][MASTER_PARAM_KEY], p));
        } else {
          run(items, items.map((p) => p.grad as Tensor), dtype);
        }
        items.forEach((p, i) => {
          p.markModified();
          for (const t of Object.values(states[i])) t.markModified();
        });
        // After every write of this call (parameters may share a storage): these versions hold
        // values that are their masters rounded.
        if (masters) this.#masters.markSynced(items);
      }
    });
  }

  /**
   * The state `p` needs under `group`'s options, creating (and keeping) what is missing; with a
   * master copy, buffers are float32 and the master is created or re-synced here.
   */
  private ensureState(p: Tensor, group: O): ParamState {
    let s = this.state.get(p);
    if (!s) {
      s = {};
      this.state.set(p, s);
    }
    const master = this.#masters.usedFor(p.dtype);
    if (master) this.#masters.ensure(p, s);
    for (const key of this.stateKeys(group)) {
      if (s[key] !== undefined) continue;
      s[key] = keep(key === 'step' ? zeros([], { device: p.device }) : zeros(p.shape, { dtype: master ? 'float32' : p.dtype, device: p.device }));
    }
    return s;
  }

  /**
   * The state and hyper-parameters in PyTorch's layout: parameters are numbered in group order;
   * `state[i]` holds parameter i's tensors (the optimizer's own, not copies: clone them to keep a
   * snapshot across later steps); `paramGroups[g].params` lists indices.
   *
   * @example
   * ```ts
   * const opt = new mp.optim.SGD([mp.zeros([2]).requiresGrad_()], { lr: 0.1 });
   * const other = new mp.optim.SGD([mp.zeros([2]).requiresGrad_()], { lr: 0.1 });
   * const sd = opt.stateDict();
   * other.loadStateDict(sd);
   * ```
   */
  stateDict(): OptimizerStateDict<O> {
    const state: Record<number, ParamState> = {};
    let index = 0;
    const paramGroups = this.paramGroups.map((group) => {
      const { params, ...hyper } = group;
      const indices = params.map((p) => {
        const s = this.state.get(p);
        if (s && Object.keys(s).length > 0) state[index] = { ...s };
        return index++;
      });
      return { ...copyHyper(hyper as unknown as O), params: indices };
    });
    return { state, paramGroups };
  }

  /**
   * Loads a {@link stateDict} (from this optimizer type, for parameters of the same shapes and
   * group layout): hyper-parameters are taken over, state tensors are copied to each parameter's
   * dtype and device (step counters as float32). Nothing changes when the dict is rejected.
   *
   * @example
   * ```ts
   * const model = new mp.nn.Linear(2, 2);
   * const saved = new mp.optim.Adam(model.parameters(), { lr: 1e-3 }).stateDict();
   * const resumed = new mp.optim.Adam(model.parameters(), { lr: 1e-3 });
   * resumed.loadStateDict(saved);
   * ```
   */
  loadStateDict(stateDict: OptimizerStateDict<O>): void {
    const op = `${this.name}.loadStateDict`;
    if (!isOptionsObject(stateDict)) throw argTypeError(op, 'stateDict', 'an object {state, paramGroups}', stateDict);
    const { state, paramGroups } = stateDict as unknown as Record<string, unknown>;
    if (!Array.isArray(paramGroups)) throw argTypeError(op, 'stateDict.paramGroups', 'an array of parameter groups', paramGroups);
    if (!isOptionsObject(state)) throw argTypeError(op, 'stateDict.state', 'an object of per-parameter state', state);
    if (paramGroups.length !== this.paramGroups.length) {
      throw new MixprecRangeError('ERR_INVALID_ARG', `${op}: the state dict has ${paramGroups.length} parameter groups but the optimizer has ${this.paramGroups.length}`);
    }
    const byIndex = new Map<number, { param: Tensor; group: O }>();
    const hypers = paramGroups.map((saved: unknown, gi) => {
      const where = `stateDict.paramGroups[${gi}]`;
      if (!isOptionsObject(saved) || !Array.isArray(saved.params)) throw argTypeError(op, where, 'a parameter group {params: number[], ...}', saved);
      const mine = this.paramGroups[gi];
      if (saved.params.length !== mine.params.length) {
        throw new MixprecRangeError('ERR_INVALID_ARG', `${op}: ${where} has ${saved.params.length} parameters but the optimizer's group ${gi} has ${mine.params.length}`);
      }
      const { params: indices, ...rest } = saved;
      const hyper = this.resolve({ ...this.defaults, ...rest }, where);
      (indices as unknown[]).forEach((index, i) => {
        if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || byIndex.has(index)) {
          throw argTypeError(op, `${where}.params[${i}]`, 'a parameter index not listed before', index);
        }
        byIndex.set(index, { param: mine.params[i], group: hyper });
      });
      return hyper;
    });
    const loaded = new Map<Tensor, ParamState>();
    try {
      for (const [key, entry] of Object.entries(state)) {
        const target = byIndex.get(Number(key));
        if (target === undefined) {
          throw new MixprecRangeError('ERR_INVALID_ARG', `${op}: stateDict.state has an entry for parameter ${key}, which no parameter group lists`);
        }
        loaded.set(target.param, this.copyState(op, `stateDict.state[${key}]`, entry, target.param, target.group));
      }
    } catch (e) {
      for (const s of loaded.values()) for (const t of Object.values(s)) t.dispose();
      throw e;
    }
    this.disposeState();
    for (const [p, s] of loaded) this.state.set(p, s);
    hypers.forEach((h, gi) => Object.assign(this.paramGroups[gi], h));
  }

  private copyState(op: string, where: string, entry: unknown, param: Tensor, group: O): ParamState {
    if (!isOptionsObject(entry)) throw argTypeError(op, where, 'an object of state tensors', entry);
    const master = this.#masters.usedFor(param.dtype);
    const loadable = this.loadableKeys(group);
    const { required } = loadable;
    const allowed = master ? [...loadable.allowed, MASTER_PARAM_KEY] : loadable.allowed;
    for (const key of Object.keys(entry)) {
      if (key === MASTER_PARAM_KEY && !master) {
        const why = this.#masters.enabled ? `a ${param.dtype} parameter has none` : 'this optimizer was built without masterWeights';
        throw new MixprecTypeError('ERR_INVALID_ARG', `${op}: ${where} has a float32 master copy ('${MASTER_PARAM_KEY}') but ${why} (master copies are kept for float16/bfloat16 parameters with { masterWeights: true })`);
      }
      if (!allowed.includes(key)) throw new MixprecTypeError('ERR_INVALID_ARG', `${op}: ${where} has an unknown key '${key}' (a ${this.name} state holds ${allowed.join(', ')})`);
    }
    for (const key of required) {
      if (entry[key] === undefined) throw new MixprecTypeError('ERR_INVALID_ARG', `${op}: ${where} lacks '${key}' (a ${this.name} state with these options holds ${required.join(', ')})`);
    }
    const out: ParamState = {};
    try {
      for (const [key, value] of Object.entries(entry)) {
        if (key === 'step') {
          out.step = keep(copyStep(op, `${where}.step`, value, param.device));
        } else {
          if (!(value instanceof Tensor)) throw argTypeError(op, `${where}.${key}`, `a tensor of shape [${param.shape.join(', ')}]`, value);
          value.assertAlive(op, `${where}.${key}`);
          if (value.ndim !== param.ndim || value.shape.some((s, d) => s !== param.shape[d])) {
            throw new MixprecRangeError('ERR_SHAPE_MISMATCH', `${op}: ${where}.${key} must have the parameter's shape [${param.shape.join(', ')}], got ${describe(value)}`);
          }
          // With a master copy, the master and the buffers are float32.
          const moved = value.to({ dtype: master ? 'float32' : param.dtype, device: param.device });
          out[key] = keep(moved === value ? value.clone() : moved);
        }
      }
      // A momentum buffer saved without a counter (PyTorch's SGD keeps none) has been written.
      if (out.step === undefined && Object.keys(out).some((k) => k !== MASTER_PARAM_KEY)) out.step = keep(zeros([], { device: param.device }).fill_(1));
    } catch (e) {
      for (const t of Object.values(out)) t.dispose();
      throw e;
    }
    return out;
  }

  private disposeState(): void {
    for (const s of this.state.values()) for (const t of Object.values(s)) t.dispose();
    this.state.clear();
    // Loaded masters are re-synced against their parameters on the next step.
    this.#masters.forgetSync();
  }

  /**
   * Frees every state tensor; the next step starts from fresh state.
   *
   * @example
   * ```ts
   * const opt = new mp.optim.SGD([mp.zeros([2]).requiresGrad_()], { lr: 0.1 });
   * opt.dispose();
   * ```
   */
  dispose(): void {
    this.disposeState();
  }
}

/** A step counter from a state dict: a one-element tensor or a number, as a float32 tensor on `device`. */
function copyStep(op: string, where: string, value: unknown, device: Device): Tensor {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0) throw argRangeError(op, where, 'a non-negative integer step count', value);
    return zeros([], { device }).fill_(value);
  }
  if (!(value instanceof Tensor)) throw argTypeError(op, where, 'a one-element tensor or a number', value);
  value.assertAlive(op, where);
  if (value.numel !== 1) throw argRangeError(op, where, 'a one-element tensor', value, 'ERR_INVALID_SHAPE');
  return tidy(() => zeros([], { device }).copy_(value.reshape([])));
}

/** The hyper-parameters with arrays (betas) copied, so a state dict does not alias the group. */
function copyHyper<O>(hyper: O): O {
  return Object.fromEntries(Object.entries(hyper as Record<string, unknown>).map(([k, v]) => [k, Array.isArray(v) ? [...v] : v])) as O;
}

/** Hyper-parameter checks shared by the optimizers; `name` is the class, `where` the group. */
export const check = {
  /** A finite number in [min, below). */
  number(name: string, where: string, key: string, v: unknown, min = 0, below = Infinity): number {
    const n = numberArg(name, `${where}.${key}`, v);
    if (!Number.isFinite(n) || n < min || n >= below) {
      const range = below === Infinity ? (min === -Infinity ? 'a finite number' : `a finite number >= ${min}`) : `a number in [${min}, ${below})`;
      throw argRangeError(name, `${where}.${key}`, range, n);
    }
    return n;
  },
  boolean(name: string, where: string, key: string, v: unknown): boolean {
    return booleanArg(name, `${where}.${key}`, v);
  },
};
