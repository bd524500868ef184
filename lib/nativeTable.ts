/**
 * lib's names to the addon's codes, read once at module load from `native.enums` (generated from
 * the C++ enums' X-macro lists), so no code is mirrored by hand and hot paths stay one property
 * lookup. A name list that disagrees with the addon fails the import, naming the difference.
 */
import { native, type NativeEnumName } from './native';

const resolved = new Map<NativeEnumName, readonly string[]>();

/** The values of `native.enums[table]` for exactly `names`. */
export function nativeTable<N extends string>(table: NativeEnumName, names: readonly N[]): Readonly<Record<N, number>> {
  const values = native.enums[table];
  const nativeNames = Object.keys(values);
  const missing = names.filter((n) => !nativeNames.includes(n));
  const extra = nativeNames.filter((n) => !(names as readonly string[]).includes(n));
  if (missing.length > 0 || extra.length > 0) {
    throw new Error(`mixprec: native.enums.${table} does not match lib's names: not in the addon [${missing.join(', ')}], ` +
      `not in lib [${extra.join(', ')}]; rebuild the addon (npm run build:native) or update lib`);
  }
  resolved.set(table, names);
  return Object.fromEntries(names.map((n) => [n, values[n]])) as Record<N, number>;
}

/** The tables resolved so far and lib's names for each (tests check every table is used). */
export function resolvedNativeTables(): ReadonlyMap<NativeEnumName, readonly string[]> {
  return resolved;
}
