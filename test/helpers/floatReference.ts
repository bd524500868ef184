// Independent references for float conversions, written from the IEEE-754 definitions with
// JS arithmetic; they share no code with the kernels under test. NaN rule (documented in
// csrc/core/floatBits.h): sign and top payload bits kept, quiet bit set.

/**
 * float32 bits -> float16 bits, round to nearest even: bias-add on the bit pattern for normal
 * results, an explicit shift-and-compare for subnormal ones (integers only: float arithmetic on
 * subnormal inputs takes microcode assists and would make the sweep 40x slower).
 */
export function f32BitsToF16Bits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const a = x & 0x7fffffff;
  if (a > 0x7f800000) return sign | 0x7e00 | ((a >>> 13) & 0x3ff);
  if (a >= 0x477ff000) return sign | 0x7c00; // |x| >= 65520 rounds to infinity
  if (a >= 0x38800000) {
    // Normal half: rebias the exponent by 127 - 15 and round on the 13 dropped bits.
    const r = a - 0x38000000;
    return sign | ((r + 0xfff + ((r >>> 13) & 1)) >>> 13);
  }
  // Subnormal half: the value in units of 2^-24 is sig * 2^(e - 126), rounded half to even.
  const e = a >>> 23;
  if (e < 102) return sign; // below 2^-25: rounds to zero
  const sig = (a & 0x7fffff) | 0x800000;
  const shift = 126 - e; // 14..24
  const q = sig >>> shift;
  const rest = sig - q * 2 ** shift;
  const half = 2 ** (shift - 1);
  return sign | (rest > half || (rest === half && (q & 1) === 1) ? q + 1 : q);
}

/** float32 bits -> bfloat16 bits, round to nearest even. */
export function f32BitsToBf16Bits(x: number): number {
  const a = x & 0x7fffffff;
  if (a > 0x7f800000) return ((x >>> 16) | 0x40) & 0xffff;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** The float64 value of a float16 bit pattern (NaN for NaNs). */
export function f16BitsToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 31) return m ? NaN : sign * Infinity;
  if (e === 0) return sign * m * 2 ** -24;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/** The float32 bits a float16 NaN widens to. */
export function f16NanToF32Bits(h: number): number {
  return (((h & 0x8000) << 16) | 0x7fc00000 | ((h & 0x3ff) << 13)) >>> 0;
}

/** The float32 bits of a bfloat16 pattern (NaNs quieted). */
export function bf16BitsToF32Bits(h: number): number {
  const x = (h << 16) >>> 0;
  return (x & 0x7fffffff) > 0x7f800000 ? (x | 0x00400000) >>> 0 : x;
}

interface Format {
  mant: number; // stored mantissa bits
  bias: number;
  maxExp: number; // largest unbiased exponent of a finite value
}
export const F16: Format = { mant: 10, bias: 15, maxExp: 15 };
export const BF16: Format = { mant: 7, bias: 127, maxExp: 127 };

/**
 * A finite float64 rounded once to a 16-bit format, as bits, with float64 arithmetic: scale to
 * units of the target ulp (exact: powers of two), round half to even, then encode.
 */
export function f64ToBits16(v: number, f: Format): number {
  const signBit = v < 0 || Object.is(v, -0) ? 0x8000 : 0;
  const a = Math.abs(v);
  const expField = (1 << (15 - f.mant)) - 1;
  if (a === Infinity) return signBit | (expField << f.mant);
  if (a === 0) return signBit;
  const minExp = 1 - f.bias;
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e -= 1; // log2 can round up near powers of two
  if (2 ** (e + 1) <= a) e += 1;
  const ulpExp = Math.max(e, minExp) - f.mant;
  const scaled = a * 2 ** -ulpExp;
  let q = Math.floor(scaled);
  const frac = scaled - q;
  if (frac > 0.5 || (frac === 0.5 && q % 2 === 1)) q += 1;
  // q * 2^ulpExp; normal numbers have q in [2^mant, 2^(mant+1)].
  let bits: number;
  if (e < minExp) {
    bits = q; // subnormal (q === 2^mant is the smallest normal, which encodes the same way)
  } else {
    let exp = e;
    if (q === 2 ** (f.mant + 1)) {
      q /= 2;
      exp += 1;
    }
    if (exp > f.maxExp) return signBit | (expField << f.mant);
    bits = ((exp + f.bias) << f.mant) | (q - 2 ** f.mant);
  }
  return signBit | bits;
}

/** A float64 rounded once into a dtype, returned as the number it becomes (NaN stays NaN). */
export function roundTo(v: number, dtype: 'float64' | 'float32' | 'float16' | 'bfloat16'): number {
  if (dtype === 'float64') return v;
  if (dtype === 'float32') return Math.fround(v);
  if (Number.isNaN(v)) return NaN;
  const f = dtype === 'float16' ? F16 : BF16;
  const h = f64ToBits16(v, f);
  const expBits = 15 - f.mant;
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> f.mant) & ((1 << expBits) - 1);
  const m = h & ((1 << f.mant) - 1);
  if (e === (1 << expBits) - 1) return sign * Infinity;
  return e === 0 ? sign * m * 2 ** (1 - f.bias - f.mant) : sign * (1 + m / 2 ** f.mant) * 2 ** (e - f.bias);
}
