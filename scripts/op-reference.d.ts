// Types for test/registry.test.ts, which imports the generator to check docs/ops.md.
import type * as mixprec from '../lib';

/** The markdown reference for the ops of a loaded mixprec module. */
export function render(mp: typeof mixprec): string;
