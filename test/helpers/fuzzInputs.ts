// Inputs and checks for test/fuzz.test.ts: fast-check arbitraries for tensor specifications
// (dtype, shape, values with NaN/Infinity/overflow, a layout that makes the tensor a view of a
// view, disposal), building them, float64 references rounded into a dtype, and the "typed error
// that names the op" rule.
import fc from 'fast-check';

import * as mp from '../../lib';
import { roundTo } from './floatReference';

export type FloatDType = 'float64' | 'float32' | 'float16' | 'bfloat16';
export const floatDTypes: FloatDType[] = ['float32', 'float64', 'float16', 'bfloat16'];
export type AnyDType = FloatDType | 'int32' | 'bool';

/** Relative error allowed per result dtype: a few float32 ulps for computed-in-float32 results,
 * one unit of the 16-bit format (float32 math, then one rounding), 1e-12 for float64. */
export const relTol: Record<FloatDType, number> = { float64: 1e-12, float32: 4 * 2 ** -23, float16: 2 ** -10, bfloat16: 2 ** -7 };
/** The largest finite value of each float dtype. */
export const maxFinite: Record<FloatDType, number> = { float64: Number.MAX_VALUE, float32: 3.4028234663852886e38, float16: 65504, bfloat16: 3.3895313892515355e38 };

export type Layout = 'contiguous' | 'transposed' | 'narrowed' | 'expanded' | 'narrowedTransposed';

/** How to make one input tensor. */
export interface TensorSpec {
  dtype: AnyDType;
  shape: number[];
  pool: number[];
  layout: Layout;
  /** Which dims expand from 1 (for 'expanded'). */
  expandMask: boolean[];
  disposed: boolean;
}

const specials = [NaN, Infinity, -Infinity, 0, -0, 1e5, -7e4, 3e38, 1e-6, 6e-8];

/** Values for float tensors: mostly moderate, sometimes special (overflowing 16-bit, subnormal). */
export const floatValue = (moderate = 4): fc.Arbitrary<number> => fc.oneof(
  { weight: 8, arbitrary: fc.double({ min: -moderate, max: moderate, noNaN: true }) },
  { weight: 3, arbitrary: fc.integer({ min: -3, max: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom(...specials) },
);
/** int32 values; the extremes (2^31 - 1, -2^31) only where `extremes`: properties whose references handle wrap-around. */
export const intValue = (extremes: boolean): fc.Arbitrary<number> => (extremes
  ? fc.oneof({ weight: 6, arbitrary: fc.integer({ min: -5, max: 5 }) }, { weight: 1, arbitrary: fc.constantFrom(2 ** 31 - 1, -(2 ** 31), 65536) })
  : fc.integer({ min: -5, max: 5 }));

export const dimSize = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 4 }) }, { weight: 1, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.constant(1) });
export const shapeArb = (minRank = 0, maxRank = 3): fc.Arbitrary<number[]> => fc.array(dimSize, { minLength: minRank, maxLength: maxRank });

const poolFor = (dtype: AnyDType, moderate: number, extremes: boolean): fc.Arbitrary<number[]> => {
  const v = dtype === 'bool' ? fc.integer({ min: 0, max: 1 }) : dtype === 'int32' ? intValue(extremes) : floatValue(moderate);
  return fc.array(v, { minLength: 1, maxLength: 48 });
};

/** A tensor spec of `dtype` and `shape` (arbitrary when not given). */
export function tensorSpec(dtypeArb: fc.Arbitrary<AnyDType>, shape: fc.Arbitrary<number[]> = shapeArb(), { moderate = 4, extremes = false, disposable = true } = {}): fc.Arbitrary<TensorSpec> {
  return fc.tuple(dtypeArb, shape).chain(([dtype, s]) => fc.record({
    dtype: fc.constant(dtype),
    shape: fc.constant(s),
    pool: poolFor(dtype, moderate, extremes),
    layout: fc.constantFrom<Layout>('contiguous', 'contiguous', 'transposed', 'narrowed', 'expanded', 'narrowedTransposed'),
    expandMask: fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }),
    disposed: disposable ? fc.integer({ min: 0, max: 19 }).map((n) => n === 0) : fc.constant(false),
  }));
}

const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const valuesOf = (pool: number[], n: number) => Array.from({ length: n }, (_, i) => pool[i % pool.length]);

function base(spec: TensorSpec, shape: number[]): mp.Tensor {
  const t = mp.tensor(valuesOf(spec.pool, numel(shape)), { dtype: spec.dtype });
  return t.reshape(shape);
}

/** Makes the tensor a spec describes: through a view chain when its layout says so. */
export function build(spec: TensorSpec): mp.Tensor {
  const s = spec.shape;
  const r = s.length;
  let t: mp.Tensor;
  if (spec.layout === 'transposed' && r >= 2) {
    const b = [...s];
    [b[r - 2], b[r - 1]] = [b[r - 1], b[r - 2]];
    t = base(spec, b).transpose(-1, -2);
  } else if (spec.layout === 'narrowed' && r >= 1) {
    t = base(spec, [s[0] + 2, ...s.slice(1)]).narrow(0, 1, s[0]);
  } else if (spec.layout === 'expanded' && r >= 1) {
    t = base(spec, s.map((d, i) => (spec.expandMask[i] ? 1 : d))).expand(s);
  } else if (spec.layout === 'narrowedTransposed' && r >= 2) {
    const b = [...s];
    [b[r - 2], b[r - 1]] = [b[r - 1] + 2, b[r - 2]];
    t = base(spec, b).narrow(-2, 1, s[r - 1]).transpose(-1, -2);
  } else {
    t = base(spec, s);
  }
  if (spec.disposed) t.dispose();
  return t;
}

/** A tensor's values as float64 numbers, in row-major order. */
export const values = (t: mp.Tensor): number[] => Array.from(t.dataSync() as ArrayLike<number>, Number);

/** float64 → the value a dtype stores (int32 wraps, bool is x != 0). */
export function roundInto(v: number, dtype: AnyDType): number {
  if (dtype === 'bool') return v !== 0 ? 1 : 0;
  if (dtype === 'int32') return v | 0;
  return roundTo(v, dtype);
}

/**
 * Whether `got` (stored in `dtype`) matches the float64 reference `ref`: NaN for NaN, the same
 * infinity, else within relTol·|ref| + absTol; results within relTol of the dtype's largest value
 * may round either to it or to infinity.
 */
export function close(got: number, ref: number, dtype: AnyDType, absTol = 0, rel?: number): boolean {
  if (dtype === 'bool' || dtype === 'int32') return Object.is(got, ref) || got === ref;
  const r = rel ?? relTol[dtype];
  if (Number.isNaN(ref)) return Number.isNaN(got);
  const edge = maxFinite[dtype] * (1 - 2 * r);
  if (!Number.isFinite(ref)) return got === ref || (Math.sign(got) === Math.sign(ref) && Math.abs(got) >= edge);
  if (!Number.isFinite(got)) return Math.abs(ref) >= edge && Math.sign(got) === Math.sign(ref);
  return Math.abs(got - ref) <= r * Math.abs(ref) + absTol;
}

/** The first mismatch between `got` and `ref` (elementwise), or undefined. */
export function firstMismatch(got: number[], ref: number[], dtype: AnyDType, absTol: number | ((i: number) => number) = 0, rel?: number): string | undefined {
  if (got.length !== ref.length) return `length ${got.length}, expected ${ref.length}`;
  for (let i = 0; i < got.length; ++i) {
    const a = typeof absTol === 'function' ? absTol(i) : absTol;
    if (!close(got[i], ref[i], dtype, a, rel)) return `element ${i}: got ${got[i]}, expected ${ref[i]} (${dtype}, abs tol ${a})`;
  }
  return undefined;
}

/** The smallest positive subnormal of a dtype (the absolute floor of a comparison). */
export const tiny: Record<FloatDType, number> = { float64: 5e-324, float32: 2 ** -149, float16: 2 ** -24, bfloat16: 2 ** -133 };

/** Throws unless `e` is a mixprec TypeError/RangeError/MixprecError with a code, naming `op`. */
export function expectTypedError(e: unknown, op: string | string[], context: string): void {
  const ops = Array.isArray(op) ? op : [op];
  const typed = e instanceof mp.MixprecError || e instanceof TypeError || e instanceof RangeError;
  const code = (e as { code?: unknown }).code;
  const message = e instanceof Error ? e.message : String(e);
  if (!typed || typeof code !== 'string' || !code.startsWith('ERR_') || !ops.some((o) => message.includes(o))) {
    throw new Error(`${context}: expected a typed mixprec error naming ${ops.join('/')}, got ${(e as Error)?.constructor?.name}: ${code} ${message}`);
  }
}

/** float64 broadcasting of shapes, or undefined when they do not broadcast. */
export function broadcastShapes(a: number[], b: number[]): number[] | undefined {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; ++i) {
    const x = a[a.length - r + i] ?? 1;
    const y = b[b.length - r + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return undefined;
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** Row-major strides, and the index of `shape`'s element at multi-index `idx` broadcast from `shape`. */
export function broadcastIndex(outShape: number[], shape: number[], flat: number): number {
  let rem = flat;
  let index = 0;
  let stride = 1;
  for (let i = outShape.length - 1; i >= 0; --i) {
    const c = rem % outShape[i];
    rem = Math.floor(rem / outShape[i]);
    const j = i - (outShape.length - shape.length);
    if (j >= 0) {
      if (shape[j] !== 1) index += c * stride;
      stride *= shape[j];
    }
  }
  return index;
}
