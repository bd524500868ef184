/**
 * `customFwd` / `customBwd`: autocast for custom autograd Functions (PyTorch's
 * `torch.amp.custom_fwd` / `custom_bwd`). Inputs of a Function are not autocast by themselves;
 * these wrappers either run forward under the caller's autocast state and replay that state in
 * backward, or cast floating inputs to one dtype and run both passes with autocast off.
 */
import { isFloatingPoint, parseDType, type DType } from '../dtype';
import { argTypeError, MixprecError, MixprecTypeError } from '../errors';
import { Tensor } from '../tensor';
import { autocast } from './autocast';
import { checkDeviceType, currentFrame, withoutAutocast } from '../autocast/state';
import type { AutocastDeviceType } from '../autocast/policy';

/** Options of {@link customFwd}. */
export interface CustomFwdOptions {
  /** The device type whose autocast state applies. */
  deviceType: AutocastDeviceType;
  /**
   * When set and autocast is on: floating inputs on `deviceType` (not float64; also inside arrays
   * and plain objects) are converted to this dtype, and forward and backward run with autocast off.
   */
  castInputs?: DType;
}

/** Options of {@link customBwd}. */
export interface CustomBwdOptions {
  /** The device type, as given to {@link customFwd}. */
  deviceType: AutocastDeviceType;
}

// Any forward/backward signature: (ctx, ...inputs) with the user's own types.
type Method = (...args: never[]) => unknown;
type Invoke = (this: unknown, ctx: object, ...args: unknown[]) => unknown;

/** The autocast state forward ran with, per Function context, for backward to replay. */
const forwardStates = new WeakMap<object, { enabled: boolean; dtype: DType }>();

/** `value` with floating tensors on `device` converted; new tensors are pushed to `made`. */
function castNested(value: unknown, device: AutocastDeviceType, dtype: DType, made: Tensor[]): unknown {
  if (value instanceof Tensor) {
    if (value.device.type !== device || !isFloatingPoint(value.dtype) || value.dtype === 'float64' || value.dtype === dtype) return value;
    const cast = value.to(dtype);
    made.push(cast);
    return cast;
  }
  if (Array.isArray(value)) return value.map((v) => castNested(v, device, dtype, made));
  if (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, castNested(v, device, dtype, made)]));
  }
  return value;
}

function checkOptions(op: string, options: unknown): Record<string, unknown> {
  if (typeof options !== 'object' || options === null) throw argTypeError(op, 'options', "an options object such as { deviceType: 'cpu' }", options);
  return options as Record<string, unknown>;
}

/** Applies `wrap` to a function, or returns a decorator that does (standard decorators). */
function decorate<F extends Method>(op: string, wrap: (fn: F) => F, fn: F | undefined): F | ((fn: F, context?: unknown) => F) {
  const apply = (f: F): F => {
    if (typeof f !== 'function') throw argTypeError(op, 'fn', 'a function (a Function subclass\'s static forward/backward)', f);
    return wrap(f);
  };
  return fn === undefined ? (f: F) => apply(f) : apply(fn);
}

/**
 * Wraps a custom Function's static `forward` for autocast. Without `castInputs`, forward runs
 * under the current autocast state (its ops autocast as usual) and {@link customBwd} replays
 * that state; with `castInputs`, floating inputs are converted and forward runs with autocast
 * off. Use as a function or as a (standard) decorator.
 *
 * @example
 * ```ts
 * class MyLinear extends mp.autograd.Function {
 *   // An op written for float32 only: inputs arrive in float32 even inside autocast.
 *   static forward = mp.amp.customFwd({ deviceType: 'cpu', castInputs: 'float32' }, (ctx, x: mp.Tensor, w: mp.Tensor) => {
 *     ctx.saveForBackward(x, w);
 *     return x.matmul(w.t());
 *   });
 *   static backward = mp.amp.customBwd({ deviceType: 'cpu' }, (ctx, g: mp.Tensor) => {
 *     const [x, w] = ctx.savedTensors;
 *     return [g.matmul(w), g.t().matmul(x)];
 *   });
 * }
 * ```
 */
export function customFwd<F extends Method>(options: CustomFwdOptions, fn: F): F;
export function customFwd(options: CustomFwdOptions): <F extends Method>(fn: F, context?: unknown) => F;
export function customFwd<F extends Method>(options: CustomFwdOptions, fn?: F): F | ((fn: F, context?: unknown) => F) {
  const op = 'amp.customFwd';
  const o = checkOptions(op, options);
  const deviceType = checkDeviceType(op, o.deviceType, 'options.deviceType');
  let castInputs: DType | undefined;
  if (o.castInputs !== undefined) {
    castInputs = parseDType(op, 'options.castInputs', o.castInputs);
    if (!isFloatingPoint(castInputs)) throw new MixprecTypeError('ERR_INVALID_DTYPE', `${op}: options.castInputs must be a floating-point dtype, got ${castInputs}`);
  }
  const wrap = (fwd: F): F => function (this: unknown, ctx: object, ...args: unknown[]) {
    const forward = fwd as unknown as Invoke;
    const frame = currentFrame();
    const state = frame[deviceType];
    if (castInputs === undefined) {
      forwardStates.set(ctx, { enabled: state.enabled, dtype: state.dtype });
      return forward.call(this, ctx, ...args);
    }
    forwardStates.set(ctx, { enabled: false, dtype: state.dtype });
    if (!state.enabled) return forward.call(this, ctx, ...args);
    const target = castInputs;
    const made: Tensor[] = [];
    const cast = withoutAutocast(() => args.map((a) => castNested(a, deviceType, target, made)));
    if (frame.log) {
      const inputDtypes: DType[] = [];
      const collect = (v: unknown): void => {
        if (v instanceof Tensor) inputDtypes.push(v.dtype);
        else if (Array.isArray(v)) v.forEach(collect);
        else if (typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype) Object.values(v).forEach(collect);
      };
      args.forEach(collect);
      const name = typeof this === 'function' && this.name ? this.name : 'customFwd';
      frame.log.record({ op: name, device: deviceType, inputDtypes, category: 'passThrough', dtype: target, reason: 'customFwd', casts: 0, bytesCast: 0, cacheHits: 0, fusedCasts: 0 });
    }
    let out: unknown;
    try {
      out = autocast({ deviceType, enabled: false }, () => forward.call(this, ctx, ...cast));
    } finally {
      // The casts are ours: freed once forward ran (tensors it saved keep their memory).
      for (const t of made) if (t !== out && !(Array.isArray(out) && out.includes(t))) t.dispose();
    }
    return out;
  } as unknown as F;
  return decorate(op, wrap, fn);
}

/**
 * Wraps a custom Function's static `backward` so it runs under the autocast state its
 * {@link customFwd}-wrapped forward saw (off when forward used `castInputs`).
 *
 * @example
 * ```ts
 * class Double extends mp.autograd.Function {
 *   static forward = mp.amp.customFwd({ deviceType: 'cpu' }, (ctx: mp.autograd.FunctionCtx, x: mp.Tensor) => x.mul(2));
 *   static backward = mp.amp.customBwd({ deviceType: 'cpu' }, (ctx: mp.autograd.FunctionCtx, g: mp.Tensor) => g.mul(2));
 * }
 * (Double.apply(mp.ones([2]).requiresGrad_()) as mp.Tensor).sum().backward();
 * ```
 */
export function customBwd<F extends Method>(options: CustomBwdOptions, fn: F): F;
export function customBwd(options: CustomBwdOptions): <F extends Method>(fn: F, context?: unknown) => F;
export function customBwd<F extends Method>(options: CustomBwdOptions, fn?: F): F | ((fn: F, context?: unknown) => F) {
  const op = 'amp.customBwd';
  const deviceType = checkDeviceType(op, checkOptions(op, options).deviceType, 'options.deviceType');
  const wrap = (bwd: F): F => function (this: unknown, ctx: object, ...grads: unknown[]) {
    const backward = bwd as unknown as Invoke;
    const state = forwardStates.get(ctx);
    if (!state) {
      throw new MixprecError('ERR_AUTOGRAD', `${op}: this backward's forward was not wrapped with mp.amp.customFwd, so there is no autocast state to replay; wrap forward with customFwd({ deviceType: '${deviceType}' })`);
    }
    return autocast({ deviceType, enabled: state.enabled, dtype: state.dtype }, () => backward.call(this, ctx, ...grads));
  } as unknown as F;
  return decorate(op, wrap, fn);
}
