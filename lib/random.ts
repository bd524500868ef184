/**
 * Seeded random tensors from a counter-based generator (Philox4x32-10): element i of a call uses
 * counter `offset + i`, so values are the same whatever the thread count, and the same on CPU
 * and CUDA for rand/randint (randn may differ in the last bit: the GPU's log/cos differ).
 */
import { dtypeCode, isFloatingPoint, type DType } from './dtype';
import { argRangeError, argTypeError, MixprecTypeError } from './errors';
import { native } from './native';
import { nativeTable } from './nativeTable';
import { allocate } from './creation';
import { resolveOptions, TENSOR_OPTION_KEYS, type TensorOptions } from './options';
import { parseShape } from './shape';
import type { Tensor } from './tensor';

const UINT64 = (1n << 64n) - 1n;
/** PyTorch's default seed, so an unseeded program is still reproducible. */
const DEFAULT_SEED = 67280421310721n;

function toSeed(op: string, seed: unknown): bigint {
  if (typeof seed === 'bigint') return seed & UINT64;
  if (typeof seed === 'number' && Number.isSafeInteger(seed)) return BigInt(seed) & UINT64;
  throw argTypeError(op, 'seed', 'a safe integer or a bigint', seed);
}

/**
 * A random stream: a 64-bit seed and how many counters were used.
 *
 * @example
 * ```ts
 * const g = new mp.Generator(42);
 * const a = mp.rand([3], { generator: g });
 * ```
 */
export class Generator {
  private seed: bigint;
  private offset = 0n;

  constructor(seed: number | bigint = DEFAULT_SEED) {
    this.seed = toSeed('Generator', seed);
  }

  /** Restarts the stream from `seed`. Returns this generator. */
  manualSeed(seed: number | bigint): this {
    this.seed = toSeed('manualSeed', seed);
    this.offset = 0n;
    return this;
  }

  /** The seed the stream started from. */
  initialSeed(): bigint {
    return this.seed;
  }

  /** The stream position, to save and restore. */
  getState(): { seed: bigint; offset: bigint } {
    return { seed: this.seed, offset: this.offset };
  }

  setState(state: { seed: bigint; offset: bigint }): this {
    if (typeof state?.seed !== 'bigint' || typeof state.offset !== 'bigint') {
      throw argTypeError('Generator.setState', 'state', '{seed: bigint, offset: bigint}', state);
    }
    this.seed = state.seed & UINT64;
    this.offset = state.offset & UINT64;
    return this;
  }

  /** Reserves `n` counters and returns the first. @internal */
  take(n: number): bigint {
    const start = this.offset;
    this.offset = (this.offset + BigInt(n)) & UINT64;
    return start;
  }
}

/** The generator used when a call names none. */
export const defaultGenerator = new Generator();

/**
 * Seeds the default generator. Returns it.
 *
 * @example
 * ```ts
 * mp.manualSeed(0);
 * const a = mp.randn([2]);
 * mp.manualSeed(0);
 * const b = mp.randn([2]); // same values as a
 * ```
 */
export function manualSeed(seed: number | bigint): Generator {
  return defaultGenerator.manualSeed(seed);
}

/** Options of the random functions. */
export interface RandomOptions extends TensorOptions {
  generator?: Generator;
}

const RANDOM_KEYS = [...TENSOR_OPTION_KEYS, 'generator'] as const;

const kindNames = ['uniform', 'normal', 'integer'] as const;
type Kind = (typeof kindNames)[number];
const kinds = nativeTable('randomKind', kindNames);

function fillRandom(op: string, shape: unknown, options: RandomOptions | undefined, kind: Kind, a: number, b: number, defaultDtype: DType): Tensor {
  const sizes = parseShape(op, 'shape', shape);
  const o = resolveOptions(op, options, RANDOM_KEYS, defaultDtype);
  const generator = o.generator ?? defaultGenerator;
  if (!(generator instanceof Generator)) throw argTypeError(op, 'options.generator', 'a Generator', generator);
  if (kind !== 'integer' && !isFloatingPoint(o.dtype)) {
    throw new MixprecTypeError('ERR_INVALID_DTYPE', `${op}: dtype must be floating point, got ${o.dtype}`);
  }
  const t = allocate(op, sizes, o);
  native.random(kinds[kind], dtypeCode(o.dtype), t.storage.handle, 0, t.numel, generator.getState().seed, generator.take(t.numel), a, b);
  return t;
}

/**
 * Uniform values in [0, 1). Values are exact in the dtype and never round up to 1.
 *
 * @example
 * ```ts
 * mp.rand([2, 3], { dtype: 'bfloat16' });
 * ```
 */
export function rand(shape: number[] | number, options?: RandomOptions): Tensor {
  return fillRandom('rand', shape, options, 'uniform', 0, 1, 'float32');
}

/**
 * Standard normal values (Box-Muller).
 *
 * @example
 * ```ts
 * mp.randn([128, 64], { generator: new mp.Generator(1) });
 * ```
 */
export function randn(shape: number[] | number, options?: RandomOptions): Tensor {
  return fillRandom('randn', shape, options, 'normal', 0, 1, 'float32');
}

/**
 * Integers uniform in [low, high) (int32 by default), high - low at most 2^32.
 *
 * @example
 * ```ts
 * mp.randint(0, 10, [5]);
 * ```
 */
export function randint(low: number, high: number, shape: number[] | number, options?: RandomOptions): Tensor {
  if (!Number.isSafeInteger(low)) throw argTypeError('randint', 'low', 'an integer', low);
  if (!Number.isSafeInteger(high)) throw argTypeError('randint', 'high', 'an integer', high);
  if (!(high > low) || high - low > 2 ** 32) throw argRangeError('randint', 'high', `an integer with 0 < high - low <= 2^32 (low is ${low})`, high);
  return fillRandom('randint', shape, options, 'integer', low, high, 'int32');
}
