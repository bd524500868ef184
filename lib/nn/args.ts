/**
 * Argument checks shared by the layer constructors: errors name the layer, the argument, what
 * was expected and what came.
 */
import type { Device } from '../device';
import { isFloatingPoint, type DType } from '../dtype';
import { argRangeError, argTypeError } from '../errors';
import { resolveOptions } from '../options';
import { numberIn } from '../validate';

/** An integer dimension (negative counts from the end). */
export function dimArg(op: string, arg: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw argTypeError(op, arg, 'an integer dimension', v);
  return v;
}

/** A positive finite number option such as eps, `fallback` when undefined. */
export function positiveNumber(op: string, arg: string, v: unknown, fallback: number): number {
  return numberIn(op, arg, v, fallback, (x) => Number.isFinite(x) && x > 0, 'a positive finite number');
}

/** A 2-d size: one integer for both dimensions or `[h, w]`, each at least `min`. */
export function pairArg(op: string, arg: string, v: unknown, min: number): [number, number] {
  const pair = typeof v === 'number' ? [v, v] : v;
  if (!Array.isArray(pair) || pair.length !== 2 || pair.some((s) => typeof s !== 'number' || !Number.isInteger(s) || s < min)) {
    throw argRangeError(op, arg, `an integer >= ${min} or a pair [h, w] of them`, v);
  }
  return [pair[0], pair[1]];
}

/** Validated layer options: unknown keys rejected, dtype floating point (parameters train). */
export function layerOptions(op: string, options: unknown, keys: string[]): { dtype: DType; device: Device } & Record<string, unknown> {
  const o = resolveOptions(op, options, [...keys, 'dtype', 'device']);
  if (!isFloatingPoint(o.dtype)) throw argTypeError(op, 'options.dtype', 'a floating-point dtype (parameters must be able to require gradients)', o.dtype, 'ERR_INVALID_DTYPE');
  return o;
}

/** `[a, b]` or `a` as PyTorch's reprs print sizes. */
export function formatSize(v: number | readonly (number | null)[]): string {
  return Array.isArray(v) ? `[${v.map((x) => (x === null ? 'null' : x)).join(', ')}]` : String(v);
}
