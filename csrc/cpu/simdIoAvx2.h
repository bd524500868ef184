// AVX2 + F16C loads and stores of 8 float32 lanes from each float dtype, for the *Avx2.cpp kernel
// files only (they compile these with target attributes; nothing else may include this header).
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

// float32 lanes rounded to bfloat16 / float16 and widened back (cast fusion): Bf16Io8::store's
// rounding with the low half cleared, and F16C's round trip; a NaN keeps its top bits, quieted.
MP_TARGET_F16C inline __m256 roundBf16Lanes(__m256 v) {
  const __m256i x = _mm256_castps_si256(v);
  const __m256i high = _mm256_set1_epi32(int(0xffff0000u));
  const __m256i isNan = _mm256_cmpgt_epi32(_mm256_and_si256(x, _mm256_set1_epi32(0x7fffffff)), _mm256_set1_epi32(0x7f800000));
  const __m256i lowestKept = _mm256_and_si256(_mm256_srli_epi32(x, 16), _mm256_set1_epi32(1));
  const __m256i rounded = _mm256_and_si256(_mm256_add_epi32(x, _mm256_add_epi32(_mm256_set1_epi32(0x7fff), lowestKept)), high);
  const __m256i nan = _mm256_or_si256(_mm256_and_si256(x, high), _mm256_set1_epi32(0x00400000));
  return _mm256_castsi256_ps(_mm256_blendv_epi8(rounded, nan, isNan));
}

MP_TARGET_F16C inline __m256 roundHalfLanes(__m256 v) { return _mm256_cvtph_ps(_mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT)); }

struct F32Io8 {
  using S = float;
  MP_TARGET_F16C static __m256 load(const S* p) { return _mm256_loadu_ps(p); }
  MP_TARGET_F16C static void store(S* p, __m256 v) { _mm256_storeu_ps(p, v); }
};

struct F16Io8 {
  using S = uint16_t;
  MP_TARGET_F16C static __m256 load(const S* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
  MP_TARGET_F16C static void store(S* p, __m256 v) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
  }
};

struct Bf16Io8 {
  using S = uint16_t;
  MP_TARGET_F16C static __m256 load(const S* p) {
    const __m256i x = _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))), 16);
    const __m256i isNan = _mm256_cmpgt_epi32(_mm256_and_si256(x, _mm256_set1_epi32(0x7fffffff)), _mm256_set1_epi32(0x7f800000));
    return _mm256_castsi256_ps(_mm256_or_si256(x, _mm256_and_si256(isNan, _mm256_set1_epi32(0x00400000))));
  }
  MP_TARGET_F16C static void store(S* p, __m256 v) {
    const __m256i x = _mm256_castps_si256(v);
    const __m256i isNan = _mm256_cmpgt_epi32(_mm256_and_si256(x, _mm256_set1_epi32(0x7fffffff)), _mm256_set1_epi32(0x7f800000));
    const __m256i hi = _mm256_srli_epi32(x, 16);
    const __m256i bias = _mm256_add_epi32(_mm256_set1_epi32(0x7fff), _mm256_and_si256(hi, _mm256_set1_epi32(1)));
    const __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(x, bias), 16);
    const __m256i r = _mm256_blendv_epi8(rounded, _mm256_or_si256(hi, _mm256_set1_epi32(0x40)), isNan);
    const __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(r, r), 0x08);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm256_castsi256_si128(packed));
  }
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
