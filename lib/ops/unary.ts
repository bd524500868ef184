/**
 * Unary math and activations: neg abs exp log log1p expm1 sqrt rsqrt reciprocal sin cos tanh
 * sigmoid relu leakyRelu elu gelu silu softplus clamp erf sign. Integer inputs of the float-only ops
 * compute in float32 (as PyTorch's do); 16-bit values compute in float32 and round once.
 */
import { dtypeCode, isFloatingPoint, type DType } from '../dtype';
import { argTypeError, MixprecTypeError } from '../errors';
import { native } from '../native';
import { nativeTable } from '../nativeTable';
import { Tensor } from '../tensor';
import { numberArg } from '../validate';
import { checkTensor, newResult, withDtype } from './operands';
import type { OpAutocastDecl } from '../autocast/policy';
import { thresholdBackward } from './elementwise';
import { defineOp } from './registry';
import { geluApproximation, geluForward, geluGradient, type GeluOptions } from './gelu';

// powScalar has a native code but no op here (pow with a scalar exponent is binaryScalar).
const unaryNames = [
  'neg', 'abs', 'exp', 'log', 'log1p', 'expm1', 'sqrt', 'rsqrt', 'reciprocal', 'sin', 'cos', 'tanh', 'sigmoid', 'relu',
  'leakyRelu', 'elu', 'gelu', 'geluTanh', 'silu', 'softplus', 'clamp', 'powScalar', 'erf', 'sign',
] as const;
type UnaryName = (typeof unaryNames)[number];
const codes = nativeTable('unaryOp', unaryNames);

/** Ops that keep integer dtypes; the others compute integers as float32. */
const integerOps = new Set<UnaryName>(['neg', 'abs', 'relu', 'clamp', 'sign']);

function unary(name: UnaryName, opName: string, input: Tensor, p0 = 0, p1 = 0, forceFloat = false): Tensor {
  const t = checkTensor(opName, 'input', input);
  if (t.dtype === 'bool' && integerOps.has(name)) {
    throw new MixprecTypeError('ERR_INVALID_DTYPE', `${opName}: not defined for bool tensors (convert with .int() or .float() first)`);
  }
  const dtype: DType = isFloatingPoint(t.dtype) || (integerOps.has(name) && !forceFloat) ? t.dtype : 'float32';
  const out = newResult(opName, t.shape, dtype, t);
  withDtype(t, dtype, (x) => {
    native.unary(codes[name], dtypeCode(dtype), x.storage.handle, x.offset, out.storage.handle, out.offset, t.numel, p0, p1);
  });
  return out;
}

type Backward = (x: Tensor, out: Tensor, g: Tensor) => Tensor;

/** Which tensor an op's gradient formula reads: only that one is kept for backward. */
type Saves = 'input' | 'output' | 'neither';

/**
 * Declares a parameterless unary op. Backward keeps only the tensor its formula reads (`saves`;
 * the other argument of `backward` is then undefined), as PyTorch does: relu keeps its output,
 * so the input it came from (a linear or conv output) can be freed as soon as nothing else
 * holds it.
 */
function unaryOp(name: UnaryName, autocast: OpAutocastDecl, saves: Saves, backward: Backward): (x: Tensor) => Tensor {
  return defineOp({
    name,
    autocast,
    forward: (x: Tensor): Tensor => unary(name, name, x),
    save: ([x], out) => (saves === 'input' ? [x] : saves === 'output' ? [out] : []),
    backward: ({ saved: [kept] }, [g]) => [g && backward(saves === 'input' ? kept : undefined!, saves === 'output' ? kept : undefined!, g)],
  });
}

const positive = (x: Tensor): Tensor => x.gt(0).to(x.dtype);

/** `-x` (not for bool). @example `mp.neg(mp.tensor([-0.5, 2]))` */
export const neg: (x: Tensor) => Tensor = unaryOp('neg', 'passThrough', 'neither', (_x, _o, g) => g.neg());
/** `|x|`. @example `mp.abs(mp.tensor([-0.5, 2]))` */
export const abs: (x: Tensor) => Tensor = unaryOp('abs', 'passThrough', 'input', (x, _o, g) => g.mul(sign(x)));
/** `e^x`. @example `mp.exp(mp.tensor([-0.5, 2]))` */
export const exp: (x: Tensor) => Tensor = unaryOp('exp', { cuda: 'fp32', cpu: 'passThrough' }, 'output', (_x, out, g) => g.mul(out));
/** Natural logarithm. @example `mp.log(mp.tensor([0.5, 2]))` */
export const log: (x: Tensor) => Tensor = unaryOp('log', { cuda: 'fp32', cpu: 'passThrough' }, 'input', (x, _o, g) => g.div(x));
/** `log(1 + x)`, accurate near 0. @example `mp.log1p(mp.tensor([0.5, 2]))` */
export const log1p: (x: Tensor) => Tensor = unaryOp('log1p', { cuda: 'fp32', cpu: 'passThrough' }, 'input', (x, _o, g) => g.div(x.add(1)));
/** `e^x - 1`, accurate near 0. @example `mp.expm1(mp.tensor([-0.5, 2]))` */
export const expm1: (x: Tensor) => Tensor = unaryOp('expm1', { cuda: 'fp32', cpu: 'passThrough' }, 'output', (_x, out, g) => g.mul(out.add(1)));
/** Square root. @example `mp.sqrt(mp.tensor([0.5, 2]))` */
export const sqrt: (x: Tensor) => Tensor = unaryOp('sqrt', 'passThrough', 'output', (_x, out, g) => g.div(out.mul(2)));
/** `1 / sqrt(x)`. @example `mp.rsqrt(mp.tensor([0.5, 2]))` */
export const rsqrt: (x: Tensor) => Tensor = unaryOp('rsqrt', { cuda: 'fp32', cpu: 'passThrough' }, 'output', (_x, out, g) => g.mul(out.pow(3)).mul(-0.5));
/** `1 / x`. @example `mp.reciprocal(mp.tensor([0.5, 2]))` */
export const reciprocal: (x: Tensor) => Tensor = unaryOp('reciprocal', { cuda: 'fp32', cpu: 'passThrough' }, 'output', (_x, out, g) => g.mul(out.mul(out)).neg());
/** Sine. @example `mp.sin(mp.tensor([-0.5, 2]))` */
export const sin: (x: Tensor) => Tensor = unaryOp('sin', 'passThrough', 'input', (x, _o, g) => g.mul(x.cos()));
/** Cosine. @example `mp.cos(mp.tensor([-0.5, 2]))` */
export const cos: (x: Tensor) => Tensor = unaryOp('cos', 'passThrough', 'input', (x, _o, g) => g.mul(x.sin()).neg());
/** Hyperbolic tangent. @example `mp.tanh(mp.tensor([-0.5, 2]))` */
export const tanh: (x: Tensor) => Tensor = unaryOp('tanh', 'passThrough', 'output', (_x, out, g) => g.mul(out.mul(out).neg().add(1)));
/** `1 / (1 + e^-x)`. @example `mp.sigmoid(mp.tensor([-0.5, 2]))` */
export const sigmoid: (x: Tensor) => Tensor = unaryOp('sigmoid', 'passThrough', 'output', (_x, out, g) => g.mul(out.mul(out.neg().add(1))));
/** `max(x, 0)` (NaN stays NaN). @example `mp.relu(mp.tensor([-0.5, 2]))` */
export const relu: (x: Tensor) => Tensor = unaryOp('relu', 'passThrough', 'output', (_x, out, g) => thresholdBackward(g, out));
/** `x * sigmoid(x)`. @example `mp.silu(mp.tensor([-0.5, 2]))` */
export const silu: (x: Tensor) => Tensor = unaryOp('silu', 'passThrough', 'input', (x, _o, g) => {
  const s = x.sigmoid();
  return g.mul(s.mul(x.mul(s.neg().add(1)).add(1)));
});
/** The error function `2/√π ∫₀ˣ e^(-t²) dt`. @example `mp.erf(mp.tensor([-0.5, 2]))` */
export const erf: (x: Tensor) => Tensor = unaryOp('erf', 'passThrough', 'input', (x, _o, g) => g.mul(x.mul(x).neg().exp().mul(2 / Math.sqrt(Math.PI))));
/** -1, 0 or +1 by the sign of x (int32 stays int32; ±0 and NaN are kept). @example `mp.sign(mp.tensor([-0.5, 2]))` */
export const sign: (x: Tensor) => Tensor = unaryOp('sign', 'passThrough', 'neither', (_x, _o, g) => g.mul(0));

/** `x` for x ≥ 0, `negativeSlope * x` otherwise. @example `mp.leakyRelu(mp.tensor([-0.5, 2]), 0.2)` */
export const leakyRelu: (x: Tensor, negativeSlope?: number) => Tensor = defineOp({
  name: 'leakyRelu',
  autocast: 'passThrough',
  forward: (x: Tensor, negativeSlope = 0.01): Tensor => unary('leakyRelu', 'leakyRelu', x, numberArg('leakyRelu', 'negativeSlope', negativeSlope)),
  save: ([x]) => [x],
  backward: ({ args: [, slope = 0.01], saved: [x] }, [g]) => {
    const p = positive(x);
    return [g && g.mul(p.add(p.neg().add(1).mul(slope)))];
  },
});

/** `x` for x > 0, `alpha * (e^x - 1)` otherwise. @example `mp.elu(mp.tensor([-0.5, 2]))` */
export const elu: (x: Tensor, alpha?: number) => Tensor = defineOp({
  name: 'elu',
  autocast: 'passThrough',
  forward: (x: Tensor, alpha = 1): Tensor => unary('elu', 'elu', x, numberArg('elu', 'alpha', alpha)),
  save: ([x], out) => [x, out],
  backward: ({ args: [, alpha = 1], saved: [x, out] }, [g]) => {
    const p = positive(x);
    return [g && g.mul(p.add(p.neg().add(1).mul(out.add(alpha))))];
  },
});
/**
 * GELU: `x * Φ(x)` exactly (erf), or PyTorch's tanh approximation with `{approximate: 'tanh'}`.
 * Forward and backward are one native pass each (floating inputs: the fused kernel of biasGelu
 * without a bias, vectorized; integers compute in float32 through the unary kernel).
 * @example `mp.gelu(mp.tensor([-0.5, 2]), { approximate: 'tanh' })`
 */
export const gelu: (x: Tensor, options?: GeluOptions) => Tensor = defineOp({
  name: 'gelu',
  autocast: 'passThrough',
  forward: (x: Tensor, options?: GeluOptions): Tensor => {
    const approximate = geluApproximation('gelu', options);
    if (isFloatingPoint(checkTensor('gelu', 'input', x).dtype)) return geluForward(x, approximate);
    return approximate === 'tanh' ? unary('geluTanh', 'gelu', x) : unary('gelu', 'gelu', x);
  },
  save: ([x]) => [x],
  backward: ({ args: [, options], saved: [x] }, [g]) => [g && geluGradient(x, undefined, g, geluApproximation('gelu', options))],
});

/**
 * `log(1 + e^(beta x)) / beta`, and `x` where `beta x > threshold` (PyTorch's defaults 1, 20).
 * @example `mp.softplus(mp.tensor([-0.5, 2]), { beta: 2 })`
 */
export const softplus: (x: Tensor, options?: { beta?: number; threshold?: number }) => Tensor = defineOp({
  name: 'softplus',
  autocast: { cuda: 'fp32', cpu: 'passThrough' },
  forward: (x: Tensor, options?: { beta?: number; threshold?: number }): Tensor => {
    const beta = numberArg('softplus', 'options.beta', options?.beta ?? 1);
    const threshold = numberArg('softplus', 'options.threshold', options?.threshold ?? 20);
    return unary('softplus', 'softplus', x, beta, threshold);
  },
  save: ([x]) => [x],
  backward: ({ args: [, options], saved: [x] }, [g]) => {
    const beta = options?.beta ?? 1;
    const threshold = options?.threshold ?? 20;
    const linear = x.mul(beta).gt(threshold).to(x.dtype);
    const s = x.mul(beta).sigmoid();
    return [g && g.mul(linear.add(linear.neg().add(1).mul(s)))];
  },
});

/**
 * Limits values to [min, max] (either bound may be omitted; NaN stays NaN); with min > max
 * every value becomes max, as PyTorch's min(max(x, min), max). An integer tensor with a
 * fractional bound computes in float32.
 * @example `mp.clamp(mp.tensor([-0.5, 2]), 0, 1)`, `mp.clamp(mp.tensor([-1, 8]), undefined, 6)`
 */
export const clamp: (x: Tensor, min?: number, max?: number) => Tensor = defineOp({
  name: 'clamp',
  autocast: 'passThrough',
  forward: (x: Tensor, min?: number, max?: number): Tensor => clampForward(x, min, max),
  save: ([x]) => [x],
  backward: ({ args: [, min, max], saved: [x] }, [g]) => {
    // PyTorch passes the gradient where min <= x <= max (boundaries included).
    let inside = x.eq(x).to(x.dtype);
    if (min !== undefined) inside = inside.mul(x.ge(min).to(x.dtype));
    if (max !== undefined) inside = inside.mul(x.le(max).to(x.dtype));
    return [g && g.mul(inside)];
  },
});

function clampForward(x: Tensor, min?: number, max?: number): Tensor {
  if (min === undefined && max === undefined) throw argTypeError('clamp', 'min', 'a number (at least one of min and max)', min);
  const lo = min === undefined ? -Infinity : numberArg('clamp', 'min', min);
  const hi = max === undefined ? Infinity : numberArg('clamp', 'max', max);
  const t = checkTensor('clamp', 'input', x);
  const fractional = !Number.isInteger(lo) && Number.isFinite(lo) || (!Number.isInteger(hi) && Number.isFinite(hi));
  if (!isFloatingPoint(t.dtype) && t.dtype !== 'bool') {
    // Integer tensors: infinite bounds become the int32 range; fractional ones promote.
    const bound = (v: number) => Math.max(-2147483648, Math.min(2147483647, v));
    return unary('clamp', 'clamp', t, bound(lo), bound(hi), fractional);
  }
  return unary('clamp', 'clamp', t, lo, hi);
}

declare module '../tensor' {
  interface Tensor {
    neg(): Tensor;
    abs(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    log1p(): Tensor;
    expm1(): Tensor;
    sqrt(): Tensor;
    rsqrt(): Tensor;
    reciprocal(): Tensor;
    sin(): Tensor;
    cos(): Tensor;
    tanh(): Tensor;
    sigmoid(): Tensor;
    relu(): Tensor;
    silu(): Tensor;
    erf(): Tensor;
    sign(): Tensor;
    leakyRelu(negativeSlope?: number): Tensor;
    elu(alpha?: number): Tensor;
    gelu(options?: { approximate?: 'none' | 'tanh' }): Tensor;
    softplus(options?: { beta?: number; threshold?: number }): Tensor;
    clamp(min?: number, max?: number): Tensor;
  }
}

/** Attaches the Tensor methods declared above. Called once by `ops/install.ts`. */
export function installUnaryMethods(): void {
  const methods = { neg, abs, exp, log, log1p, expm1, sqrt, rsqrt, reciprocal, sin, cos, tanh, sigmoid, relu, silu, erf, sign } as const;
  for (const [name, fn] of Object.entries(methods)) {
    (Tensor.prototype as unknown as Record<string, unknown>)[name] = function (this: Tensor) { return fn(this); };
  }
  Tensor.prototype.leakyRelu = function (this: Tensor, negativeSlope?: number) { return leakyRelu(this, negativeSlope); };
  Tensor.prototype.elu = function (this: Tensor, alpha?: number) { return elu(this, alpha); };
  Tensor.prototype.gelu = function (this: Tensor, options?: { approximate?: 'none' | 'tanh' }) { return gelu(this, options); };
  Tensor.prototype.softplus = function (this: Tensor, options?: { beta?: number; threshold?: number }) { return softplus(this, options); };
  Tensor.prototype.clamp = function (this: Tensor, min?: number, max?: number) { return clamp(this, min, max); };
}
