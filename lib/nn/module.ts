/**
 * The base of every layer: a tree of modules owning parameters (tensors that train) and buffers
 * (tensors that are state but not trained, e.g. BatchNorm's running statistics).
 *
 * Registration rule. A module's tensors and submodules live in its own properties (so
 * `this.weight` and `model.fc1` read them), and a per-module registry says which property names
 * are parameters, buffers or submodules, in registration order. A name enters the registry
 * either explicitly (`registerParameter`, `registerBuffer`, `registerModule`: the built-in
 * layers use these) or by discovery: whenever the module is traversed (parameters(), to(),
 * stateDict(), ...), own enumerable properties not yet registered are examined in definition
 * order, and a {@link Module} value becomes a submodule, a Tensor with `requiresGrad` a
 * parameter. Once registered a name keeps its kind, so freezing a parameter
 * (`requiresGrad_(false)`) or setting it to `undefined` does not turn it into something else.
 * Buffers are never discovered: a plain tensor field may be a constant or a cache, so buffers are
 * registered explicitly. Arrays or Maps of modules are not looked into: use ModuleList/ModuleDict.
 */
import { inspect } from 'node:util';

import { noGrad } from '../autograd/gradMode';
import { zeroGrads } from '../autograd/zeroGrad';
import { Device, type DeviceLike } from '../device';
import { isDType, isFloatingPoint, parseDType, type DType } from '../dtype';
import { argTypeError, describe, MixprecError, MixprecTypeError } from '../errors';
import { keep } from '../memory';
import { checkTensor, Tensor } from '../tensor';
import { booleanArg, ownOption } from '../validate';

/** Parameters and persistent buffers by dotted name, as {@link Module.stateDict} returns them. */
export type StateDict = Record<string, Tensor>;

/** What {@link Module.loadStateDict} reports. */
export interface LoadResult {
  /** Names the module expects that the state dict lacks. */
  missingKeys: string[];
  /** Names in the state dict the module does not have. */
  unexpectedKeys: string[];
}

/**
 * Any module, whatever its forward's signature (for containers and traversal). `any[]`: no other
 * argument-list type accepts both `[Tensor]` and `[Tensor, Tensor]` forwards.
 */
export type AnyModule = Module<any[], unknown>;

/**
 * Whether `m`'s class promises to keep no reference to a forward's input or output: the built-in
 * layers declare `static readonly keepsNoActivations = true`, and {@link Sequential} then frees an
 * intermediate result as soon as the next such layer has consumed it. Only a class's own static
 * property counts: a subclass may keep either, so it does not inherit the promise.
 */
export function keepsNoActivations(m: AnyModule): boolean {
  const cls = m.constructor as { keepsNoActivations?: unknown };
  return Object.prototype.hasOwnProperty.call(cls, 'keepsNoActivations') && cls.keepsNoActivations === true;
}

type Kind = 'parameter' | 'buffer' | 'module';

/** Property names of a registry, with `undefined` values skipped and types checked. */
function ownEntries<V>(owner: AnyModule, names: Iterable<string>, kind: Kind, isKind: (v: unknown) => v is V): [string, V][] {
  const out: [string, V][] = [];
  const record = owner as unknown as Record<string, unknown>;
  for (const name of names) {
    const value = record[name];
    if (value === undefined) continue;
    if (!isKind(value)) {
      throw new MixprecTypeError('ERR_INVALID_ARG', `${owner.constructor.name}: ${kind} '${name}' must be ${kind === 'module' ? 'a Module' : 'a Tensor'} or undefined, got ${describe(value)}`);
    }
    out.push([name, value]);
  }
  return out;
}

const isTensor = (v: unknown): v is Tensor => v instanceof Tensor;
const isModule = (v: unknown): v is AnyModule => v instanceof Module;

/**
 * Makes `t` a parameter: requires grad and is exempt from tidy scopes (a training step inside
 * `mp.tidy` must leave it alive). Returns `t`. Assigning the result to a field of a module
 * registers it (see {@link Module}).
 *
 * @example
 * ```ts
 * class Scale extends mp.nn.Module {
 *   scale = mp.nn.parameter(mp.ones([4]));
 *   forward(x: mp.Tensor) { return x.mul(this.scale); }
 * }
 * ```
 */
export function parameter(t: Tensor, requiresGrad = true): Tensor {
  checkParameter('parameter', 't', t);
  booleanArg('parameter', 'requiresGrad', requiresGrad);
  t.requiresGrad = requiresGrad;
  return keep(t);
}

function checkParameter(op: string, arg: string, t: unknown): Tensor {
  const p = checkTensor(op, arg, t);
  if (!isFloatingPoint(p.dtype)) throw argTypeError(op, arg, 'a floating-point Tensor (only those can require gradients)', p, 'ERR_INVALID_DTYPE');
  if (!p.isLeaf) throw argTypeError(op, arg, 'a leaf Tensor (one not computed by a recorded op; use t.detach() or create it under noGrad)', p);
  return p;
}

/** Options of {@link Module.registerBuffer}. */
export interface BufferOptions {
  /** Whether the buffer is part of {@link Module.stateDict} (default true). */
  persistent?: boolean;
}

/**
 * Base class of layers and models. Subclasses create their parameters and submodules in the
 * constructor (assigned fields are registered, see the module comment) and implement
 * {@link forward}.
 *
 * @typeParam Args - the arguments of forward.
 * @typeParam Out - what forward returns.
 *
 * @example
 * ```ts
 * import * as mp from 'mixprec';
 * const { nn } = mp;
 *
 * class Mlp extends mp.nn.Module {
 *   fc1 = new mp.nn.Linear(784, 128);
 *   act = new mp.nn.ReLU();
 *   fc2 = new mp.nn.Linear(128, 10);
 *   forward(x: mp.Tensor) {
 *     return this.fc2.forward(this.act.forward(this.fc1.forward(x)));
 *   }
 * }
 * const model = new Mlp();
 * model.namedParameters().map(([name]) => name); // ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']
 * ```
 */
export abstract class Module<Args extends unknown[] = [Tensor], Out = Tensor> {
  /** Training mode (true) or evaluation mode; set with {@link train} / {@link eval}. @example `new mp.nn.Dropout(0.5).eval().training // false` */
  training = true;
  readonly #parameters = new Set<string>();
  /** Buffer names, each with whether it is persistent. */
  readonly #buffers = new Map<string, boolean>();
  readonly #modules = new Set<string>();

  /** The computation of this module. @example `const y = new mp.nn.Linear(2, 3).forward(mp.ones([4, 2]));` */
  abstract forward(...args: Args): Out;

  /** Same as {@link forward}. @example `const y = new mp.nn.Linear(2, 3).call(mp.ones([4, 2]));` */
  call(...args: Args): Out {
    return this.forward(...args);
  }

  /** Checks a name for register*: a new property name, or one already of this kind. */
  #checkName(op: string, name: unknown, kind: Kind): string {
    if (typeof name !== 'string') throw argTypeError(`${this.constructor.name}.${op}`, 'name', 'a string', name);
    if (name === '' || name.includes('.')) throw argTypeError(`${this.constructor.name}.${op}`, 'name', "a non-empty name without '.'", name);
    const current = this.#kindOf(name);
    if (current !== undefined && current !== kind) {
      throw new MixprecTypeError('ERR_INVALID_ARG', `${this.constructor.name}.${op}: '${name}' is already registered as a ${current}`);
    }
    if (current === undefined && name in this) {
      const own = Object.prototype.hasOwnProperty.call(this, name);
      const value = (this as unknown as Record<string, unknown>)[name];
      // An own field declared by a subclass is still undefined, or holds the value being registered.
      if (!own || (value !== undefined && !isTensor(value) && !isModule(value))) {
        throw new MixprecTypeError('ERR_INVALID_ARG', `${this.constructor.name}.${op}: attribute '${name}' already exists (${own ? `holding ${describe(value)}` : 'a method or accessor'}); pick another name`);
      }
    }
    return name;
  }

  #kindOf(name: string): Kind | undefined {
    if (this.#parameters.has(name)) return 'parameter';
    if (this.#buffers.has(name)) return 'buffer';
    if (this.#modules.has(name)) return 'module';
    return undefined;
  }

  /** Registers fields assigned since the last traversal (see the registration rule above). */
  #discover(): void {
    const record = this as unknown as Record<string, unknown>;
    for (const name of Object.keys(this)) {
      if (this.#kindOf(name) !== undefined) continue;
      const value = record[name];
      if (isModule(value)) this.#modules.add(name);
      else if (isTensor(value) && value.requiresGrad) this.#parameters.add(name);
    }
  }

  /** This module's own parameters, buffers or submodules, discovered and checked. */
  #own(kind: 'parameter' | 'buffer', persistentOnly?: boolean): [string, Tensor][];
  #own(kind: 'module'): [string, AnyModule][];
  #own(kind: Kind, persistentOnly = false): [string, Tensor | AnyModule][] {
    this.#discover();
    if (kind === 'module') return ownEntries(this, this.#modules, kind, isModule);
    const names = kind === 'parameter' ? this.#parameters : [...this.#buffers].filter(([, persistent]) => persistent || !persistentOnly).map(([n]) => n);
    const entries = ownEntries(this, names, kind, isTensor);
    // Long-lived by definition, including tensors assigned after registration.
    for (const [, t] of entries) keep(t);
    return entries;
  }

  /**
   * Adds a parameter (or `undefined`, e.g. a disabled bias) under `name`, as the property
   * `this[name]`. The tensor is made to require grad and kept from tidy scopes. Returns it.
   *
   * @example
   * ```ts
   * class Scale extends mp.nn.Module {
   *   weight = this.registerParameter('weight', mp.ones([3]));
   *   forward(x: mp.Tensor) { return x.mul(this.weight); }
   * }
   * ```
   */
  registerParameter<T extends Tensor | undefined>(name: string, t: T): T {
    const key = this.#checkName('registerParameter', name, 'parameter');
    if (t !== undefined) parameter(checkParameter(`${this.constructor.name}.registerParameter`, 't', t));
    this.#parameters.add(key);
    (this as unknown as Record<string, unknown>)[key] = t;
    return t;
  }

  /**
   * Adds a buffer: state saved and moved with the module but not trained (running statistics,
   * counters). Non-persistent buffers are left out of {@link stateDict}. Kept from tidy scopes.
   * Returns the tensor.
   *
   * @example
   * ```ts
   * class Tracker extends mp.nn.Module {
   *   runningMean = this.registerBuffer('runningMean', mp.zeros([3]));
   *   cache = this.registerBuffer('cache', mp.zeros([3]), { persistent: false });
   *   forward(x: mp.Tensor) { return x.sub(this.runningMean); }
   * }
   * Object.keys(new Tracker().stateDict()); // ['runningMean']
   * ```
   */
  registerBuffer<T extends Tensor | undefined>(name: string, t: T, options?: BufferOptions): T {
    const op = `${this.constructor.name}.registerBuffer`;
    const key = this.#checkName('registerBuffer', name, 'buffer');
    if (t !== undefined) keep(checkTensor(op, 't', t));
    if (options !== undefined && (typeof options !== 'object' || options === null)) throw argTypeError(op, 'options', 'an options object', options);
    const persistent = ownOption(options, 'persistent') ?? true;
    booleanArg(op, 'options.persistent', persistent);
    this.#buffers.set(key, persistent);
    (this as unknown as Record<string, unknown>)[key] = t;
    return t;
  }

  /**
   * Adds a submodule (or `undefined`) under `name`, as the property `this[name]`. Returns it.
   *
   * @example
   * ```ts
   * class Net extends mp.nn.Module {
   *   encoder = this.registerModule('encoder', new mp.nn.Linear(8, 4));
   *   forward(x: mp.Tensor) { return this.encoder.forward(x); }
   * }
   * ```
   */
  registerModule<M extends AnyModule | undefined>(name: string, m: M): M {
    const key = this.#checkName('registerModule', name, 'module');
    if (m !== undefined && !isModule(m)) throw argTypeError(`${this.constructor.name}.registerModule`, 'module', 'a Module or undefined', m);
    this.#modules.add(key);
    (this as unknown as Record<string, unknown>)[key] = m;
    return m;
  }

  /** Removes a registered name and its property (containers use it to delete entries). */
  protected unregister(name: string): void {
    this.#parameters.delete(name);
    this.#buffers.delete(name);
    this.#modules.delete(name);
    delete (this as unknown as Record<string, unknown>)[name];
  }

  /**
   * This module and its descendants with dotted names ('' for this one), parents before
   * children; a module reachable twice is listed once.
   *
   * @example
   * ```ts
   * new mp.nn.Sequential(new mp.nn.Linear(2, 2), new mp.nn.ReLU()).namedModules().map(([n]) => n); // ['', '0', '1']
   * ```
   */
  namedModules(prefix = ''): [string, AnyModule][] {
    const out: [string, AnyModule][] = [];
    const seen = new Set<AnyModule>();
    const visit = (m: AnyModule, path: string): void => {
      if (seen.has(m)) return;
      seen.add(m);
      out.push([path, m]);
      for (const [name, child] of m.#own('module')) visit(child, path === '' ? name : `${path}.${name}`);
    };
    visit(this, prefix);
    return out;
  }

  /** This module and its descendants (see {@link namedModules}). @example `new mp.nn.Sequential(new mp.nn.Linear(2, 2), new mp.nn.BatchNorm1d(2)).modules().length // 3` */
  modules(): AnyModule[] {
    return this.namedModules().map(([, m]) => m);
  }

  /** Direct submodules with their names, each once. @example `new mp.nn.Sequential(new mp.nn.Linear(2, 2), new mp.nn.BatchNorm1d(2)).namedChildren()` */
  namedChildren(): [string, AnyModule][] {
    const seen = new Set<AnyModule>();
    return this.#own('module').filter(([, m]) => (seen.has(m) ? false : (seen.add(m), true)));
  }

  /** Direct submodules, each once. @example `new mp.nn.Sequential(new mp.nn.Linear(2, 2), new mp.nn.BatchNorm1d(2)).children()` */
  children(): AnyModule[] {
    return this.namedChildren().map(([, m]) => m);
  }

  #namedTensors(kind: 'parameter' | 'buffer', recurse: boolean): [string, Tensor][] {
    const modules: [string, AnyModule][] = recurse ? this.namedModules() : [['', this]];
    const seen = new Set<Tensor>();
    const out: [string, Tensor][] = [];
    for (const [path, m] of modules) {
      for (const [name, t] of m.#own(kind)) {
        if (seen.has(t)) continue;
        seen.add(t);
        out.push([path === '' ? name : `${path}.${name}`, t]);
      }
    }
    return out;
  }

  /**
   * Parameters with dotted names (`'0.weight'`, `'encoder.bias'`), this module's first, then each
   * submodule's; a tensor shared by several modules is listed once, under its first name.
   *
   * @example
   * ```ts
   * for (const [name, p] of new mp.nn.Sequential(new mp.nn.Linear(2, 2), new mp.nn.BatchNorm1d(2)).namedParameters()) console.log(name, p.shape);
   * ```
   */
  namedParameters(recurse = true): [string, Tensor][] {
    return this.#namedTensors('parameter', recurse);
  }

  /** The parameters (see {@link namedParameters}), e.g. for an optimizer. @example `new mp.optim.SGD(new mp.nn.Linear(2, 2).parameters(), { lr: 0.1 })` */
  parameters(recurse = true): Tensor[] {
    return this.namedParameters(recurse).map(([, t]) => t);
  }

  /** Buffers with dotted names, persistent or not. @example `new mp.nn.Sequential(new mp.nn.Linear(2, 2), new mp.nn.BatchNorm1d(2)).namedBuffers()` */
  namedBuffers(recurse = true): [string, Tensor][] {
    return this.#namedTensors('buffer', recurse);
  }

  /** The buffers (see {@link namedBuffers}). @example `new mp.nn.Sequential(new mp.nn.Linear(2, 2), new mp.nn.BatchNorm1d(2)).buffers()` */
  buffers(recurse = true): Tensor[] {
    return this.namedBuffers(recurse).map(([, t]) => t);
  }

  /**
   * Calls `fn` on every submodule (children before their parent) and then on this module.
   * Returns this.
   *
   * @example
   * ```ts
   * new mp.nn.Sequential(new mp.nn.Linear(2, 2), new mp.nn.BatchNorm1d(2)).apply((m) => { if (m instanceof mp.nn.Linear) mp.nn.init.xavierUniform_(m.weight); });
   * ```
   */
  apply(fn: (m: AnyModule) => void): this {
    if (typeof fn !== 'function') throw argTypeError(`${this.constructor.name}.apply`, 'fn', 'a function', fn);
    for (const child of this.children()) child.apply(fn);
    fn(this);
    return this;
  }

  /**
   * Sets training mode (or evaluation mode with `false`) on this module and every descendant;
   * it changes Dropout and BatchNorm. Returns this.
   *
   * @example
   * ```ts
   * new mp.nn.Sequential(new mp.nn.Linear(2, 2), new mp.nn.BatchNorm1d(2)).train();
   * ```
   */
  train(mode = true): this {
    booleanArg(`${this.constructor.name}.train`, 'mode', mode);
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  /** `train(false)`. @example `new mp.nn.Sequential(new mp.nn.Linear(2, 2), new mp.nn.BatchNorm1d(2)).eval();` */
  eval(): this {
    return this.train(false);
  }

  /**
   * Sets `requiresGrad` on every parameter (false freezes them; they stay parameters). Returns this.
   *
   * @example
   * ```ts
   * const backbone = new mp.nn.Linear(2, 2);
   * backbone.requiresGrad_(false);
   * ```
   */
  requiresGrad_(requiresGrad = true): this {
    booleanArg(`${this.constructor.name}.requiresGrad_`, 'requiresGrad', requiresGrad);
    for (const p of this.parameters()) p.requiresGrad = requiresGrad;
    return this;
  }

  /**
   * Clears the gradients of every parameter. With `setToNone` (the default) `grad` becomes
   * undefined and the old gradient tensor is disposed (free memory now rather than at GC);
   * otherwise gradients are zeroed in place.
   *
   * @example
   * ```ts
   * new mp.nn.Sequential(new mp.nn.Linear(2, 2), new mp.nn.BatchNorm1d(2)).zeroGrad();
   * ```
   */
  zeroGrad(options?: { setToNone?: boolean }): void {
    zeroGrads(`${this.constructor.name}.zeroGrad`, this.parameters(), options);
  }

  /**
   * Converts floating-point parameters and buffers to `dtype` and/or moves every parameter and
   * buffer to `device` (integer buffers keep their dtype). Changed tensors are replaced by new
   * ones (same `requiresGrad`, gradients converted too) in every module that holds them, so tied
   * weights stay tied, and the old tensors are disposed: move a model before handing its
   * parameters to an optimizer. Nothing changes if a conversion fails. Returns this.
   *
   * @example
   * ```ts
   * const model = new mp.nn.Linear(2, 2);
   * model.to('bfloat16');
   * model.to({ device: 'cuda', dtype: 'float16' });
   * ```
   */
  to(target: DType | DeviceLike | { dtype?: DType; device?: DeviceLike }): this {
    const op = `${this.constructor.name}.to`;
    let dtype: DType | undefined;
    let device: Device | undefined;
    if (typeof target === 'string' && isDType(target)) {
      dtype = target;
    } else if (typeof target === 'string' || target instanceof Device) {
      device = Device.parse(op, 'target', target);
    } else if (typeof target === 'object' && target !== null) {
      if (target.dtype !== undefined) dtype = parseDType(op, 'target.dtype', target.dtype);
      if (target.device !== undefined) device = Device.parse(op, 'target.device', target.device);
    } else {
      throw argTypeError(op, 'target', 'a dtype, a device or {dtype, device}', target);
    }
    if (dtype !== undefined && !isFloatingPoint(dtype)) {
      throw argTypeError(op, 'dtype', 'a floating-point dtype (modules convert only their floating-point tensors)', dtype, 'ERR_INVALID_DTYPE');
    }
    const modules = this.modules();
    const converted = new Map<Tensor, Tensor>();
    const newGrads = new Map<Tensor, Tensor>();
    noGrad(() => {
      try {
        for (const m of modules) {
          for (const [, t] of [...m.#own('parameter'), ...m.#own('buffer')]) {
            if (converted.has(t)) continue;
            const out = t.to({ dtype: dtype !== undefined && isFloatingPoint(t.dtype) ? dtype : t.dtype, device: device ?? t.device });
            converted.set(t, out);
            if (out !== t && t.grad !== undefined) newGrads.set(t, t.grad.to({ dtype: out.dtype, device: out.device }));
          }
        }
      } catch (e) {
        for (const [t, out] of converted) if (out !== t) out.dispose();
        for (const g of newGrads.values()) g.dispose();
        throw e;
      }
    });
    for (const m of modules) {
      const record = m as unknown as Record<string, unknown>;
      for (const [name, t] of [...m.#own('parameter'), ...m.#own('buffer')]) record[name] = converted.get(t);
    }
    for (const [t, out] of converted) {
      if (out === t) continue;
      out.requiresGrad = t.requiresGrad;
      keep(out);
      const grad = newGrads.get(t);
      if (grad !== undefined) {
        t.grad?.dispose();
        out.grad = grad;
      }
      t.dispose();
    }
    return this;
  }

  /** `to('float32')`. @example `new mp.nn.Linear(2, 2).float()` */
  float(): this {
    return this.to('float32');
  }
  /** `to('float16')`. @example `new mp.nn.Linear(2, 2).half()` */
  half(): this {
    return this.to('float16');
  }
  /** `to('bfloat16')`. @example `new mp.nn.Linear(2, 2).bfloat16()` */
  bfloat16(): this {
    return this.to('bfloat16');
  }
  /** `to('float64')`. @example `new mp.nn.Linear(2, 2).double()` */
  double(): this {
    return this.to('float64');
  }
  /** `to('cpu')`. @example `new mp.nn.Linear(2, 2).cpu()` */
  cpu(): this {
    return this.to('cpu');
  }
  /** `to('cuda:N')`. @example `new mp.nn.Linear(2, 2).cuda()` */
  cuda(index = 0): this {
    return this.to(`cuda:${index}`);
  }

  /**
   * Parameters and persistent buffers by dotted name (`'0.weight'`, `'bn.runningMean'`), this
   * module's own first, then each submodule's. A tensor held by several modules appears under
   * each name. The values are the module's live tensors, not copies: do not dispose them.
   *
   * @example
   * ```ts
   * const model = new mp.nn.Sequential(new mp.nn.Linear(2, 2), new mp.nn.ReLU());
   * const sd = model.stateDict();
   * Object.keys(sd); // ['0.weight', '0.bias', ...]
   * ```
   */
  stateDict(): StateDict {
    const out: StateDict = {};
    const visit = (m: AnyModule, prefix: string): void => {
      for (const [name, t] of [...m.#own('parameter'), ...m.#own('buffer', true)]) out[prefix + name] = t;
      for (const [name, child] of m.#own('module')) visit(child, `${prefix}${name}.`);
    };
    visit(this, '');
    return out;
  }

  /**
   * Copies values from a state dict (an object or Map of name → tensor, e.g. another model's
   * {@link stateDict}) into this module's parameters and buffers, converting dtype and device.
   * Shapes must match. With `strict` (the default) the keys must match exactly; otherwise
   * missing and unexpected keys are only reported. Nothing is written if an error is thrown.
   *
   * @example
   * ```ts
   * const model = new mp.nn.Linear(2, 2);
   * const checkpoint = { weight: mp.zeros([2, 2]), extra: mp.zeros([1]) };
   * const { missingKeys, unexpectedKeys } = model.loadStateDict(checkpoint, { strict: false }); // ['bias'], ['extra']
   * ```
   */
  loadStateDict(stateDict: StateDict | Map<string, Tensor>, options?: { strict?: boolean }): LoadResult {
    const op = `${this.constructor.name}.loadStateDict`;
    if (typeof stateDict !== 'object' || stateDict === null || Array.isArray(stateDict)) throw argTypeError(op, 'stateDict', 'an object or Map of name → Tensor', stateDict);
    if (options !== undefined && (typeof options !== 'object' || options === null)) throw argTypeError(op, 'options', 'an options object', options);
    const strict = ownOption(options, 'strict') ?? true;
    booleanArg(op, 'options.strict', strict);
    const source = new Map<string, Tensor>();
    for (const [name, t] of stateDict instanceof Map ? stateDict : Object.entries(stateDict)) source.set(name, checkTensor(op, `stateDict['${name}']`, t));
    const own = this.stateDict();
    const missingKeys = Object.keys(own).filter((k) => !source.has(k));
    const unexpectedKeys = [...source.keys()].filter((k) => !(k in own));
    const problems: string[] = [];
    if (strict && missingKeys.length > 0) problems.push(`missing keys: ${missingKeys.map((k) => `'${k}'`).join(', ')}`);
    if (strict && unexpectedKeys.length > 0) problems.push(`unexpected keys: ${unexpectedKeys.map((k) => `'${k}'`).join(', ')}`);
    for (const [name, target] of Object.entries(own)) {
      const src = source.get(name);
      if (src !== undefined && (src.ndim !== target.ndim || src.shape.some((s, i) => s !== target.shape[i]))) {
        problems.push(`size mismatch for '${name}': the state dict has shape [${src.shape.join(', ')}], the module [${target.shape.join(', ')}]`);
      }
    }
    if (problems.length > 0) {
      const code = problems.some((p) => p.startsWith('size')) ? 'ERR_SHAPE_MISMATCH' : 'ERR_INVALID_ARG';
      throw new MixprecError(code, `${op}: cannot load the state dict into ${this.constructor.name}:\n  ${problems.join('\n  ')}`);
    }
    noGrad(() => {
      for (const [name, target] of Object.entries(own)) {
        const src = source.get(name);
        if (src !== undefined) target.copy_(src);
      }
    });
    return { missingKeys, unexpectedKeys };
  }

  /**
   * Disposes every parameter (with its gradient) and buffer of this module and its
   * descendants; using the module afterwards throws ERR_DISPOSED.
   *
   * @example
   * ```ts
   * const model = new mp.nn.Linear(2, 2);
   * model.dispose();
   * ```
   */
  dispose(): void {
    for (const t of [...this.parameters(), ...this.buffers()]) {
      t.grad?.dispose();
      t.dispose();
    }
  }

  /**
   * The layer's settings for {@link toString}; subclasses override it.
   * @example `class Scaled extends mp.nn.Module { p = 0.5; forward(x: mp.Tensor) { return x.mul(this.p); } override extraRepr() { return 'p=' + this.p; } }`
   */
  extraRepr(): string {
    return '';
  }

  /**
   * PyTorch-style text: the class, its settings and its submodules, indented.
   *
   * @example
   * ```ts
   * String(new mp.nn.Sequential(new mp.nn.Linear(2, 3), new mp.nn.ReLU()));
   * // Sequential(
   * //   (0): Linear(inFeatures=2, outFeatures=3, bias=true)
   * //   (1): ReLU()
   * // )
   * ```
   */
  toString(): string {
    const extra = this.extraRepr();
    const lines = extra === '' ? [] : extra.split('\n');
    for (const [name, child] of this.#own('module')) lines.push(`(${name}): ${String(child).split('\n').join('\n  ')}`);
    const children = this.#own('module').length > 0;
    if (!children && lines.length <= 1) return `${this.constructor.name}(${extra})`;
    return `${this.constructor.name}(\n  ${lines.join('\n  ')}\n)`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}
