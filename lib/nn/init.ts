/**
 * Parameter initialisation (PyTorch's torch.nn.init): every function writes into its tensor in
 * place, without recording for autograd, and returns it. Random values are drawn in float32
 * (float64 for float64 tensors) from the given generator (the default one otherwise), then
 * rounded once into the tensor's dtype, so a float16 weight gets the same distribution as a
 * float32 one.
 */
import { noGrad } from '../autograd/gradMode';
import { argRangeError, argTypeError, MixprecRangeError } from '../errors';
import { tidy } from '../memory';
import { Generator, rand, randn } from '../random';
import { numelOf } from '../shape';
import { checkTensor, type Tensor } from '../tensor';
import { checkOptions, finiteNumber } from '../validate';

/** Nonlinearities {@link calculateGain} knows. */
export type Nonlinearity =
  | 'linear' | 'conv1d' | 'conv2d' | 'conv3d' | 'convTranspose1d' | 'convTranspose2d' | 'convTranspose3d'
  | 'sigmoid' | 'tanh' | 'relu' | 'leakyRelu' | 'selu';

const unitGain = ['linear', 'conv1d', 'conv2d', 'conv3d', 'convTranspose1d', 'convTranspose2d', 'convTranspose3d', 'sigmoid'];
const nonlinearities = [...unitGain, 'tanh', 'relu', 'leakyRelu', 'selu'];

/** Options of the random initialisers. */
export interface InitOptions {
  /** Where the random values come from (default: the global generator). */
  generator?: Generator;
}

/** Options of {@link xavierUniform_} and {@link xavierNormal_}. */
export interface XavierOptions extends InitOptions {
  /** Scale factor (default 1), e.g. `calculateGain('tanh')`. */
  gain?: number;
}

/** Options of {@link kaimingUniform_} and {@link kaimingNormal_}. */
export interface KaimingOptions extends InitOptions {
  /** Negative slope of the leaky ReLU that follows (default 0; only used with 'leakyRelu'). */
  a?: number;
  /** Preserve the variance of activations ('fanIn', the default) or of gradients ('fanOut'). */
  mode?: 'fanIn' | 'fanOut';
  /** The nonlinearity that follows (default 'leakyRelu'). */
  nonlinearity?: Nonlinearity;
}

/**
 * The recommended gain for a nonlinearity: 1 for linear/conv/sigmoid, 5/3 for tanh, √2 for
 * relu, √(2 / (1 + slope²)) for leakyRelu (`param` is the slope, default 0.01), 3/4 for selu.
 *
 * @example
 * ```ts
 * mp.nn.init.calculateGain('leakyRelu', 0.2); // 1.3867...
 * ```
 */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  if (!nonlinearities.includes(nonlinearity)) {
    throw argTypeError('calculateGain', 'nonlinearity', `one of ${nonlinearities.map((n) => `'${n}'`).join(', ')}`, nonlinearity);
  }
  if (unitGain.includes(nonlinearity)) return 1;
  if (nonlinearity === 'tanh') return 5 / 3;
  if (nonlinearity === 'relu') return Math.SQRT2;
  if (nonlinearity === 'selu') return 3 / 4;
  const slope = param ?? 0.01;
  if (typeof slope !== 'number' || !Number.isFinite(slope)) throw argTypeError('calculateGain', 'param', 'a finite number (the negative slope)', param);
  return Math.sqrt(2 / (1 + slope * slope));
}

/**
 * `[fanIn, fanOut]` of a weight of shape [out, in, ...kernel]: in (resp. out) times the kernel
 * size.
 *
 * @example
 * ```ts
 * mp.nn.init.calculateFanInAndFanOut(mp.empty([16, 3, 5, 5])); // [75, 400]
 * ```
 */
export function calculateFanInAndFanOut(t: Tensor, op = 'calculateFanInAndFanOut'): [number, number] {
  const shape = checkTensor(op, 'tensor', t).shape;
  if (shape.length < 2) {
    throw new MixprecRangeError('ERR_INVALID_SHAPE', `${op}: fan in and fan out need a tensor with at least 2 dimensions, got shape [${shape.join(', ')}]`);
  }
  const receptive = numelOf(shape.slice(2));
  return [shape[1] * receptive, shape[0] * receptive];
}

function initOptions(op: string, options: unknown, allowed: string[]): Record<string, unknown> {
  const o = checkOptions(op, options, allowed);
  if (o.generator !== undefined && !(o.generator instanceof Generator)) throw argTypeError(op, 'options.generator', 'a Generator', o.generator);
  return o;
}

function floatTensor(op: string, t: unknown): Tensor {
  const x = checkTensor(op, 'tensor', t);
  if (!x.isFloatingPoint()) throw argTypeError(op, 'tensor', 'a floating-point Tensor', x, 'ERR_INVALID_DTYPE');
  return x;
}

/** Writes `low + (high - low) * U[0,1)` ('uniform') or `low + high * N(0,1)` ('normal') into t. */
function fillRandom(t: Tensor, kind: 'uniform' | 'normal', low: number, scale: number, generator: Generator | undefined): Tensor {
  noGrad(() => tidy(() => {
    const o = { dtype: t.dtype === 'float64' ? 'float64' as const : 'float32' as const, device: t.device, generator };
    const unit = kind === 'uniform' ? rand(t.shape, o) : randn(t.shape, o);
    t.copy_(unit.mul(scale).add(low));
  }));
  return t;
}

/**
 * Fills with values uniform in [a, b).
 *
 * @example
 * ```ts
 * mp.nn.init.uniform_(mp.empty([4, 3]), -0.1, 0.1, { generator: new mp.Generator(0) });
 * ```
 */
export function uniform_(tensor: Tensor, a = 0, b = 1, options?: InitOptions): Tensor {
  const t = floatTensor('uniform_', tensor);
  const lo = finiteNumber('uniform_', 'a', a);
  const hi = finiteNumber('uniform_', 'b', b);
  if (hi < lo) throw argRangeError('uniform_', 'b', `a number >= a (${lo})`, b);
  const o = initOptions('uniform_', options, ['generator']);
  return fillRandom(t, 'uniform', lo, hi - lo, o.generator as Generator | undefined);
}

/**
 * Fills with values from N(mean, std²).
 *
 * @example
 * ```ts
 * mp.nn.init.normal_(mp.empty([4, 3]), 0, 0.02);
 * ```
 */
export function normal_(tensor: Tensor, mean = 0, std = 1, options?: InitOptions): Tensor {
  const t = floatTensor('normal_', tensor);
  const m = finiteNumber('normal_', 'mean', mean);
  if (finiteNumber('normal_', 'std', std) < 0) throw argRangeError('normal_', 'std', 'a non-negative number', std);
  const o = initOptions('normal_', options, ['generator']);
  return fillRandom(t, 'normal', m, std, o.generator as Generator | undefined);
}

/**
 * Fills with `value` (rounded once into the dtype).
 *
 * @example
 * ```ts
 * mp.nn.init.constant_(mp.empty([4]), 0.1);
 * ```
 */
export function constant_(tensor: Tensor, value: number): Tensor {
  const t = checkTensor('constant_', 'tensor', tensor);
  if (typeof value !== 'number') throw argTypeError('constant_', 'value', 'a number', value);
  noGrad(() => t.fill_(value));
  return t;
}

/** Fills with zeros. @example `mp.nn.init.zeros_(mp.empty([4]))` */
export function zeros_(tensor: Tensor): Tensor {
  checkTensor('zeros_', 'tensor', tensor);
  return constant_(tensor, 0);
}

/** Fills with ones. @example `mp.nn.init.ones_(new mp.nn.LayerNorm(4).weight)` */
export function ones_(tensor: Tensor): Tensor {
  checkTensor('ones_', 'tensor', tensor);
  return constant_(tensor, 1);
}

/**
 * Glorot uniform: U(-b, b) with b = gain·√(6 / (fanIn + fanOut)).
 *
 * @example
 * ```ts
 * mp.nn.init.xavierUniform_(mp.empty([4, 3]), { gain: mp.nn.init.calculateGain('tanh') });
 * ```
 */
export function xavierUniform_(tensor: Tensor, options?: XavierOptions): Tensor {
  const t = floatTensor('xavierUniform_', tensor);
  const o = initOptions('xavierUniform_', options, ['gain', 'generator']);
  const gain = finiteNumber('xavierUniform_', 'options.gain', o.gain ?? 1);
  const [fanIn, fanOut] = calculateFanInAndFanOut(t, 'xavierUniform_');
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  return fillRandom(t, 'uniform', -bound, 2 * bound, o.generator as Generator | undefined);
}

/**
 * Glorot normal: N(0, std²) with std = gain·√(2 / (fanIn + fanOut)).
 *
 * @example
 * ```ts
 * mp.nn.init.xavierNormal_(mp.empty([4, 3]));
 * ```
 */
export function xavierNormal_(tensor: Tensor, options?: XavierOptions): Tensor {
  const t = floatTensor('xavierNormal_', tensor);
  const o = initOptions('xavierNormal_', options, ['gain', 'generator']);
  const gain = finiteNumber('xavierNormal_', 'options.gain', o.gain ?? 1);
  const [fanIn, fanOut] = calculateFanInAndFanOut(t, 'xavierNormal_');
  return fillRandom(t, 'normal', 0, gain * Math.sqrt(2 / (fanIn + fanOut)), o.generator as Generator | undefined);
}

/** The std of He initialisation for `options`, naming `op` in errors. */
function kaimingStd(op: string, t: Tensor, options: KaimingOptions | undefined): { std: number; generator: Generator | undefined } {
  const o = initOptions(op, options, ['a', 'mode', 'nonlinearity', 'generator']);
  const a = finiteNumber(op, 'options.a', o.a ?? 0);
  const mode = o.mode ?? 'fanIn';
  if (mode !== 'fanIn' && mode !== 'fanOut') throw argTypeError(op, 'options.mode', "'fanIn' or 'fanOut'", mode);
  const [fanIn, fanOut] = calculateFanInAndFanOut(t, op);
  const fan = mode === 'fanIn' ? fanIn : fanOut;
  const gain = calculateGain((o.nonlinearity ?? 'leakyRelu') as Nonlinearity, a);
  return { std: fan === 0 ? 0 : gain / Math.sqrt(fan), generator: o.generator as Generator | undefined };
}

/**
 * He uniform: U(-b, b) with b = gain·√(3 / fan), gain from `nonlinearity` and `a`. With
 * `a: Math.sqrt(5)` this is the default weight initialisation of Linear and Conv2d:
 * U(-1/√fanIn, 1/√fanIn).
 *
 * @example
 * ```ts
 * mp.nn.init.kaimingUniform_(mp.empty([4, 3]), { mode: 'fanIn', nonlinearity: 'relu' });
 * ```
 */
export function kaimingUniform_(tensor: Tensor, options?: KaimingOptions): Tensor {
  const t = floatTensor('kaimingUniform_', tensor);
  const { std, generator } = kaimingStd('kaimingUniform_', t, options);
  const bound = Math.sqrt(3) * std;
  return fillRandom(t, 'uniform', -bound, 2 * bound, generator);
}

/**
 * He normal: N(0, std²) with std = gain / √fan.
 *
 * @example
 * ```ts
 * mp.nn.init.kaimingNormal_(mp.empty([4, 3]), { mode: 'fanOut', nonlinearity: 'relu' });
 * ```
 */
export function kaimingNormal_(tensor: Tensor, options?: KaimingOptions): Tensor {
  const t = floatTensor('kaimingNormal_', tensor);
  const { std, generator } = kaimingStd('kaimingNormal_', t, options);
  return fillRandom(t, 'normal', 0, std, generator);
}
