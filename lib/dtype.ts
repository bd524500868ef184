/**
 * Element types and type promotion (PyTorch's rules, with int32 standing in for int64).
 */
import { argTypeError } from './errors';
import { nativeTable } from './nativeTable';

const dtypeNames = ['float32', 'float16', 'bfloat16', 'float64', 'int32', 'bool'] as const;

/** The element types mixprec stores. */
export type DType = (typeof dtypeNames)[number];

const codes = nativeTable('dtype', dtypeNames);
const sizes = nativeTable('dtypeSize', dtypeNames);

/** Every dtype, in the order of their native codes. */
export const dtypes: readonly DType[] = [...dtypeNames].sort((a, b) => codes[a] - codes[b]);

/** The native code of a dtype. */
export function dtypeCode(dtype: DType): number {
  return codes[dtype];
}

/** Bytes per element. */
export function elementSize(dtype: DType): number {
  return sizes[dtype];
}

/** float16, bfloat16, float32 and float64. */
export function isFloatingPoint(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float16' || dtype === 'bfloat16' || dtype === 'float64';
}

/** True for a value naming a dtype. */
export function isDType(value: unknown): value is DType {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(codes, value);
}

/** Checks a user-supplied dtype, naming `op` and `arg` in the error. */
export function parseDType(op: string, arg: string, value: unknown): DType {
  if (!isDType(value)) {
    throw argTypeError(op, arg, `one of ${dtypes.map((d) => `'${d}'`).join(', ')}`, value, 'ERR_INVALID_DTYPE');
  }
  return value;
}

type Category = 0 | 1 | 2; // bool < integer < floating

function category(dtype: DType): Category {
  return dtype === 'bool' ? 0 : dtype === 'int32' ? 1 : 2;
}

const floatRank: Record<string, number> = { float16: 1, bfloat16: 1, float32: 2, float64: 3 };

/**
 * The dtype two tensors' values combine in: the higher category wins (bool < int < float); two
 * floats give the wider one, and float16 with bfloat16 gives float32 (neither holds the other).
 *
 * @example
 * ```ts
 * mp.promoteTypes('float16', 'float32'); // 'float32'
 * mp.promoteTypes('float16', 'bfloat16'); // 'float32'
 * mp.promoteTypes('int32', 'bfloat16'); // 'bfloat16'
 * ```
 */
export function promoteTypes(a: DType, b: DType): DType {
  // Checked here, not only at the API's edge: an unknown name must never come back as a "dtype".
  if (!isDType(a)) parseDType('promoteTypes', 'type1', a);
  if (!isDType(b)) parseDType('promoteTypes', 'type2', b);
  if (a === b) return a;
  const ca = category(a);
  const cb = category(b);
  if (ca !== cb) return ca > cb ? a : b;
  // Same category and different: both floating.
  if (floatRank[a] === floatRank[b]) return 'float32';
  return floatRank[a] > floatRank[b] ? a : b;
}

/**
 * The category of a JS scalar: booleans are bool, integral numbers int, other numbers float.
 * Integral numbers beyond int64's range (3e38) are float: no integer dtype holds them, and in JS
 * they can only have been written as float literals (as PyTorch's Python float `3e38`).
 */
export function scalarDType(value: number | boolean): DType {
  if (typeof value === 'boolean') return 'bool';
  return Number.isInteger(value) && Math.abs(value) < 2 ** 63 ? 'int32' : 'float32';
}

/**
 * The result dtype of a tensor combined with a JS scalar: the scalar only changes the dtype when
 * its category is higher (PyTorch's wrapped-number rule), e.g. float16 tensor + 2.5 stays
 * float16, int32 tensor + 2.5 becomes float32.
 */
export function promoteWithScalar(tensorDtype: DType, value: number | boolean): DType {
  const s = scalarDType(value);
  return category(s) > category(tensorDtype) ? s : tensorDtype;
}

/** Whether a value of dtype `from` may be written into a tensor of dtype `to` by an in-place op. */
export function canCast(from: DType, to: DType): boolean {
  return category(from) <= category(to);
}
