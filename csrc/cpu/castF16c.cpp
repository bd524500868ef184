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

// Round to nearest even on the bit pattern (simdIoAvx2.h's bf16Bits), 16 lanes per store.
MP_TARGET_F16C void floatToBf16Avx2(const float* src, uint16_t* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) storeBf16x16(dst + i, _mm256_loadu_ps(src + i), _mm256_loadu_ps(src + i + 8));
  for (; i + 8 <= n; i += 8) Bf16Io8::store(dst + i, _mm256_loadu_ps(src + i));
  for (; i < n; ++i) dst[i] = floatToBf16Bits(src[i]);
}

MP_TARGET_F16C void bf16ToFloatAvx2(const uint16_t* src, float* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, Bf16Io8::load(src + i));
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
