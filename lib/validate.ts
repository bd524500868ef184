/**
 * Argument checks shared by every layer. Each returns the value it checked or throws the error
 * of `errors.ts` that names the op, the argument, what was expected and what came, so the same
 * mistake reads the same wherever it is made.
 */
import { argRangeError, argTypeError, MixprecTypeError } from './errors';

/** An error class of `errors.ts` (code, message). */
type ErrorClass = new (code: string, message: string) => Error;

/** Whether `v` can be an options object: an object, not null, not an array. */
export function isOptionsObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Throws for the first key of `options` that is not in `allowed`: a typo must not be silently
 * ignored. `errorClass` keeps the class the caller has always thrown (MixprecTypeError by default).
 */
export function rejectUnknownKeys(op: string, options: object, allowed: readonly string[], errorClass: ErrorClass = MixprecTypeError): void {
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) throw new errorClass('ERR_INVALID_ARG', `${op}: unknown option '${key}' (expected ${allowed.map((k) => `'${k}'`).join(', ')})`);
  }
}

/**
 * The own enumerable properties of `options`, copied once into an object without a prototype: an
 * option inherited from a prototype (`Object.create({retainGraph: true})`) or set on a polluted
 * `Object.prototype` is never read, and a getter runs once instead of at every read.
 */
export function ownOptions<T extends object>(options: T): T {
  return Object.assign(Object.create(null) as T, options);
}

/** `options[key]` when it is an own property of `options`, else undefined (never an inherited value). */
export function ownOption<T extends object, K extends keyof T>(options: T | undefined, key: K): T[K] | undefined {
  return typeof options === 'object' && options !== null && Object.hasOwn(options, key) ? options[key] : undefined;
}

/**
 * `options` as a record of its own properties (see {@link ownOptions}): an options object with
 * only `allowed` keys; an empty record when undefined.
 */
export function checkOptions(op: string, options: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (options === undefined) return ownOptions({});
  if (!isOptionsObject(options)) throw argTypeError(op, 'options', 'an options object', options);
  const own = ownOptions(options);
  rejectUnknownKeys(op, own, allowed);
  return own;
}

/** A boolean. */
export function booleanArg(op: string, arg: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw argTypeError(op, arg, 'a boolean', v);
  return v;
}

/** A boolean, `fallback` when undefined. */
export function optionalBoolean(op: string, arg: string, v: unknown, fallback: boolean): boolean {
  return v === undefined ? fallback : booleanArg(op, arg, v);
}

/** A number other than NaN (±Infinity allowed). */
export function numberArg(op: string, arg: string, v: unknown): number {
  if (typeof v !== 'number' || Number.isNaN(v)) throw argTypeError(op, arg, 'a number', v);
  return v;
}

/** A finite number (not NaN or ±Infinity). */
export function finiteNumber(op: string, arg: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw argTypeError(op, arg, 'a finite number', v);
  return v;
}

/** An integer (of any sign). */
export function integerArg(op: string, arg: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw argTypeError(op, arg, 'an integer', v);
  return v;
}

/** A probability: a number in [0, 1]. */
export function probability(op: string, arg: string, v: unknown): number {
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw argRangeError(op, arg, 'a probability in [0, 1]', v);
  return v;
}

/** A positive safe integer, such as a count, a batch size or a period. */
export function positiveInteger(op: string, arg: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw argRangeError(op, arg, 'a positive integer', v);
  return v;
}

/** A non-negative safe integer, such as a size that may be empty. */
export function nonNegativeInteger(op: string, arg: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw argRangeError(op, arg, 'a non-negative integer', v);
  return v;
}

/**
 * A number that `accept` approves, `fallback` when undefined; otherwise a range error saying
 * `expected` (for bounds the helpers above do not name, such as "a number in (0, 1)").
 */
export function numberIn(op: string, arg: string, v: unknown, fallback: number, accept: (x: number) => boolean, expected: string): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !accept(v)) throw argRangeError(op, arg, expected, v);
  return v;
}
