// AVX2 + F16C loads and stores of 8 float32 lanes (and stores of 16) from each float dtype, for
// the *Avx2.cpp kernel files only (they compile these with target attributes; nothing else may
// include this header).
// The conversions are castF16c.cpp's (tested bit for bit against castReference): float16 by
// F16C, bfloat16 by shifts with round-to-nearest-even and quieted NaNs. AVX2 has no masked 16-bit
// loads, so a tail goes through an 8-lane buffer, zero padded: it takes the same vector arithmetic
// as the full groups and results never depend on an element's position.
#pragma once
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "../core/dtype.h"
#include "simdTarget.h"

namespace mp::simd {

// bfloat16 round-to-nearest-even on the bit pattern: adding 0x7fff plus the lowest kept bit
// carries exactly when the dropped half is above the midpoint (or at it, for an odd kept value).
// Exact for subnormals and overflow; wrong only for NaNs (the carry can reach the exponent or the
// sign), which the callers below patch on a rare path: a NaN keeps its top bits, quieted.
MP_TARGET_F16C inline __m256i bf16RoundingSum(__m256i x) {
  const __m256i lowestKept = _mm256_and_si256(_mm256_srli_epi32(x, 16), _mm256_set1_epi32(1));
  return _mm256_add_epi32(x, _mm256_add_epi32(_mm256_set1_epi32(0x7fff), lowestKept));
}

// All-ones in the NaN lanes, and whether there is one: a compare and a movemask, cheaper than
// blending a patch into every vector when NaNs are rare.
MP_TARGET_F16C inline __m256 nanLanes(__m256 v) { return _mm256_cmp_ps(v, v, _CMP_UNORD_Q); }
MP_TARGET_F16C inline bool anyLane(__m256 mask) { return _mm256_movemask_ps(mask) != 0; }

// float32 lanes as bfloat16 patterns in the low halves of 32-bit lanes (high halves zero).
MP_TARGET_F16C inline __m256i bf16Bits(__m256 v) {
  const __m256i x = _mm256_castps_si256(v);
  __m256i r = _mm256_srli_epi32(bf16RoundingSum(x), 16);
  const __m256 nan = nanLanes(v);
  if (__builtin_expect(anyLane(nan), 0)) {
    const __m256i quieted = _mm256_or_si256(_mm256_srli_epi32(x, 16), _mm256_set1_epi32(0x40));
    r = _mm256_blendv_epi8(r, quieted, _mm256_castps_si256(nan));
  }
  return r;
}

// float32 lanes rounded to bfloat16 and widened back (cast fusion): bf16Bits in the high halves.
MP_TARGET_F16C inline __m256 roundBf16Lanes(__m256 v) { return _mm256_castsi256_ps(_mm256_slli_epi32(bf16Bits(v), 16)); }

// 16 float32 lanes (lo, hi) rounded to bfloat16 and stored with one pack and one 32-byte store.
MP_TARGET_F16C inline void storeBf16x16(uint16_t* p, __m256 lo, __m256 hi) {
  const __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(bf16Bits(lo), bf16Bits(hi)), 0xd8);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), packed);
}

// bfloat16 patterns (the low halves of 32-bit lanes) widened to float32, NaNs quieted as
// castF16c.cpp's bf16ToFloatAvx2 quiets them.
MP_TARGET_F16C inline __m256 widenBf16Bits(__m256i bits) {
  const __m256 v = _mm256_castsi256_ps(_mm256_slli_epi32(bits, 16));
  const __m256 nan = nanLanes(v);
  if (__builtin_expect(anyLane(nan), 0)) return _mm256_or_ps(v, _mm256_and_ps(nan, _mm256_castsi256_ps(_mm256_set1_epi32(0x00400000))));
  return v;
}

MP_TARGET_F16C inline __m256 roundHalfLanes(__m256 v) { return _mm256_cvtph_ps(_mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT)); }

struct F32Io8 {
  using S = float;
  MP_TARGET_F16C static __m256 load(const S* p) { return _mm256_loadu_ps(p); }
  MP_TARGET_F16C static void store(S* p, __m256 v) { _mm256_storeu_ps(p, v); }
  MP_TARGET_F16C static void store16(S* p, __m256 lo, __m256 hi) {
    store(p, lo);
    store(p + 8, hi);
  }
};

struct F16Io8 {
  using S = uint16_t;
  MP_TARGET_F16C static __m256 load(const S* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
  MP_TARGET_F16C static void store(S* p, __m256 v) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
  }
  MP_TARGET_F16C static void store16(S* p, __m256 lo, __m256 hi) {
    store(p, lo);
    store(p + 8, hi);
  }
};

struct Bf16Io8 {
  using S = uint16_t;
  MP_TARGET_F16C static __m256 load(const S* p) {
    return widenBf16Bits(_mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
  }
  MP_TARGET_F16C static void store(S* p, __m256 v) {
    const __m256i r = bf16Bits(v);
    const __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(r, r), 0x08);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm256_castsi256_si128(packed));
  }
  MP_TARGET_F16C static void store16(S* p, __m256 lo, __m256 hi) { storeBf16x16(p, lo, hi); }
};

// The first r < 8 elements at p as lanes (the rest zero), and back.
template <class Io>
MP_TARGET_F16C inline __m256 loadTail(const typename Io::S* p, int64_t r) {
  typename Io::S buffer[8] = {};
  std::memcpy(buffer, p, size_t(r) * sizeof(*p));
  return Io::load(buffer);
}

template <class Io>
MP_TARGET_F16C inline void storeTail(typename Io::S* p, __m256 v, int64_t r) {
  typename Io::S buffer[8];
  Io::store(buffer, v);
  std::memcpy(p, buffer, size_t(r) * sizeof(*p));
}

}  // namespace mp::simd

// Runs the statements after DTYPE with `Io` bound to the dtype's 8-lane loads and stores, in a
// function returning bool: false (not handled, the caller takes the portable path) for other dtypes.
#define MP_DISPATCH_IO8(DTYPE, ...)                                      \
  switch (DTYPE) {                                                       \
    case ::mp::DType::Float32: { using Io = ::mp::simd::F32Io8; __VA_ARGS__; }   \
    case ::mp::DType::Float16: { using Io = ::mp::simd::F16Io8; __VA_ARGS__; }   \
    case ::mp::DType::BFloat16: { using Io = ::mp::simd::Bf16Io8; __VA_ARGS__; } \
    default: return false;                                               \
  }
