/**
 * A small seeded PRNG (mulberry32) for test inputs: every case sees the same values on every
 * run, independent of mixprec's own generator.
 */
let rngState = 1;

export function seedRng(s: number): void {
  rngState = s >>> 0 || 1;
}

/** Uniform in [0, 1). */
export function uniform(): number {
  rngState = (rngState + 0x6d2b79f5) >>> 0;
  let t = rngState;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/** FNV-1a hash of a string (a per-case seed from its name). */
export function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; ++i) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}
