// AVX2+FMA tile products and exponential for the fused attention kernels: a 6x16 register-blocked
// product (12 accumulators, as the AVX2 GEMM micro-kernel) over tiles that stay in L1, and
// Cephes' expf polynomial (within 2 ulp of libm over the range softmax uses).
#include <immintrin.h>

#include "attentionSimd.h"
#include "simdTarget.h"

namespace mp::simd {
namespace {

// a(r, p) = a[r * ars + p * acs]: a row-major tile (ars = lda, acs = 1) or a transposed one. The
// loops over r and v are unrolled so the accumulators stay in registers.
template <int R, int NV>
MP_TARGET_AVX2_FMA inline void micro(const float* a, int64_t ars, int64_t acs, const float* b, int64_t ldb, float* c,
                                     int64_t ldc, int k, bool accumulate) {
  __m256 s[R][NV];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) s[r][v] = accumulate ? _mm256_loadu_ps(c + r * ldc + 8 * v) : _mm256_setzero_ps();
  }
  for (int p = 0; p < k; ++p) {
    __m256 bv[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) bv[v] = _mm256_loadu_ps(b + p * ldb + 8 * v);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m256 av = _mm256_broadcast_ss(a + r * ars + p * acs);
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) s[r][v] = _mm256_fmadd_ps(av, bv[v], s[r][v]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) _mm256_storeu_ps(c + r * ldc + 8 * v, s[r][v]);
  }
}

template <int NV>
MP_TARGET_AVX2_FMA void rowsOf(const float* a, int64_t ars, int64_t acs, const float* b, int64_t ldb, float* c,
                               int64_t ldc, int m, int k, bool accumulate) {
  int i = 0;
  for (; i + 6 <= m; i += 6) micro<6, NV>(a + i * ars, ars, acs, b, ldb, c + i * ldc, ldc, k, accumulate);
  const float* at = a + i * ars;
  float* ct = c + i * ldc;
  switch (m - i) {
    case 5: micro<5, NV>(at, ars, acs, b, ldb, ct, ldc, k, accumulate); break;
    case 4: micro<4, NV>(at, ars, acs, b, ldb, ct, ldc, k, accumulate); break;
    case 3: micro<3, NV>(at, ars, acs, b, ldb, ct, ldc, k, accumulate); break;
    case 2: micro<2, NV>(at, ars, acs, b, ldb, ct, ldc, k, accumulate); break;
    case 1: micro<1, NV>(at, ars, acs, b, ldb, ct, ldc, k, accumulate); break;
    default: break;
  }
}

MP_TARGET_AVX2_FMA inline __m256 expPs(__m256 x) {
  const __m256 nan = _mm256_cmp_ps(x, x, _CMP_UNORD_Q);
  const __m256 tiny = _mm256_cmp_ps(x, _mm256_set1_ps(-87.33654f), _CMP_LT_OQ);  // below FLT_MIN: 0
  __m256 t = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.33654f)), _mm256_set1_ps(88.37626f));
  const __m256 fx = _mm256_floor_ps(_mm256_fmadd_ps(t, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f)));
  t = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), t);
  t = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), t);
  __m256 y = _mm256_set1_ps(1.9875691500e-4f);
  y = _mm256_fmadd_ps(y, t, _mm256_set1_ps(1.3981999507e-3f));
  y = _mm256_fmadd_ps(y, t, _mm256_set1_ps(8.3334519073e-3f));
  y = _mm256_fmadd_ps(y, t, _mm256_set1_ps(4.1665795894e-2f));
  y = _mm256_fmadd_ps(y, t, _mm256_set1_ps(1.6666665459e-1f));
  y = _mm256_fmadd_ps(y, t, _mm256_set1_ps(5.0000001201e-1f));
  y = _mm256_fmadd_ps(y, _mm256_mul_ps(t, t), _mm256_add_ps(t, _mm256_set1_ps(1.0f)));
  // 2^fx through the exponent bits; fx is in [-126, 128), and 2^128 only where x > 88.37 (inf).
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127)), 23);
  y = _mm256_mul_ps(y, _mm256_castsi256_ps(e));
  y = _mm256_blendv_ps(y, _mm256_setzero_ps(), tiny);
  return _mm256_blendv_ps(y, x, nan);
}

}  // namespace

MP_TARGET_AVX2_FMA void attentionGemmAvx2(const float* a, int64_t ars, int64_t acs, const float* b, int64_t ldb,
                                          float* c, int64_t ldc, int m, int k, int n8, bool accumulate) {
  int v = 0;
  for (; v + 2 <= n8; v += 2) rowsOf<2>(a, ars, acs, b + 8 * v, ldb, c + 8 * v, ldc, m, k, accumulate);
  if (v < n8) rowsOf<1>(a, ars, acs, b + 8 * v, ldb, c + 8 * v, ldc, m, k, accumulate);
}

MP_TARGET_AVX2_FMA float attentionExpAvx2(float* x, int n8, float shift) {
  const __m256 s = _mm256_set1_ps(shift);
  __m256 sum = _mm256_setzero_ps();
  for (int v = 0; v < n8; ++v) {
    const __m256 y = expPs(_mm256_sub_ps(_mm256_loadu_ps(x + 8 * v), s));
    _mm256_storeu_ps(x + 8 * v, y);
    sum = _mm256_add_ps(sum, y);
  }
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, sum);
  return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
}

}  // namespace mp::simd
