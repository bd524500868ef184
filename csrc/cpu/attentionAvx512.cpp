// AVX-512 tile products and exponential for the fused attention kernels: the AVX2 file's
// arithmetic in 16 lanes (attentionAvx2.cpp), so its results bit for bit. Each output element
// takes the same fused multiply-adds in the same k order, the exp is the same Cephes polynomial
// lane by lane, and the row sum adds the same 8-lane blocks in the same order; a tile's last
// 8 columns (widths are multiples of 8) go through masked loads and stores.
#include <immintrin.h>

#include "attentionSimd.h"
#include "simdTarget.h"
#include "vecMathAvx512.h"

namespace mp::simd {
namespace {

// Lanes of a 16-column vector holding `width` columns (8 or 16).
MP_TARGET_AVX512 inline __mmask16 columnsMask(int width) { return width >= 16 ? __mmask16(0xffff) : __mmask16(0x00ff); }

// R rows x NV vectors of C: a(r, p) = a[r * ars + p * acs], the last vector `lastWidth` columns.
template <int R, int NV>
MP_TARGET_AVX512_FMA inline void micro(const float* a, int64_t ars, int64_t acs, const float* b, int64_t ldb, float* c,
                                       int64_t ldc, int k, bool accumulate, int lastWidth) {
  __mmask16 mask[NV];
#pragma GCC unroll 2
  for (int v = 0; v < NV; ++v) mask[v] = v + 1 < NV ? __mmask16(0xffff) : columnsMask(lastWidth);
  __m512 s[R][NV];
#pragma GCC unroll 12
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) s[r][v] = accumulate ? _mm512_maskz_loadu_ps(mask[v], c + r * ldc + 16 * v) : _mm512_setzero_ps();
  }
  for (int p = 0; p < k; ++p) {
    __m512 bv[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) bv[v] = _mm512_maskz_loadu_ps(mask[v], b + p * ldb + 16 * v);
#pragma GCC unroll 12
    for (int r = 0; r < R; ++r) {
      const __m512 av = _mm512_set1_ps(a[r * ars + p * acs]);
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) s[r][v] = _mm512_fmadd_ps(av, bv[v], s[r][v]);
    }
  }
#pragma GCC unroll 12
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) _mm512_mask_storeu_ps(c + r * ldc + 16 * v, mask[v], s[r][v]);
  }
}

template <int NV>
MP_TARGET_AVX512_FMA void rowsOf(const float* a, int64_t ars, int64_t acs, const float* b, int64_t ldb, float* c,
                                 int64_t ldc, int m, int k, bool accumulate, int lastWidth) {
  int i = 0;
  for (; i + 12 <= m; i += 12) micro<12, NV>(a + i * ars, ars, acs, b, ldb, c + i * ldc, ldc, k, accumulate, lastWidth);
  for (; i + 4 <= m; i += 4) micro<4, NV>(a + i * ars, ars, acs, b, ldb, c + i * ldc, ldc, k, accumulate, lastWidth);
  for (; i < m; ++i) micro<1, NV>(a + i * ars, ars, acs, b, ldb, c + i * ldc, ldc, k, accumulate, lastWidth);
}

// attentionAvx2.cpp's expPs, lane for lane.
MP_TARGET_AVX512_FMA inline __m512 expPs(__m512 x) {
  const __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
  const __mmask16 tiny = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.33654f), _CMP_LT_OQ);  // below FLT_MIN: 0
  __m512 t = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.33654f)), _mm512_set1_ps(88.37626f));
  const __m512 fx = _mm512_roundscale_ps(_mm512_fmadd_ps(t, _mm512_set1_ps(1.44269504088896341f), _mm512_set1_ps(0.5f)),
                                         _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
  t = expReduced(t, fx);
  __m512 y = _mm512_fmadd_ps(expPolynomial(t), _mm512_mul_ps(t, t), _mm512_add_ps(t, _mm512_set1_ps(1.0f)));
  const __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(fx), _mm512_set1_epi32(127)), 23);
  y = _mm512_mul_ps(y, _mm512_castsi512_ps(e));
  y = _mm512_mask_mov_ps(y, tiny, _mm512_setzero_ps());
  return _mm512_mask_mov_ps(y, nan, x);
}

}  // namespace

MP_TARGET_AVX512_FMA void attentionGemmAvx512(const float* a, int64_t ars, int64_t acs, const float* b, int64_t ldb,
                                              float* c, int64_t ldc, int m, int k, int n8, bool accumulate) {
  const int n = 8 * n8;
  for (int j = 0; j < n; j += 32) {
    const int width = n - j < 32 ? n - j : 32;
    if (width > 16) {
      rowsOf<2>(a, ars, acs, b + j, ldb, c + j, ldc, m, k, accumulate, width - 16);
    } else {
      rowsOf<1>(a, ars, acs, b + j, ldb, c + j, ldc, m, k, accumulate, width);
    }
  }
}

MP_TARGET_AVX512_FMA float attentionExpAvx512(float* x, int n8, float shift) {
  const __m512 s = _mm512_set1_ps(shift);
  // The AVX2 row's 8-lane sum: each 8-column block added in column order.
  __m256 sum = _mm256_setzero_ps();
  for (int v = 0; v < n8; v += 2) {
    const __mmask16 m = columnsMask(v + 1 < n8 ? 16 : 8);
    const __m512 y = expPs(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + 8 * v), s));
    _mm512_mask_storeu_ps(x + 8 * v, m, y);
    sum = _mm256_add_ps(sum, _mm512_castps512_ps256(y));
    if (v + 1 < n8) sum = _mm256_add_ps(sum, _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(y), 1)));
  }
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, sum);
  return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
}

}  // namespace mp::simd
