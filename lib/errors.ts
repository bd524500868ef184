/**
 * Errors raised by mixprec. Argument problems are `TypeError` / `RangeError`; everything else
 * (out of memory, disposed tensors, missing CUDA, device mismatches) is a {@link MixprecError}.
 * All of them carry a stable `code` and a message naming the op, the argument, what was
 * expected and what came.
 */

/** Error codes used by mixprec. */
export type ErrorCode =
  | 'ERR_INVALID_ARG'
  | 'ERR_INVALID_SHAPE'
  | 'ERR_INVALID_DTYPE'
  | 'ERR_INVALID_DEVICE'
  | 'ERR_OUT_OF_BOUNDS'
  | 'ERR_INDEX_OUT_OF_RANGE'
  | 'ERR_OUT_OF_MEMORY'
  | 'ERR_DISPOSED'
  | 'ERR_CUDA_UNAVAILABLE'
  | 'ERR_CUDA'
  | 'ERR_DEVICE_MISMATCH'
  | 'ERR_DTYPE_MISMATCH'
  | 'ERR_SHAPE_MISMATCH'
  | 'ERR_NONFINITE'
  | 'ERR_NAPI'
  | 'ERR_NATIVE_ADDON'
  | 'ERR_AUTOGRAD'
  | 'ERR_AUTOCAST'
  | 'ERR_IO'
  | 'ERR_SAFETENSORS_HEADER_TOO_SMALL'
  | 'ERR_SAFETENSORS_HEADER_TOO_LARGE'
  | 'ERR_SAFETENSORS_HEADER_LENGTH'
  | 'ERR_SAFETENSORS_HEADER_JSON'
  | 'ERR_SAFETENSORS_DUPLICATE_KEY'
  | 'ERR_SAFETENSORS_METADATA'
  | 'ERR_SAFETENSORS_TENSOR_INFO'
  | 'ERR_SAFETENSORS_DTYPE'
  | 'ERR_SAFETENSORS_OVERFLOW'
  | 'ERR_SAFETENSORS_SIZE'
  | 'ERR_SAFETENSORS_OFFSETS'
  | 'ERR_SAFETENSORS_FILE_SIZE'
  | 'ERR_CHECKPOINT_NOT_FOUND'
  | 'ERR_CHECKPOINT_FORMAT'
  | 'ERR_DISTRIBUTED'
  | 'ERR_DISTRIBUTED_UNAVAILABLE'
  | 'ERR_DISTRIBUTED_NOT_INITIALIZED'
  | 'ERR_DISTRIBUTED_TIMEOUT'
  | 'ERR_DISTRIBUTED_MISMATCH'
  | 'ERR_DISTRIBUTED_UNUSED_PARAMETERS';

/**
 * A mixprec failure that is not a plain argument error.
 *
 * @example
 * ```ts
 * try { mp.zeros([1e6, 1e6]); } catch (e) {
 *   if (e instanceof mp.MixprecError && e.code === 'ERR_OUT_OF_MEMORY') console.log('too big');
 * }
 * ```
 */
export class MixprecError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'MixprecError';
    this.code = code;
  }
}

/** A TypeError with a mixprec error code. */
export class MixprecTypeError extends TypeError {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'TypeError';
    this.code = code;
  }
}

/** A RangeError with a mixprec error code. */
export class MixprecRangeError extends RangeError {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'RangeError';
    this.code = code;
  }
}

/** A short description of a value for error messages: `undefined`, `'abc'`, `an array of length 3`. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) {
    const name = Object.prototype.toString.call(value).slice(8, -1);
    return `${/^[AEIO]/.test(name) ? 'an' : 'a'} ${name} of length ${(value as unknown as { length: number }).length}`;
  }
  const describeTensor = (value as { describe?: () => string }).describe;
  if (typeof describeTensor === 'function' && (value as { isTensor?: boolean }).isTensor) {
    return describeTensor.call(value);
  }
  return 'an object';
}

/** `op: argument 'arg' must be EXPECTED, got DESCRIPTION` as a TypeError. */
export function argTypeError(op: string, arg: string, expected: string, got: unknown, code: ErrorCode = 'ERR_INVALID_ARG'): MixprecTypeError {
  return new MixprecTypeError(code, `${op}: argument '${arg}' must be ${expected}, got ${describe(got)}`);
}

/** `op: argument 'arg' must be EXPECTED, got DESCRIPTION` as a RangeError. */
export function argRangeError(op: string, arg: string, expected: string, got: unknown, code: ErrorCode = 'ERR_INVALID_ARG'): MixprecRangeError {
  return new MixprecRangeError(code, `${op}: argument '${arg}' must be ${expected}, got ${describe(got)}`);
}

/** Builds the JS error for a native failure, in this module's realm (see native.ts). */
export function errorFromNative(kind: string, code: string, message: string): Error {
  if (kind === 'TypeError') return new MixprecTypeError(code, message);
  if (kind === 'RangeError') return new MixprecRangeError(code, message);
  return new MixprecError(code, message);
}
