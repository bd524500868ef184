// float32 <-> float16/bfloat16 with AVX2 + F16C, 8 lanes.
#include <immintrin.h>

#include "../core/floatBits.h"
#include "castSimd.h"
#include "simdIoAvx2.h"
#include "simdTarget.h"

namespace mp::simd {

MP_TARGET_F16C void floatToHalfF16c(const float* src, uint16_t* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), h);
  }
  for (; i < n; ++i) dst[i] = floatToHalfBits(src[i]);
}

MP_TARGET_F16C void halfToFloatF16c(const uint16_t* src, float* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))));
  }
  for (; i < n; ++i) dst[i] = halfBitsToFloat(src[i]);
}

// Round to nearest even on the bit pattern: adding 0x7fff plus the lowest kept bit carries
// exactly when the dropped half is above (or at, for an odd kept value) the midpoint. Exact for
// subnormals and overflow too; NaNs are quieted instead.
MP_TARGET_F16C void floatToBf16Avx2(const float* src, uint16_t* dst, int64_t n) {
  const __m256i absMask = _mm256_set1_epi32(0x7fffffff);
  const __m256i inf = _mm256_set1_epi32(0x7f800000);
  const __m256i bias = _mm256_set1_epi32(0x7fff);
  const __m256i one = _mm256_set1_epi32(1);
  const __m256i quiet = _mm256_set1_epi32(0x40);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i));
    const __m256i isNan = _mm256_cmpgt_epi32(_mm256_and_si256(x, absMask), inf);
    const __m256i hi = _mm256_srli_epi32(x, 16);
    const __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(x, _mm256_add_epi32(bias, _mm256_and_si256(hi, one))), 16);
    const __m256i r = _mm256_blendv_epi8(rounded, _mm256_or_si256(hi, quiet), isNan);
    const __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(r, r), 0x08);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), _mm256_castsi256_si128(packed));
  }
  for (; i < n; ++i) dst[i] = floatToBf16Bits(src[i]);
}

MP_TARGET_F16C void bf16ToFloatAvx2(const uint16_t* src, float* dst, int64_t n) {
  const __m256i absMask = _mm256_set1_epi32(0x7fffffff);
  const __m256i inf = _mm256_set1_epi32(0x7f800000);
  const __m256i quietBit = _mm256_set1_epi32(0x00400000);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
    const __m256i x = _mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16);
    const __m256i isNan = _mm256_cmpgt_epi32(_mm256_and_si256(x, absMask), inf);
    const __m256i r = _mm256_or_si256(x, _mm256_and_si256(isNan, quietBit));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), r);
  }
  for (; i < n; ++i) dst[i] = bf16BitsToFloat(src[i]);
}

// float32 rounded to float16 / bfloat16 and widened back, in registers (cast fusion).
MP_TARGET_F16C void roundThroughHalfF16c(const float* src, float* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, roundHalfLanes(_mm256_loadu_ps(src + i)));
  for (; i < n; ++i) dst[i] = halfBitsToFloat(floatToHalfBits(src[i]));
}

MP_TARGET_F16C void roundThroughBf16Avx2(const float* src, float* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, roundBf16Lanes(_mm256_loadu_ps(src + i)));
  for (; i < n; ++i) dst[i] = bf16BitsToFloat(floatToBf16Bits(src[i]));
}

}  // namespace mp::simd
