// lib reads every op, kind and dtype code from native.enums (generated from the C++ enums'
// X-macro lists). Importing lib already fails when a table and lib's names differ; these tests
// check that every native table is read by lib, that the check catches a difference in either
// direction, and that the codes are what the kernels expect.
import * as mp from '../lib';
import { native } from '../lib/native';
import { nativeTable, resolvedNativeTables } from '../lib/nativeTable';

// peakKind is read only by the benchmarks (bench/gemm.js, bench/suite/backend.js).
const benchOnly = ['peakKind'];

test('every native table is read by lib, with exactly the addon\'s names', () => {
  const resolved = resolvedNativeTables();
  expect([...resolved.keys(), ...benchOnly].sort()).toEqual(Object.keys(native.enums).sort());
  for (const [table, names] of resolved) {
    expect([table, [...names].sort()]).toEqual([table, Object.keys(native.enums[table]).sort()]);
  }
});

test('a name lib has and the addon lacks, or the other way round, fails naming both', () => {
  expect(() => nativeTable('compareOp', ['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'approx'])).toThrow(
    "mixprec: native.enums.compareOp does not match lib's names: not in the addon [approx], not in lib []");
  expect(() => nativeTable('randomKind', ['uniform', 'normal'])).toThrow(
    "mixprec: native.enums.randomKind does not match lib's names: not in the addon [], not in lib [integer]");
});

test('each table numbers its names 0..n-1 and is frozen', () => {
  for (const [table, values] of Object.entries(native.enums)) {
    if (table === 'dtypeSize') continue;
    expect([table, Object.values(values)]).toEqual([table, Object.keys(values).map((_, i) => i)]);
    expect(Object.isFrozen(values)).toBe(true);
  }
  expect(Object.isFrozen(native.enums)).toBe(true);
  expect(native.enums.dtypeSize).toEqual({ float32: 4, float16: 2, bfloat16: 2, float64: 8, int32: 4, bool: 1 });
  expect(mp.dtypes).toEqual(Object.keys(native.enums.dtype));
});
