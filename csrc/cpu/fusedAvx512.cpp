// AVX-512 rows of the fused crossEntropy (fusedKernels.cpp calls them at SimdLevel::Avx512 and
// above, on float32 rows as the AVX2 ones): 16 lanes of vecMathAvx512.h's exp, twice the AVX2
// rows' width, on the op whose exp of every logit dominates a language model's loss. Masked
// loads and stores serve the tails; sums run in 16-lane accumulators, so results differ from the
// scalar rows by float32 rounding order and the exp's ulp, as the AVX2 rows do.
#include <cmath>

#include "fusedSimd.h"
#include "simdIoAvx512.h"
#include "vecMathAvx512.h"

namespace mp::simd {

MP_TARGET_AVX512_FMA float crossEntropyRowAvx512(const float* x, int64_t cols, int32_t target, float smoothing, float* lseOut) {
  const __m512 lowest = _mm512_set1_ps(-INFINITY);
  __m512 mx = lowest, sum = _mm512_setzero_ps();
  __mmask16 nan = 0;
  for (int64_t i = 0; i < cols; i += 16) {
    const __mmask16 m = cols - i >= 16 ? __mmask16(0xffff) : tailMask(cols - i);
    const __m512 v = _mm512_mask_loadu_ps(lowest, m, x + i);
    nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    mx = _mm512_max_ps(mx, v);
    sum = _mm512_add_ps(sum, _mm512_maskz_loadu_ps(m, x + i));
  }
  const float maxValue = nan ? NAN : _mm512_reduce_max_ps(mx);
  // All -inf (or +inf present): the subtraction below makes NaN where the scalar row does too.
  const __m512 shift = _mm512_set1_ps(maxValue);
  __m512 se = _mm512_setzero_ps();
  for (int64_t i = 0; i < cols; i += 16) {
    const __mmask16 m = cols - i >= 16 ? __mmask16(0xffff) : tailMask(cols - i);
    const __m512 v = _mm512_maskz_loadu_ps(m, x + i);
    se = _mm512_mask_add_ps(se, m, se, expLanes(_mm512_sub_ps(v, shift)));
  }
  const float lse = maxValue + std::log(_mm512_reduce_add_ps(se));
  *lseOut = lse;
  const float nll = lse - x[target];
  return smoothing == 0 ? nll : (1 - smoothing) * nll + smoothing * (lse - _mm512_reduce_add_ps(sum) / float(cols));
}

MP_TARGET_AVX512_FMA void crossEntropyRowBackwardAvx512(const float* x, int64_t cols, int32_t target, float lse, float scale,
                                                       float smoothing, float* dx) {
  const __m512 l = _mm512_set1_ps(lse), s = _mm512_set1_ps(scale), u = _mm512_set1_ps(smoothing / float(cols));
  for (int64_t i = 0; i < cols; i += 16) {
    const __mmask16 m = cols - i >= 16 ? __mmask16(0xffff) : tailMask(cols - i);
    const __m512 v = _mm512_maskz_loadu_ps(m, x + i);
    _mm512_mask_storeu_ps(dx + i, m, _mm512_mul_ps(s, _mm512_sub_ps(expLanes(_mm512_sub_ps(v, l)), u)));
  }
  dx[target] -= scale * (1 - smoothing);
}

}  // namespace mp::simd
