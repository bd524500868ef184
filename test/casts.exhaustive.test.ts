// Every float32 bit pattern through float32 -> float16 and float32 -> bfloat16, against the
// independent references in helpers/floatReference.ts, on the path this CPU ships with and on the
// portable path (used by CPUs without F16C/AVX2, ARM among them); every 16-bit pattern back to
// float32 on both.
import * as mp from '../lib';
import { dtypeCode, native } from './helpers/native';
import { bf16BitsToF32Bits, f16BitsToNumber, f16NanToF32Bits, f32BitsToBf16Bits, f32BitsToF16Bits } from './helpers/floatReference';

const CHUNK = 1 << 24;
const CHUNKS = 2 ** 32 / CHUNK;

function hex(v: number, digits: number): string {
  return '0x' + v.toString(16).padStart(digits, '0');
}

/** Converts the float32 patterns of chunks [first, end), chunk by chunk, into preallocated tensors; returns mismatches. */
function exhaustive(target: 'float16' | 'bfloat16', first: number, end: number): string[] {
  const bits = new Uint32Array(CHUNK);
  const values = new Float32Array(bits.buffer);
  const src = mp.empty([CHUNK]);
  const dst = mp.empty([CHUNK], { dtype: target });
  const mismatches: string[] = [];
  try {
    for (let c = first; c < end && mismatches.length < 10; ++c) {
      const base = c * CHUNK;
      for (let i = 0; i < CHUNK; ++i) bits[i] = base + i;
      native.write(src.storage.handle, 0, dtypeCode('float32'), values);
      native.cast(src.storage.handle, 0, dtypeCode('float32'), dst.storage.handle, 0, dtypeCode(target), CHUNK);
      const got = new Uint16Array(native.read(dst.storage.handle, 0, CHUNK, dtypeCode(target)));
      for (let i = 0; i < CHUNK; ++i) {
        const want = target === 'float16' ? f32BitsToF16Bits(bits[i]) : f32BitsToBf16Bits(bits[i]);
        if (got[i] !== want) {
          mismatches.push(`${hex(bits[i], 8)} -> ${hex(got[i], 4)}, expected ${hex(want, 4)}`);
          if (mismatches.length >= 10) break;
        }
      }
    }
  } finally {
    mp.dispose([src, dst]);
  }
  return mismatches;
}

// The AVX2 + F16C path too where the CPU has more: CPUs without AVX-512 (older EPYCs among them)
// run it, and a CI machine with AVX-512 would otherwise never check it.
const avx2Too = mp.backend().simdDetected !== 'scalar' && mp.backend().simdDetected !== 'f16c' ? ['f16c'] : [];
const paths = [...new Set([mp.backend().simdDetected, ...avx2Too, 'scalar'])];

afterAll(() => {
  mp.setSimdLevel(mp.backend().simdDetected);
});

describe.each(paths)('exhaustive casts on the %s path', (path) => {
  beforeAll(() => {
    expect(mp.setSimdLevel(path)).toBe(true);
  });

  // All 2^32 float32 patterns, a quarter per test, so npm test's progress lines come every few
  // seconds rather than once a minute (tests run in jest's process; a line can only come between two).
  const quarters = [0, 1, 2, 3].map((q) => ({ first: (q * CHUNKS) / 4, end: ((q + 1) * CHUNKS) / 4, range: `${hex((q * 2 ** 32) / 4, 8)}-${hex(((q + 1) * 2 ** 32) / 4 - 1, 8)}` }));
  describe.each(['float16', 'bfloat16'] as const)('all 2^32 float32 patterns -> %s', (target) => {
    test.each(quarters)('patterns $range', ({ first, end }) => {
      expect(exhaustive(target, first, end)).toEqual([]);
    }, 600_000);
  });

  test('all 2^16 float16 patterns -> float32', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const f32 = mp.tidy(() => mp.tensor(all, { dtype: 'float16' }).to('float32').rawData() as Float32Array);
    const asBits = new Uint32Array(f32.buffer, f32.byteOffset, f32.length);
    const bad: string[] = [];
    for (let h = 0; h < 65536; ++h) {
      const want = f16BitsToNumber(h);
      const ok = Number.isNaN(want) ? asBits[h] === f16NanToF32Bits(h) : Object.is(f32[h], want);
      if (!ok) bad.push(`${hex(h, 4)} -> ${hex(asBits[h], 8)}`);
    }
    expect(bad).toEqual([]);
  });

  test('all 2^16 bfloat16 patterns -> float32', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const f32 = mp.tidy(() => mp.tensor(all, { dtype: 'bfloat16' }).to('float32').rawData() as Float32Array);
    const asBits = new Uint32Array(f32.buffer, f32.byteOffset, f32.length);
    const bad: string[] = [];
    for (let h = 0; h < 65536; ++h) if (asBits[h] !== bf16BitsToF32Bits(h)) bad.push(`${hex(h, 4)} -> ${hex(asBits[h], 8)}`);
    expect(bad).toEqual([]);
  });
});
