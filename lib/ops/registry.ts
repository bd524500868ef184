/**
 * The op registry: every op is declared once — name, forward, backward, autocast category — and
 * the function users call is made here. It applies autocast's decisions when a scope is open,
 * records the autograd graph when an input requires grad, and lists the ops for tests and the
 * API reference.
 */
import { activeFrame } from '../autocast/state';
import { declareOpAutocast, type AutocastCategory, type AutocastDeviceType, type OpAutocastDecl } from '../autocast/policy';
import { isGradEnabled, withoutRecording } from '../autograd/gradMode';
import type { TensorMeta } from '../autograd/node';
import { gradNeeds, metaOf, outputsOf, recordNode, tensorInputs } from '../autograd/record';
import { SavedTensor } from '../autograd/savedTensor';
import type { DType } from '../dtype';
import { MixprecError } from '../errors';
import { Tensor } from '../tensor';
import { ownOptions } from '../validate';
import { dispatchAutocast } from './autocastDispatch';

export type { AutocastCategory } from '../autocast/policy';

/** What a backward function gets. */
export interface BackwardContext<A extends unknown[]> {
  /** The call's arguments. Tensor arguments may only be read for shape/dtype; use `saved` for values. */
  readonly args: A;
  /** The tensors `save` chose, checked against in-place writes since forward. */
  readonly saved: Tensor[];
  /** Per tensor input (in argument order, arrays flattened): whether it needs a gradient. */
  readonly needsInputGrad: boolean[];
  /** Shape/dtype of each output. */
  readonly outputs: TensorMeta[];
}

// The registry stores ops of every signature: `AnyFn` is a bound every function meets, and inside
// the registry a forward is called with whatever arguments the op got, as a `Forward`.
type AnyFn = (...args: never[]) => unknown;
type Forward = (...args: unknown[]) => unknown;

/** The declaration of an op. */
export interface OpDef<F extends AnyFn> {
  /** The public name (`add`, `conv2d`, ...). */
  name: string;
  /**
   * How autocast treats it: one category, or one per device type where PyTorch's CUDA and CPU
   * lists differ.
   */
  autocast: OpAutocastDecl;
  /** For a banned op: what to use instead (shown in the error). */
  autocastHint?: string;
  /** Index of the options argument that accepts `dtype` (required by `fp32SetOptDtype`). */
  dtypeArg?: number;
  /**
   * The computation. For a primitive op (one with `backward`) it runs without recording; a
   * composite op (no `backward`) is built from recorded ops, so its gradient comes for free.
   */
  forward: F;
  /** Gradients of the tensor inputs (argument order, arrays flattened) from the output gradients. */
  backward?: (ctx: BackwardContext<Parameters<F>>, grads: (Tensor | undefined)[]) => (Tensor | undefined)[];
  /** The tensors backward needs (inputs or outputs). */
  save?: (args: Parameters<F>, output: ReturnType<F>) => Tensor[];
  /** False for ops whose outputs never carry gradients (comparisons, argmax, indices). */
  differentiable?: boolean;
  /**
   * For fp32 ops that compute in float32 from 16-bit inputs themselves: the call under autocast
   * with its float16/bfloat16 inputs as they are, returning the float32 result (and, through its
   * recorded ops, gradients rounded once into each input's dtype): exactly what casting the
   * inputs to float32 first gives, without materialising the float32 copies. Returns undefined
   * when a call needs the usual casts.
   */
  autocastWidened?: (...args: Parameters<F>) => ReturnType<F> | undefined;
  /**
   * For lowerPrecision matrix products whose CPU kernel rounds float32 operands itself (cast
   * fusion): the call under CPU autocast to `compute` with its float32 product operands as they
   * are, returning the `compute`-dtype result and, through its recorded ops, gradients in each
   * input's own dtype: exactly what casting the inputs first gives, without the casts' passes over
   * memory or their copies. Other inputs (a linear's bias) go through `cast`, autocast's own
   * (cached, logged). Returns undefined when a call needs the usual casts.
   */
  autocastCastFused?: (compute: DType, cast: (t: Tensor) => Tensor, ...args: Parameters<F>) => CastFusedCall<ReturnType<F>> | undefined;
}

/** A call that ran with cast fusion (OpDef.autocastCastFused). */
export interface CastFusedCall<R> {
  result: R;
  /** float32 inputs the product's kernel rounded as it read them. */
  fusedInputs: number;
}

/** A registered op, as tests and docs see it. */
export interface RegisteredOp {
  name: string;
  /** The built-in policies' category per device type. */
  autocast: Readonly<Record<AutocastDeviceType, AutocastCategory>>;
  kind: 'primitive' | 'composite' | 'nondifferentiable';
}

const registry = new Map<string, RegisteredOp>();

/** Every registered op, in registration order. */
export function registeredOps(): RegisteredOp[] {
  return [...registry.values()];
}

/** Backward-node names in PyTorch's style: `mul` → `MulBackward`. */
function nodeName(name: string): string {
  return `${name[0].toUpperCase()}${name.slice(1)}Backward`;
}

/**
 * Declares an op and returns the function users call (same signature as `forward`). It is
 * internal: each op of mixprec is declared with it, and {@link registeredOps} lists them.
 *
 * @example
 * ```ts
 * const mul = mp.registeredOps().find((op) => op.name === 'mul');
 * mul?.kind; // 'primitive': declared with a backward
 * ```
 */
export function defineOp<F extends AnyFn>(def: OpDef<F>): F {
  if (registry.has(def.name)) throw new Error(`defineOp: op '${def.name}' is declared twice`);
  const kind = def.differentiable === false ? 'nondifferentiable' : def.backward ? 'primitive' : 'composite';
  declareOpAutocast(def.name, def.autocast, def.dtypeArg !== undefined, def.autocastHint);
  const autocast = typeof def.autocast === 'string' ? { cuda: def.autocast, cpu: def.autocast } : { ...def.autocast };
  registry.set(def.name, { name: def.name, autocast: Object.freeze(autocast), kind });
  const run = kind === 'primitive' ? recorded(def) : (def.forward as unknown as Forward);
  const widen = def.autocastWidened as unknown as Forward | undefined;
  const fuse = def.autocastCastFused as unknown as ((compute: DType, cast: (t: Tensor) => Tensor, ...args: unknown[]) => CastFusedCall<unknown> | undefined) | undefined;
  const info = {
    name: def.name, dtypeArg: def.dtypeArg, widened: widen && ((args: unknown[]) => widen(...args)),
    castFused: fuse && ((args: unknown[], compute: DType, cast: (t: Tensor) => Tensor) => fuse(compute, cast, ...args)),
  };
  const runArgs = (args: unknown[]) => run(...args);
  const op = function (...given: unknown[]) {
    const args = given.map(ownArgument);
    const frame = activeFrame();
    return frame === undefined ? run(...args) : dispatchAutocast(frame, info, runArgs, args);
  };
  return op as unknown as F;
}

/** Arrays longer than this are passed as given (no real shape or tensor list comes near it). */
const COPY_LIMIT = 1 << 20;

/**
 * An op's argument as the op reads it. An array (a shape, a tensor list) is copied once into a
 * plain array, so the autocast dispatch, the recording and the op's checks all see the same
 * elements: a getter or Proxy cannot show valid sizes to a check and others to the allocation.
 * An options object (a plain object, or one inheriting from one) becomes its own properties in an
 * object without a prototype (`ownOptions`): nothing inherited or set on Object.prototype is read.
 * Tensors and other class instances pass as they are.
 */
function ownArgument(arg: unknown): unknown {
  if (typeof arg !== 'object' || arg === null) return arg;
  if (Array.isArray(arg)) {
    const length: unknown = arg.length;
    if (typeof length !== 'number' || !(length <= COPY_LIMIT)) return arg;
    const copy = new Array<unknown>(length);
    for (let i = 0; i < length; ++i) copy[i] = (arg as unknown[])[i];
    return copy;
  }
  const proto: unknown = Object.getPrototypeOf(arg);
  const plain = proto === null || proto === Object.prototype || (proto as { constructor?: unknown }).constructor === Object;
  return plain ? ownOptions(arg) : arg;
}

/** A primitive's forward that records a graph node when an input requires grad. */
function recorded<F extends AnyFn>(def: OpDef<F>): Forward {
  const backward = def.backward!;
  const forward = def.forward as unknown as Forward;
  const name = nodeName(def.name);
  return function (...args: unknown[]) {
    if (!isGradEnabled()) return forward(...args);
    const inputs = tensorInputs(args);
    const needs = gradNeeds(inputs);
    if (!needs) return forward(...args);
    const out = withoutRecording(() => forward(...args));
    const outputs = outputsOf(out);
    // An op that hands back its input unchanged (`to` with nothing to do) adds no node.
    if (outputs.every((t) => inputs.includes(t))) return out;
    const saved = def.save ? def.save(args as Parameters<F>, out as ReturnType<F>).map((t, i) => new SavedTensor(t, def.name, i)) : [];
    const outputMetas = outputs.map(metaOf);
    recordNode(name, inputs, needs, outputs,
      (grads) => backward({ args: args as Parameters<F>, saved: saved.map((s) => s.unpack()), needsInputGrad: needs, outputs: outputMetas }, grads),
      saved);
    return out;
  };
}

/**
 * Refuses an in-place write that autograd cannot follow: on a tensor that requires grad (or
 * with an operand that does) while recording. Under {@link noGrad} (optimizer updates,
 * initialisation) in-place ops are always allowed.
 */
export function checkInPlace(op: string, self: Tensor, ...others: unknown[]): void {
  if (!isGradEnabled()) return;
  if (self.requiresGrad) {
    const what = self.isLeaf ? 'a leaf tensor that requires grad' : 'a tensor that is part of the autograd graph';
    throw new MixprecError('ERR_AUTOGRAD', `${op}: in-place operation on ${what} (${self.describe()}); use the out-of-place form, or wrap the update in mp.noGrad(() => ...)`);
  }
  if (others.some((o) => o instanceof Tensor && o.requiresGrad)) {
    throw new MixprecError('ERR_AUTOGRAD', `${op}: in-place operation with an operand that requires grad would not be recorded; use the out-of-place form`);
  }
}
