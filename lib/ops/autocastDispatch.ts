/**
 * Applying autocast's decisions to one op call: find the device, read the op's category from
 * the scope's policy, cast the eligible inputs (recorded casts, so gradients flow back in each
 * input's own dtype; float32 parameters through the weight-cast cache), run the op with
 * autocast suspended for the ops it calls, and log the decision when the scope records.
 * It lives with the ops, not in lib/autocast: it runs ops (the recorded `to`) and enables grad,
 * so it sits above autograd, while lib/autocast holds only the state the engine reads.
 */
import { withoutAutocast, type AutocastFrame, type DeviceAutocast } from '../autocast/state';
import { CastCache } from '../autocast/castCache';
import type { DecisionReason } from '../autocast/decisionLog';
import type { AutocastCategory, AutocastDeviceType } from '../autocast/policy';
import { enableGrad } from '../autograd/gradMode';
import { elementSize, isFloatingPoint, type DType } from '../dtype';
import { MixprecError } from '../errors';
import { keep } from '../memory';
import { Tensor } from '../tensor';

/** What the dispatcher needs to know about an op. */
export interface AutocastOpInfo {
  name: string;
  /** Index of the options argument that takes `dtype` (fp32SetOptDtype ops). */
  dtypeArg?: number;
  /**
   * fp32 ops that can run on 16-bit inputs as they are (OpDef.autocastWidened): the call's
   * result, or undefined to have the inputs cast as usual.
   */
  widened?: (args: unknown[]) => unknown;
  /**
   * lowerPrecision matrix products that round float32 inputs in their CPU kernel
   * (OpDef.autocastCastFused): the call's result, or undefined to have the inputs cast as usual.
   */
  castFused?: (args: unknown[], compute: DType, cast: (t: Tensor) => Tensor) => { result: unknown; fusedInputs: number } | undefined;
}

type CastFn = (t: Tensor, dtype: DType) => Tensor;
let castOp: CastFn | undefined;

/** @internal Set once by the `to` op, which autocast uses for its (recorded) casts. */
export function setAutocastCast(fn: CastFn): void {
  castOp = fn;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  // The registry hands options over as prototype-less copies of their own properties.
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Every tensor argument: top level, in arrays, and in options objects. */
function forEachTensor(args: readonly unknown[], visit: (t: Tensor) => void): void {
  for (const a of args) {
    if (a instanceof Tensor) visit(a);
    else if (Array.isArray(a)) for (const x of a) { if (x instanceof Tensor) visit(x); }
    else if (isPlainObject(a)) for (const x of Object.values(a)) { if (x instanceof Tensor) visit(x); }
  }
}

function tensorDtypes(args: readonly unknown[]): DType[] {
  const dtypes: DType[] = [];
  forEachTensor(args, (t) => dtypes.push(t.dtype));
  return dtypes;
}

function firstTensor(args: readonly unknown[]): Tensor | undefined {
  let first: Tensor | undefined;
  forEachTensor(args, (t) => { first ??= t; });
  return first;
}

const eligible = (t: Tensor, device: AutocastDeviceType): boolean => t.device.type === device && isFloatingPoint(t.dtype) && t.dtype !== 'float64';

/** Counters of one call, for the log. */
interface CastStats {
  eligible: number;
  casts: number;
  bytes: number;
  hits: number;
}

class Caster {
  readonly stats: CastStats = { eligible: 0, casts: 0, bytes: 0, hits: 0 };
  /** Casts made for this call only (not cached): freed once the op has run. */
  readonly temporaries: Tensor[] = [];

  constructor(
    private readonly device: AutocastDeviceType,
    private readonly state: DeviceAutocast,
    private readonly cache: CastCache | undefined,
    private readonly target: DType,
  ) {}

  one(t: Tensor): Tensor {
    if (!eligible(t, this.device)) return t;
    this.stats.eligible += 1;
    if (t.dtype === this.target) return t;
    const cacheable = this.cache !== undefined && this.state.cacheEnabled && CastCache.eligible(t, this.target, this.state.dtype);
    if (cacheable) {
      const hit = this.cache!.lookup(t, this.target);
      if (hit) {
        this.stats.hits += 1;
        return hit;
      }
    }
    // A cached cast is made with recording on, so a noGrad forward cannot cache a cast that a
    // later training forward would reuse without history (PyTorch #158232).
    const cast = cacheable ? enableGrad(() => castOp!(t, this.target)) : castOp!(t, this.target);
    if (cacheable && cast.requiresGrad) this.cache!.store(t, this.target, keep(cast));
    else this.temporaries.push(cast);
    this.stats.casts += 1;
    this.stats.bytes += cast.numel * elementSize(this.target);
    return cast;
  }

  /** `args` with every eligible tensor cast; containers are copied only when something changed. */
  all(args: unknown[]): unknown[] {
    let changed = false;
    const out = args.map((a) => {
      if (a instanceof Tensor) {
        const c = this.one(a);
        changed ||= c !== a;
        return c;
      }
      if (Array.isArray(a) && a.some((x) => x instanceof Tensor)) {
        const mapped = a.map((x) => (x instanceof Tensor ? this.one(x) : x));
        if (mapped.some((x, i) => x !== a[i])) {
          changed = true;
          return mapped;
        }
        return a;
      }
      if (isPlainObject(a) && Object.values(a).some((x) => x instanceof Tensor)) {
        const entries = Object.entries(a).map(([k, x]) => [k, x instanceof Tensor ? this.one(x) : x] as const);
        if (entries.some(([k, x]) => x !== a[k])) {
          changed = true;
          return Object.fromEntries(entries);
        }
      }
      return a;
    });
    return changed ? out : args;
  }
}

/** The promote category's target: the widest eligible input, as PyTorch's `prioritize`. */
function widestInput(op: string, args: readonly unknown[], device: AutocastDeviceType, autocastDtype: DType): DType | undefined {
  let widest: DType | undefined;
  forEachTensor(args, (t) => {
    if (!eligible(t, device)) return;
    const current = widest ?? autocastDtype;
    if (current === 'float32' || t.dtype === 'float32') widest = 'float32';
    else if (t.dtype === current) widest = current;
    else {
      throw new MixprecError('ERR_AUTOCAST', `${op}: under ${device} autocast with dtype ${autocastDtype}, a ${t.dtype} input cannot be promoted together with ${current} inputs (autocast only mixes ${autocastDtype} with float32); convert it with .to('${autocastDtype}') or .to('float32')`);
    }
  });
  return widest;
}

/** `args` with `dtype` set in the options argument, or undefined when the caller already set one. */
function withDtypeOption(args: readonly unknown[], index: number, dtype: DType): unknown[] | undefined {
  const options = args[index];
  if (isPlainObject(options) && options.dtype !== undefined) return undefined;
  const next = args.slice();
  while (next.length < index) next.push(undefined);
  next[index] = { ...(isPlainObject(options) ? options : {}), dtype };
  return next;
}

function isOutput(t: Tensor, out: unknown): boolean {
  return out === t || (Array.isArray(out) && out.includes(t));
}

function outputDtype(out: unknown): DType | undefined {
  if (out instanceof Tensor) return out.dtype;
  if (Array.isArray(out) && out[0] instanceof Tensor) return out[0].dtype;
  return undefined;
}

/** @internal Runs one op call under the autocast state of `frame`. */
export function dispatchAutocast<R>(frame: AutocastFrame, info: AutocastOpInfo, run: (args: unknown[]) => R, args: unknown[]): R {
  const first = firstTensor(args);
  if (!first) return withoutAutocast(() => run(args));
  const device = first.device.type;
  const state = frame[device];
  const log = frame.log;
  let category: AutocastCategory = 'passThrough';
  let reason: DecisionReason = 'disabled';
  let target: DType | undefined;
  let callArgs = args;
  let caster: Caster | undefined;
  if (state.enabled) {
    category = state.policy.categoryOf(info.name);
    reason = state.policy.isOverridden(info.name) ? 'policyOverride' : 'policy';
    if (category === 'banned') {
      const hint = state.policy.bannedHint(info.name);
      throw new MixprecError('ERR_AUTOCAST', `${info.name}: not allowed inside ${device} autocast (${state.policy.name} policy): it is unsafe to autocast${hint ? `; ${hint}` : ''}`);
    }
    if (category === 'fp32' && info.widened) {
      const lowInput = firstTensor(args.filter((a) => a instanceof Tensor && eligible(a, device) && a.dtype !== 'float32'));
      const widened = lowInput ? withoutAutocast(() => info.widened!(args)) : undefined;
      if (widened !== undefined) {
        const out = widened as R;
        log?.record({ op: info.name, device, inputDtypes: tensorDtypes(args), category, dtype: 'float32', reason, casts: 0, bytesCast: 0, cacheHits: 0, fusedCasts: 0 });
        return out;
      }
    }
    if (category === 'lowerPrecision' && info.castFused && device === 'cpu' && state.castFusion) {
      // A CPU matrix product rounds its float32 operands as it packs them: no cast passes, no copies.
      const c = new Caster(device, state, frame.cache, state.dtype);
      let fused: { result: unknown; fusedInputs: number } | undefined;
      try {
        fused = withoutAutocast(() => info.castFused!(args, state.dtype, (t) => c.one(t)));
      } finally {
        for (const t of c.temporaries) if (!isOutput(t, fused?.result)) t.dispose();
      }
      if (fused !== undefined) {
        log?.record({ op: info.name, device, inputDtypes: tensorDtypes(args), category, dtype: state.dtype, reason, casts: c.stats.casts,
          bytesCast: c.stats.bytes, cacheHits: c.stats.hits, fusedCasts: fused.fusedInputs });
        return fused.result as R;
      }
    }
    if (category === 'lowerPrecision') target = state.dtype;
    else if (category === 'fp32') target = 'float32';
    else if (category === 'promote') target = widestInput(info.name, args, device, state.dtype);
    else if (category === 'fp32SetOptDtype') {
      if (!eligible(first, device)) reason = 'ineligible';
      else {
        const injected = withDtypeOption(args, info.dtypeArg!, 'float32');
        if (injected) {
          callArgs = injected;
          target = 'float32';
        } else reason = 'explicitDtype';
      }
    }
    if (target !== undefined && category !== 'fp32SetOptDtype') {
      const c = new Caster(device, state, frame.cache, target);
      caster = c;
      callArgs = withoutAutocast(() => c.all(args));
      if (c.stats.eligible === 0) reason = 'ineligible';
    }
  }
  let out: R;
  try {
    out = withoutAutocast(() => run(callArgs));
  } finally {
    // The user never sees these casts, so they are freed here (and not left to tidy or the GC);
    // an autograd graph that saved one keeps its memory alive through the saved tensor.
    if (caster) for (const t of caster.temporaries) if (!isOutput(t, out!)) t.dispose();
  }
  if (log) {
    log.record({
      op: info.name, device, inputDtypes: tensorDtypes(args), category, dtype: reason === 'ineligible' || target === undefined ? outputDtype(out) : target, reason,
      casts: caster?.stats.casts ?? 0, bytesCast: caster?.stats.bytes ?? 0, cacheHits: caster?.stats.hits ?? 0, fusedCasts: 0,
    });
  }
  return out;
}
