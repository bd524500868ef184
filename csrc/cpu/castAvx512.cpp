// float32 <-> float16/bfloat16 with AVX-512F/BW/VL (16 lanes), and the AVX-512-BF16 variant.
#include <immintrin.h>

#include "../core/floatBits.h"
#include "castSimd.h"
#include "simdTarget.h"

namespace mp::simd {
namespace {

// The exact integer rounding of floatToBf16Avx2, 16 lanes; returns 32-bit lanes holding bf16.
MP_TARGET_AVX512 inline __m512i roundToBf16Lanes(__m512i x) {
  const __m512i absMask = _mm512_set1_epi32(0x7fffffff);
  const __m512i inf = _mm512_set1_epi32(0x7f800000);
  const __m512i hi = _mm512_srli_epi32(x, 16);
  const __m512i bias = _mm512_add_epi32(_mm512_set1_epi32(0x7fff), _mm512_and_si512(hi, _mm512_set1_epi32(1)));
  const __m512i rounded = _mm512_srli_epi32(_mm512_add_epi32(x, bias), 16);
  const __mmask16 isNan = _mm512_cmpgt_epi32_mask(_mm512_and_si512(x, absMask), inf);
  return _mm512_mask_or_epi32(rounded, isNan, hi, _mm512_set1_epi32(0x40));
}

}  // namespace

MP_TARGET_AVX512 void floatToHalfAvx512(const float* src, uint16_t* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256i h = _mm512_cvtps_ph(_mm512_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), h);
  }
  for (; i < n; ++i) dst[i] = floatToHalfBits(src[i]);
}

MP_TARGET_AVX512 void halfToFloatAvx512(const uint16_t* src, float* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i))));
  }
  for (; i < n; ++i) dst[i] = halfBitsToFloat(src[i]);
}

MP_TARGET_AVX512 void floatToBf16Avx512(const float* src, uint16_t* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512i r = roundToBf16Lanes(_mm512_loadu_si512(src + i));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), _mm512_cvtepi32_epi16(r));
  }
  for (; i < n; ++i) dst[i] = floatToBf16Bits(src[i]);
}

MP_TARGET_AVX512 void bf16ToFloatAvx512(const uint16_t* src, float* dst, int64_t n) {
  const __m512i absMask = _mm512_set1_epi32(0x7fffffff);
  const __m512i inf = _mm512_set1_epi32(0x7f800000);
  const __m512i quietBit = _mm512_set1_epi32(0x00400000);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i));
    const __m512i x = _mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16);
    const __mmask16 isNan = _mm512_cmpgt_epi32_mask(_mm512_and_si512(x, absMask), inf);
    _mm512_storeu_si512(dst + i, _mm512_mask_or_epi32(x, isNan, x, quietBit));
  }
  for (; i < n; ++i) dst[i] = bf16BitsToFloat(src[i]);
}

// VCVTNEPS2BF16 treats subnormal inputs as zero, so lanes whose exponent field is 0 take the
// exact integer rounding instead; every other lane (normals, Inf, NaN) it converts exactly.
MP_TARGET_AVX512BF16 void floatToBf16Avx512Bf16(const float* src, uint16_t* dst, int64_t n) {
  const __m512i expMask = _mm512_set1_epi32(0x7f800000);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 v = _mm512_loadu_ps(src + i);
    __m256i r = (__m256i)_mm512_cvtneps_pbh(v);
    const __m512i x = _mm512_castps_si512(v);
    const __mmask16 tiny = _mm512_testn_epi32_mask(x, expMask);
    if (tiny) r = _mm256_mask_blend_epi16(tiny, r, _mm512_cvtepi32_epi16(roundToBf16Lanes(x)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), r);
  }
  for (; i < n; ++i) dst[i] = floatToBf16Bits(src[i]);
}

}  // namespace mp::simd
