// Exact conversions between IEEE-754 binary formats, on bit patterns.
//
// Rules (the same on every backend, so CPU, SIMD and CUDA results agree to the bit):
//  - narrowing rounds to nearest, ties to even; subnormals are produced and consumed, never
//    flushed; values past the largest finite become +-Inf; -0 stays -0;
//  - NaN stays NaN: sign and the top payload bits are kept and the quiet bit is set.
// This is what x86's VCVTPS2PH / VCVTPH2PS / VCVTNEPS2BF16 (on normal inputs) do, which lets the
// SIMD paths use them. Rounding happens once: float64 narrows straight to 16 bits, never via
// float32.
#pragma once
#include <cstdint>
#include <cstring>

#include "hostDevice.h"

namespace mp {

template <int SrcExp, int SrcMant, int DstExp, int DstMant>
MP_HD uint64_t narrowFloatBits(uint64_t x) {
  static_assert(SrcExp >= DstExp && SrcMant > DstMant, "narrowing only");
  constexpr int kSrcBits = 1 + SrcExp + SrcMant;
  constexpr int kDstBits = 1 + DstExp + DstMant;
  constexpr uint64_t kSrcAbsMask = (uint64_t(1) << (kSrcBits - 1)) - 1;
  constexpr uint64_t kSrcExpMax = (uint64_t(1) << SrcExp) - 1;
  constexpr uint64_t kDstExpMax = (uint64_t(1) << DstExp) - 1;
  constexpr int kSrcBias = (1 << (SrcExp - 1)) - 1;
  constexpr int kDstBias = (1 << (DstExp - 1)) - 1;
  constexpr int kDstMinExp = 1 - kDstBias;
  constexpr uint64_t kDstInf = kDstExpMax << DstMant;

  const uint64_t sign = (x >> (kSrcBits - 1)) << (kDstBits - 1);
  const uint64_t a = x & kSrcAbsMask;
  const uint64_t e = a >> SrcMant;
  const uint64_t m = a & ((uint64_t(1) << SrcMant) - 1);
  if (e == kSrcExpMax) {
    if (m == 0) return sign | kDstInf;
    return sign | kDstInf | (uint64_t(1) << (DstMant - 1)) | (m >> (SrcMant - DstMant));
  }
  // value = sig * 2^(ue - SrcMant); a subnormal source has no implicit bit.
  const int ue = e ? int(e) - kSrcBias : 1 - kSrcBias;
  const uint64_t sig = e ? (m | (uint64_t(1) << SrcMant)) : m;
  const int ulpExp = (ue > kDstMinExp ? ue : kDstMinExp) - DstMant;
  const int sh = ulpExp - (ue - SrcMant);
  if (sh > SrcMant + 1) return sign;  // below half the smallest subnormal: rounds to zero
  uint64_t q = sig >> sh;
  const uint64_t rem = sig & ((uint64_t(1) << sh) - 1);
  const uint64_t half = uint64_t(1) << (sh - 1);
  if (rem > half || (rem == half && (q & 1))) ++q;
  // In the normal range q carries the implicit bit; adding it to (biased exponent - 1) encodes
  // the value and lets a rounding carry step into the next binade.
  const uint64_t enc = ue >= kDstMinExp ? (uint64_t(ue + kDstBias - 1) << DstMant) + q : q;
  return sign | (enc >= kDstInf ? kDstInf : enc);
}

template <int SrcExp, int SrcMant, int DstExp, int DstMant>
MP_HD uint64_t widenFloatBits(uint64_t x) {
  static_assert(DstExp >= SrcExp && DstMant > SrcMant, "widening only");
  constexpr int kSrcBits = 1 + SrcExp + SrcMant;
  constexpr int kDstBits = 1 + DstExp + DstMant;
  constexpr uint64_t kSrcAbsMask = (uint64_t(1) << (kSrcBits - 1)) - 1;
  constexpr uint64_t kSrcExpMax = (uint64_t(1) << SrcExp) - 1;
  constexpr uint64_t kDstExpMax = (uint64_t(1) << DstExp) - 1;
  constexpr int kSrcBias = (1 << (SrcExp - 1)) - 1;
  constexpr int kDstBias = (1 << (DstExp - 1)) - 1;
  constexpr int kShift = DstMant - SrcMant;
  constexpr uint64_t kImplicit = uint64_t(1) << SrcMant;

  const uint64_t sign = (x >> (kSrcBits - 1)) << (kDstBits - 1);
  const uint64_t a = x & kSrcAbsMask;
  const uint64_t e = a >> SrcMant;
  uint64_t m = a & (kImplicit - 1);
  if (e == kSrcExpMax) {
    const uint64_t quiet = m ? (uint64_t(1) << (DstMant - 1)) : 0;
    return sign | (kDstExpMax << DstMant) | quiet | (m << kShift);
  }
  if (e == 0) {
    if (m == 0) return sign;
    if (DstExp == SrcExp) return sign | (m << kShift);
    int ue = 1 - kSrcBias;
    while (!(m & kImplicit)) {
      m <<= 1;
      --ue;
    }
    return sign | (uint64_t(ue + kDstBias) << DstMant) | ((m & (kImplicit - 1)) << kShift);
  }
  return sign | (uint64_t(int(e) - kSrcBias + kDstBias) << DstMant) | (m << kShift);
}

MP_HD uint32_t floatToBits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}
MP_HD float bitsToFloat(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}
MP_HD uint64_t doubleToBits(double d) {
  uint64_t u;
  memcpy(&u, &d, 8);
  return u;
}
MP_HD double bitsToDouble(uint64_t u) {
  double d;
  memcpy(&d, &u, 8);
  return d;
}

// Named conversions. Formats: float64 (11, 52), float32 (8, 23), float16 (5, 10), bfloat16 (8, 7).
MP_HD uint16_t floatToHalfBits(float f) { return uint16_t(narrowFloatBits<8, 23, 5, 10>(floatToBits(f))); }
MP_HD uint16_t floatToBf16Bits(float f) { return uint16_t(narrowFloatBits<8, 23, 8, 7>(floatToBits(f))); }
MP_HD uint16_t doubleToHalfBits(double d) { return uint16_t(narrowFloatBits<11, 52, 5, 10>(doubleToBits(d))); }
MP_HD uint16_t doubleToBf16Bits(double d) { return uint16_t(narrowFloatBits<11, 52, 8, 7>(doubleToBits(d))); }
MP_HD float doubleToFloat(double d) { return bitsToFloat(uint32_t(narrowFloatBits<11, 52, 8, 23>(doubleToBits(d)))); }
MP_HD float halfBitsToFloat(uint16_t h) { return bitsToFloat(uint32_t(widenFloatBits<5, 10, 8, 23>(h))); }
// bfloat16 is the top half of a float32 (same exponent): widening is a shift, plus the quiet bit
// widenFloatBits<8, 7, 8, 23> sets on a NaN. Bit-identical to it, and branch-free so the scalar
// loops that load bfloat16 (reductions, comparisons, casts) vectorize.
MP_HD float bf16BitsToFloat(uint16_t h) {
  const uint32_t quiet = (h & 0x7fffu) > 0x7f80u ? 0x400000u : 0u;
  return bitsToFloat((uint32_t(h) << 16) | quiet);
}
MP_HD double halfBitsToDouble(uint16_t h) { return bitsToDouble(widenFloatBits<5, 10, 11, 52>(h)); }
MP_HD double bf16BitsToDouble(uint16_t h) { return bitsToDouble(widenFloatBits<8, 7, 11, 52>(h)); }
MP_HD double floatToDouble(float f) { return bitsToDouble(widenFloatBits<8, 23, 11, 52>(floatToBits(f))); }

// Saturating float -> int32 (truncating toward zero, as C and PyTorch do for in-range values);
// NaN becomes 0 so the result is defined everywhere.
MP_HD int32_t doubleToInt32(double d) {
  if (d != d) return 0;
  if (d >= 2147483647.0) return 2147483647;
  if (d <= -2147483648.0) return -2147483647 - 1;
  return int32_t(d);
}

}  // namespace mp
