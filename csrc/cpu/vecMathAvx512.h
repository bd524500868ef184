// Vector exp for the AVX-512 kernel files (include after simdIoAvx512.h). Not bit-identical to
// libm: within about 1 ulp in float32 (Cephes' polynomial) and 2 ulp in double, with exact
// handling of NaN (propagated), +-Inf, overflow to +Inf and gradual underflow (VSCALEFPS rounds
// the final scaling once, subnormal results included).
#pragma once
#include <immintrin.h>

#include "simdIoAvx512.h"

namespace mp::simd {

// The pieces of Cephes' expf every AVX-512 exp here shares (their clamping and final scaling
// differ): r = x - n ln2 in two steps (Cody-Waite; ln2Hi has few bits, so n * ln2Hi is exact),
// and p(r) with e^r = 1 + r + r^2 p(r) for |r| <= ln2 / 2.
MP_TARGET_AVX512 inline __m512 expReduced(__m512 x, __m512 n) {
  const __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  return _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
}

MP_TARGET_AVX512 inline __m512 expPolynomial(__m512 r) {
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  return p;
}

MP_TARGET_AVX512 inline __m512 expLanes(__m512 x) {
  // Clamp first so +-Inf and huge inputs leave a finite reduced argument; min/max return their
  // second operand when either is NaN, so NaN passes through.
  x = _mm512_min_ps(_mm512_set1_ps(89.0f), x);
  x = _mm512_max_ps(_mm512_set1_ps(-104.0f), x);
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT);
  const __m512 r = expReduced(x, n);
  const __m512 p = expPolynomial(r);
  const __m512 r2 = _mm512_mul_ps(r, r);
  const __m512 e = _mm512_add_ps(_mm512_fmadd_ps(p, r2, r), _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(e, n);
}

// exp in double: reduction by ln2 as above, then the Taylor series to r^13 (|r| <= ln2 / 2, so the
// truncation is below 2^-60 relative).
MP_TARGET_AVX512 inline __m512d expLanesPd(__m512d x) {
  x = _mm512_min_pd(_mm512_set1_pd(710.0), x);
  x = _mm512_max_pd(_mm512_set1_pd(-746.0), x);
  const __m512d n = _mm512_roundscale_pd(_mm512_mul_pd(x, _mm512_set1_pd(1.4426950408889634)), _MM_FROUND_TO_NEAREST_INT);
  __m512d r = _mm512_fnmadd_pd(n, _mm512_set1_pd(6.93147180369123816490e-01), x);
  r = _mm512_fnmadd_pd(n, _mm512_set1_pd(1.90821492927058770002e-10), r);
  // Horner with the inverse factorials 1/13! .. 1/2!, then 1 + r + r^2 * p.
  static constexpr double kInvFact[] = {1.0 / 6227020800.0, 1.0 / 479001600.0, 1.0 / 39916800.0, 1.0 / 3628800.0,
                                        1.0 / 362880.0,     1.0 / 40320.0,     1.0 / 5040.0,      1.0 / 720.0,
                                        1.0 / 120.0,        1.0 / 24.0,        1.0 / 6.0,         0.5};
  __m512d p = _mm512_set1_pd(kInvFact[0]);
  for (int k = 1; k < 12; ++k) p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(kInvFact[k]));
  const __m512d e = _mm512_add_pd(_mm512_fmadd_pd(p, _mm512_mul_pd(r, r), r), _mm512_set1_pd(1.0));
  return _mm512_scalef_pd(e, n);
}

}  // namespace mp::simd
