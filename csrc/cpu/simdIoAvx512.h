// AVX-512 loads and stores of 16 float32 lanes from each float dtype, for the *Avx512.cpp kernel
// files only (they compile these with target attributes; nothing else may include this header).
// Loads widen exactly (16-bit NaNs come back quiet, as floatBits.h's widening does); stores round
// to nearest even exactly as floatBits.h's narrowing (the cast kernels test the same sequences
// against castReference). Masked forms serve the tails, so a tail element takes the same vector
// arithmetic as the others and results never depend on an element's position.
#pragma once
#include <immintrin.h>

#include <cstdint>

#include "../core/dtype.h"
#include "simdTarget.h"

namespace mp::simd {

// The lanes of a tail of r < 16 elements.
MP_TARGET_AVX512 inline __mmask16 tailMask(int64_t r) { return __mmask16((1u << r) - 1u); }

struct F32Io {
  using S = float;
  MP_TARGET_AVX512 static __m512 load(const S* p) { return _mm512_loadu_ps(p); }
  MP_TARGET_AVX512 static __m512 load(const S* p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }
  MP_TARGET_AVX512 static void store(S* p, __m512 v) { _mm512_storeu_ps(p, v); }
  MP_TARGET_AVX512 static void store(S* p, __m512 v, __mmask16 m) { _mm512_mask_storeu_ps(p, m, v); }
};

struct F16Io {
  using S = uint16_t;
  MP_TARGET_AVX512 static __m512 widen(__m256i h) { return _mm512_cvtph_ps(h); }
  MP_TARGET_AVX512 static __m256i narrow(__m512 v) { return _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  MP_TARGET_AVX512 static __m512 load(const S* p) { return widen(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
  MP_TARGET_AVX512 static __m512 load(const S* p, __mmask16 m) { return widen(_mm256_maskz_loadu_epi16(m, p)); }
  MP_TARGET_AVX512 static void store(S* p, __m512 v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), narrow(v)); }
  MP_TARGET_AVX512 static void store(S* p, __m512 v, __mmask16 m) { _mm256_mask_storeu_epi16(p, m, narrow(v)); }
};

struct Bf16Io {
  using S = uint16_t;
  MP_TARGET_AVX512 static __m512 widen(__m256i h) {
    const __m512i x = _mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16);
    const __mmask16 isNan = _mm512_cmpgt_epi32_mask(_mm512_and_si512(x, _mm512_set1_epi32(0x7fffffff)),
                                                   _mm512_set1_epi32(0x7f800000));
    return _mm512_castsi512_ps(_mm512_mask_or_epi32(x, isNan, x, _mm512_set1_epi32(0x00400000)));
  }
  // Round to nearest even on the integer bits; NaN keeps its top payload and gets the quiet bit.
  MP_TARGET_AVX512 static __m256i narrow(__m512 v) {
    const __m512i x = _mm512_castps_si512(v);
    const __m512i hi = _mm512_srli_epi32(x, 16);
    const __m512i bias = _mm512_add_epi32(_mm512_set1_epi32(0x7fff), _mm512_and_si512(hi, _mm512_set1_epi32(1)));
    const __m512i rounded = _mm512_srli_epi32(_mm512_add_epi32(x, bias), 16);
    const __mmask16 isNan = _mm512_cmpgt_epi32_mask(_mm512_and_si512(x, _mm512_set1_epi32(0x7fffffff)),
                                                   _mm512_set1_epi32(0x7f800000));
    return _mm512_cvtepi32_epi16(_mm512_mask_or_epi32(rounded, isNan, hi, _mm512_set1_epi32(0x40)));
  }
  MP_TARGET_AVX512 static __m512 load(const S* p) { return widen(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
  MP_TARGET_AVX512 static __m512 load(const S* p, __mmask16 m) { return widen(_mm256_maskz_loadu_epi16(m, p)); }
  MP_TARGET_AVX512 static void store(S* p, __m512 v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), narrow(v)); }
  MP_TARGET_AVX512 static void store(S* p, __m512 v, __mmask16 m) { _mm256_mask_storeu_epi16(p, m, narrow(v)); }
};

}  // namespace mp::simd

// Runs the statements after DTYPE with `Io` bound to the dtype's loads and stores, in a function
// returning bool: false (not handled, the caller takes the portable path) for non-float dtypes.
#define MP_DISPATCH_IO(DTYPE, ...)                                      \
  switch (DTYPE) {                                                      \
    case ::mp::DType::Float32: { using Io = ::mp::simd::F32Io; __VA_ARGS__; }   \
    case ::mp::DType::Float16: { using Io = ::mp::simd::F16Io; __VA_ARGS__; }   \
    case ::mp::DType::BFloat16: { using Io = ::mp::simd::Bf16Io; __VA_ARGS__; } \
    default: return false;                                              \
  }
