/**
 * Containers: Sequential (a pipeline), ModuleList and ModuleDict (registered collections).
 * Entries are registered submodules named '0', '1', ... (or by key), so their parameters appear
 * as '0.weight', 'encoder.bias', as in PyTorch.
 */
import { argRangeError, argTypeError, MixprecError } from '../errors';
import type { Tensor } from '../tensor';
import { keepsNoActivations, Module, type AnyModule } from './module';

function checkModule(op: string, arg: string, m: unknown): AnyModule {
  if (!(m instanceof Module)) throw argTypeError(op, arg, 'a Module', m);
  return m;
}

function checkIndex(op: string, index: unknown, length: number, inclusiveEnd = false): number {
  const hi = inclusiveEnd ? length : length - 1;
  if (typeof index !== 'number' || !Number.isInteger(index) || index < -length || index > hi) {
    throw argRangeError(op, 'index', `an integer in [${-length}, ${hi}]`, index);
  }
  return index < 0 ? index + length : index;
}

/**
 * Modules applied one after another, each to the previous one's output.
 *
 * @example
 * ```ts
 * const mlp = new mp.nn.Sequential(new mp.nn.Linear(4, 8), new mp.nn.ReLU(), new mp.nn.Linear(8, 1));
 * const y = mlp.forward(mp.randn([2, 4]));
 * mlp.at(0); // the first Linear
 * ```
 */
export class Sequential extends Module {
  #length = 0;

  constructor(...modules: Module[]) {
    super();
    modules.forEach((m, i) => this.registerModule(String(i), checkModule('Sequential', `modules[${i}]`, m)));
    this.#length = modules.length;
  }

  /** How many modules. @example `new mp.nn.Sequential(new mp.nn.Linear(2, 2), new mp.nn.ReLU()).length` */
  get length(): number {
    return this.#length;
  }

  /** The module at `index` (negative counts from the end). @example `new mp.nn.Sequential(new mp.nn.Linear(2, 2), new mp.nn.ReLU()).at(-1)` */
  at(index: number): Module {
    return (this as unknown as Record<string, Module>)[checkIndex('Sequential.at', index, this.#length)];
  }

  /** Adds a module at the end; returns this. @example `new mp.nn.Sequential(new mp.nn.Linear(2, 2), new mp.nn.ReLU()).append(new mp.nn.ReLU())` */
  append(m: Module): this {
    this.registerModule(String(this.#length), checkModule('Sequential.append', 'module', m));
    this.#length += 1;
    return this;
  }

  *[Symbol.iterator](): IterableIterator<Module> {
    for (let i = 0; i < this.#length; ++i) yield this.at(i);
  }

  /**
   * Each module's output feeds the next. An intermediate result that a built-in layer made is
   * freed as soon as the next built-in layer has consumed it (autograd keeps what backward needs
   * through its own references), as PyTorch's reference counting frees it, rather than living
   * until the enclosing tidy closes: a CNN step then holds one activation per layer, not two.
   */
  forward(x: Tensor): Tensor {
    let y = x;
    // Whether y was made inside this call by a layer that keeps no reference to it.
    let ownY = false;
    for (const m of this) {
      const out = m.forward(y);
      if (out === y) continue;
      const transient = keepsNoActivations(m);
      if (ownY && transient && !y.kept) y.dispose();
      ownY = transient;
      y = out;
    }
    return y;
  }
}

/** Containers without a computation of their own. */
function noForward(name: string): never {
  throw new MixprecError('ERR_INVALID_ARG', `${name}: has no forward(); call its modules from the forward() of the module that holds it`);
}

/**
 * An indexable list of modules whose parameters belong to the module holding it (a plain
 * array would not be registered).
 *
 * @example
 * ```ts
 * class Stack extends mp.nn.Module {
 *   layers = new mp.nn.ModuleList(Array.from({ length: 4 }, () => new mp.nn.Linear(16, 16)));
 *   forward(x: mp.Tensor) {
 *     for (const layer of this.layers) x = layer.forward(x);
 *     return x;
 *   }
 * }
 * ```
 */
export class ModuleList<M extends AnyModule = Module> extends Module<never[], never> {
  #items: M[] = [];

  constructor(modules: Iterable<M> = []) {
    super();
    if (modules === null || typeof (modules as Partial<Iterable<M>>)[Symbol.iterator] !== 'function') throw argTypeError('ModuleList', 'modules', 'an iterable of Modules', modules);
    this.extend(modules);
  }

  /** How many modules. @example `new mp.nn.ModuleList([new mp.nn.Linear(4, 4)]).length` */
  get length(): number {
    return this.#items.length;
  }

  /** The module at `index` (negative counts from the end). @example `new mp.nn.ModuleList([new mp.nn.Linear(4, 4)]).at(0)` */
  at(index: number): M {
    return this.#items[checkIndex('ModuleList.at', index, this.#items.length)];
  }

  /** Adds a module at the end; returns this. @example `new mp.nn.ModuleList([new mp.nn.Linear(4, 4)]).append(new mp.nn.Linear(4, 4))` */
  append(m: M): this {
    checkModule('ModuleList.append', 'module', m);
    this.registerModule(String(this.#items.length), m);
    this.#items.push(m);
    return this;
  }

  /** Appends every module of `modules`; returns this. @example `new mp.nn.ModuleList([new mp.nn.Linear(4, 4)]).extend([new mp.nn.Linear(4, 4), new mp.nn.ReLU()])` */
  extend(modules: Iterable<M>): this {
    const items = [...modules];
    items.forEach((m, i) => checkModule('ModuleList.extend', `modules[${i}]`, m));
    for (const m of items) this.append(m);
    return this;
  }

  /** Inserts `m` before `index` (0..length); later modules are renamed. @example `new mp.nn.ModuleList([new mp.nn.Linear(4, 4)]).insert(0, new mp.nn.ReLU())` */
  insert(index: number, m: M): this {
    const at = checkIndex('ModuleList.insert', index, this.#items.length, true);
    checkModule('ModuleList.insert', 'module', m);
    this.#items.splice(at, 0, m);
    this.#items.forEach((item, i) => this.registerModule(String(i), item));
    return this;
  }

  *[Symbol.iterator](): IterableIterator<M> {
    yield* this.#items;
  }

  forward(): never {
    return noForward('ModuleList');
  }
}

/**
 * Modules by name, in insertion order; entries are registered under their keys (keys that
 * would hide a method, such as 'get', are rejected).
 *
 * @example
 * ```ts
 * const heads = new mp.nn.ModuleDict({ cls: new mp.nn.Linear(64, 10), box: new mp.nn.Linear(64, 4) });
 * heads.get('cls')?.forward(mp.randn([2, 64]));
 * ```
 */
export class ModuleDict<M extends AnyModule = Module> extends Module<never[], never> {
  #keys = new Set<string>();

  constructor(modules: Record<string, M> | Iterable<[string, M]> = {}) {
    super();
    if (typeof modules !== 'object' || modules === null) throw argTypeError('ModuleDict', 'modules', 'an object, Map or iterable of [name, Module]', modules);
    const entries = Symbol.iterator in modules ? [...(modules as Iterable<[string, M]>)] : Object.entries(modules);
    for (const [key, m] of entries) this.set(key, m);
  }

  /** How many entries. @example `new mp.nn.ModuleDict({ encoder: new mp.nn.Linear(8, 4), head: new mp.nn.Linear(4, 2) }).size` */
  get size(): number {
    return this.#keys.size;
  }

  /** The module under `key`, or undefined. @example `new mp.nn.ModuleDict({ encoder: new mp.nn.Linear(8, 4), head: new mp.nn.Linear(4, 2) }).get('encoder')` */
  get(key: string): M | undefined {
    return this.#keys.has(key) ? (this as unknown as Record<string, M>)[key] : undefined;
  }

  /** Whether `key` is present. @example `new mp.nn.ModuleDict({ encoder: new mp.nn.Linear(8, 4), head: new mp.nn.Linear(4, 2) }).has('head')` */
  has(key: string): boolean {
    return this.#keys.has(key);
  }

  /** Adds or replaces the module under `key`; returns this. @example `new mp.nn.ModuleDict({ encoder: new mp.nn.Linear(8, 4), head: new mp.nn.Linear(4, 2) }).set('head', new mp.nn.Linear(8, 2))` */
  set(key: string, m: M): this {
    checkModule('ModuleDict.set', 'module', m);
    this.registerModule(key, m);
    this.#keys.add(key);
    return this;
  }

  /** Removes `key`, returning its module (undefined when absent). @example `new mp.nn.ModuleDict({ encoder: new mp.nn.Linear(8, 4), head: new mp.nn.Linear(4, 2) }).delete('head')` */
  delete(key: string): M | undefined {
    const m = this.get(key);
    if (m !== undefined) {
      this.unregister(key);
      this.#keys.delete(key);
    }
    return m;
  }

  /** The keys in insertion order. @example `new mp.nn.ModuleDict({ encoder: new mp.nn.Linear(8, 4), head: new mp.nn.Linear(4, 2) }).keys()` */
  keys(): string[] {
    return [...this.#keys];
  }

  /** The modules in insertion order. @example `new mp.nn.ModuleDict({ encoder: new mp.nn.Linear(8, 4), head: new mp.nn.Linear(4, 2) }).values()` */
  values(): M[] {
    return this.keys().map((k) => (this as unknown as Record<string, M>)[k]);
  }

  /** [key, module] pairs in insertion order. @example `new Map(new mp.nn.ModuleDict({ encoder: new mp.nn.Linear(8, 4), head: new mp.nn.Linear(4, 2) }).entries())` */
  entries(): [string, M][] {
    return this.keys().map((k) => [k, (this as unknown as Record<string, M>)[k]]);
  }

  /** Iterates [key, module] pairs, like a Map. @example `for (const [name, m] of new mp.nn.ModuleDict({ encoder: new mp.nn.Linear(8, 4), head: new mp.nn.Linear(4, 2) })) console.log(name, m)` */
  *[Symbol.iterator](): IterableIterator<[string, M]> {
    yield* this.entries();
  }

  forward(): never {
    return noForward('ModuleDict');
  }
}
