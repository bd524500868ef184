// AVX2+FMA rows of the fused ops (see fusedSimd.h for the contract).
#include <immintrin.h>

#include <cmath>

#include "fusedSimd.h"
#include "simdTarget.h"

namespace mp::simd {
namespace {

MP_TARGET_AVX2_FMA inline float horizontalSum(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(t, _mm_shuffle_ps(t, t, 1)));
}

MP_TARGET_AVX2_FMA inline float horizontalMax(__m256 v) {
  const __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 t = _mm_max_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_max_ss(t, _mm_shuffle_ps(t, t, 1)));
}

// exp by Cody-Waite reduction and Cephes' polynomial (as vecMathAvx512.h), 2^n built in the
// exponent field; inputs below -87.3 (results under the normal range) give 0, NaN stays NaN.
MP_TARGET_AVX2_FMA inline __m256 expLanes(__m256 x) {
  const __m256 underflow = _mm256_cmp_ps(x, _mm256_set1_ps(-87.33f), _CMP_NLT_UQ);
  x = _mm256_min_ps(_mm256_set1_ps(88.37f), x);
  x = _mm256_max_ps(_mm256_set1_ps(-87.33f), x);
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  const __m256 e = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
  // n is in [-126, 128]: split 2^n in two factors so n = 128 (exp of 88.37) stays representable.
  const __m256i ni = _mm256_cvtps_epi32(n);
  const __m256i half = _mm256_srai_epi32(ni, 1);
  const __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(half, _mm256_set1_epi32(127)), 23));
  const __m256 s2 =
      _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(ni, half), _mm256_set1_epi32(127)), 23));
  return _mm256_and_ps(_mm256_mul_ps(_mm256_mul_ps(e, s1), s2), underflow);
}

// 1 / (1 + e^-v): no cancellation for either sign of v (saturates to 0 or 1).
MP_TARGET_AVX2_FMA inline __m256 sigmoidLanes(__m256 v) {
  const __m256 one = _mm256_set1_ps(1.0f);
  return _mm256_div_ps(one, _mm256_add_ps(one, expLanes(_mm256_sub_ps(_mm256_setzero_ps(), v))));
}

// erf lane by lane with libm's erff: the polynomial approximations that fit a vector lose the
// relative accuracy of gelu's far negative tail, which the scalar rows keep.
MP_TARGET_AVX2_FMA inline __m256 erfLanes(__m256 z) {
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, z);
  for (float& v : lanes) v = std::erf(v);
  return _mm256_load_ps(lanes);
}

constexpr float kTanhK = 0.79788456080286535588f;
constexpr float kTanhC = 0.044715f;

// The tanh form as x * sigmoid(2u), u = k (x + c x^3): 0.5 (1 + tanh(u)) = sigmoid(2u).
MP_TARGET_AVX2_FMA inline __m256 tanhFormSigmoid(__m256 x) {
  const __m256 u = _mm256_mul_ps(_mm256_set1_ps(kTanhK), _mm256_fmadd_ps(_mm256_set1_ps(kTanhC), _mm256_mul_ps(_mm256_mul_ps(x, x), x), x));
  return sigmoidLanes(_mm256_add_ps(u, u));
}

MP_TARGET_AVX2_FMA inline __m256 geluLanes(bool tanhForm, __m256 x) {
  if (tanhForm) return _mm256_mul_ps(x, tanhFormSigmoid(x));
  const __m256 cdf = _mm256_mul_ps(_mm256_set1_ps(0.5f), _mm256_add_ps(_mm256_set1_ps(1.0f), erfLanes(_mm256_mul_ps(x, _mm256_set1_ps(0.70710678118654752440f)))));
  return _mm256_mul_ps(x, cdf);
}

MP_TARGET_AVX2_FMA inline __m256 geluDerivativeLanes(bool tanhForm, __m256 x) {
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 x2 = _mm256_mul_ps(x, x);
  if (tanhForm) {
    // d/dx x s(2u) = s + x * 2 s (1 - s) * u', s = 0.5 (1 + tanh u).
    const __m256 s = tanhFormSigmoid(x);
    const __m256 dInner = _mm256_mul_ps(_mm256_set1_ps(kTanhK), _mm256_fmadd_ps(_mm256_set1_ps(3 * kTanhC), x2, one));
    const __m256 slope = _mm256_mul_ps(_mm256_mul_ps(_mm256_add_ps(s, s), _mm256_sub_ps(one, s)), dInner);
    return _mm256_fmadd_ps(x, slope, s);
  }
  const __m256 cdf = _mm256_mul_ps(_mm256_set1_ps(0.5f), _mm256_add_ps(one, erfLanes(_mm256_mul_ps(x, _mm256_set1_ps(0.70710678118654752440f)))));
  const __m256 pdf = _mm256_mul_ps(expLanes(_mm256_mul_ps(_mm256_set1_ps(-0.5f), x2)), _mm256_set1_ps(0.39894228040143267794f));
  return _mm256_fmadd_ps(x, pdf, cdf);
}

// Lanes [0, n) of a partial vector (n < 8) loaded, the rest `fill`.
MP_TARGET_AVX2_FMA inline __m256i tailMask(int64_t n) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(int(n)), lane);
}
MP_TARGET_AVX2_FMA inline __m256 loadTail(const float* p, int64_t n, float fill) {
  const __m256i m = tailMask(n);
  return _mm256_blendv_ps(_mm256_set1_ps(fill), _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m));
}
MP_TARGET_AVX2_FMA inline void storeTail(float* p, int64_t n, __m256 v) { _mm256_maskstore_ps(p, tailMask(n), v); }

}  // namespace

MP_TARGET_AVX2_FMA void normRowForwardAvx2(const float* x, const float* weight, const float* bias, float* y,
                                           int64_t cols, float eps, bool rms, float* meanOut, float* rstdOut) {
  float mean = 0;
  if (!rms) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= cols; i += 16) {
      s0 = _mm256_add_ps(s0, _mm256_loadu_ps(x + i));
      s1 = _mm256_add_ps(s1, _mm256_loadu_ps(x + i + 8));
    }
    for (; i < cols; i += 8) s0 = _mm256_add_ps(s0, cols - i >= 8 ? _mm256_loadu_ps(x + i) : loadTail(x + i, cols - i, 0));
    mean = horizontalSum(_mm256_add_ps(s0, s1)) / float(cols);
  }
  const __m256 m = _mm256_set1_ps(mean);
  __m256 q0 = _mm256_setzero_ps(), q1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= cols; i += 16) {
    const __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(x + i), m), d1 = _mm256_sub_ps(_mm256_loadu_ps(x + i + 8), m);
    q0 = _mm256_fmadd_ps(d0, d0, q0);
    q1 = _mm256_fmadd_ps(d1, d1, q1);
  }
  for (; i < cols; i += 8) {
    const __m256 d = _mm256_sub_ps(cols - i >= 8 ? _mm256_loadu_ps(x + i) : loadTail(x + i, cols - i, mean), m);
    q0 = _mm256_fmadd_ps(d, d, q0);
  }
  const float rstd = 1.0f / std::sqrt(horizontalSum(_mm256_add_ps(q0, q1)) / float(cols) + eps);
  const __m256 r = _mm256_set1_ps(rstd);
  for (i = 0; i < cols; i += 8) {
    const int64_t n = cols - i;
    __m256 v = _mm256_mul_ps(_mm256_sub_ps(n >= 8 ? _mm256_loadu_ps(x + i) : loadTail(x + i, n, 0), m), r);
    if (weight) v = _mm256_mul_ps(v, n >= 8 ? _mm256_loadu_ps(weight + i) : loadTail(weight + i, n, 0));
    if (bias) v = _mm256_add_ps(v, n >= 8 ? _mm256_loadu_ps(bias + i) : loadTail(bias + i, n, 0));
    if (n >= 8) _mm256_storeu_ps(y + i, v); else storeTail(y + i, n, v);
  }
  *meanOut = mean;
  *rstdOut = rstd;
}

MP_TARGET_AVX2_FMA void normRowBackwardAvx2(const float* dy, const float* x, const float* weight, float mean, float rstd,
                                            float* dx, float* dweight, float* dbias, int64_t cols, bool rms) {
  const __m256 m = _mm256_set1_ps(mean), r = _mm256_set1_ps(rstd);
  __m256 sumG = _mm256_setzero_ps(), sumGX = _mm256_setzero_ps();
  for (int64_t i = 0; i < cols; i += 8) {
    const int64_t n = cols - i;
    const __m256 xhat = _mm256_mul_ps(_mm256_sub_ps(n >= 8 ? _mm256_loadu_ps(x + i) : loadTail(x + i, n, mean), m), r);
    const __m256 d = n >= 8 ? _mm256_loadu_ps(dy + i) : loadTail(dy + i, n, 0);
    const __m256 g = weight ? _mm256_mul_ps(d, n >= 8 ? _mm256_loadu_ps(weight + i) : loadTail(weight + i, n, 0)) : d;
    sumG = _mm256_add_ps(sumG, g);
    sumGX = _mm256_fmadd_ps(g, xhat, sumGX);
    if (n >= 8) {
      if (dweight) _mm256_storeu_ps(dweight + i, _mm256_fmadd_ps(d, xhat, _mm256_loadu_ps(dweight + i)));
      if (dbias) _mm256_storeu_ps(dbias + i, _mm256_add_ps(d, _mm256_loadu_ps(dbias + i)));
    } else {
      if (dweight) storeTail(dweight + i, n, _mm256_fmadd_ps(d, xhat, loadTail(dweight + i, n, 0)));
      if (dbias) storeTail(dbias + i, n, _mm256_add_ps(d, loadTail(dbias + i, n, 0)));
    }
  }
  const __m256 meanG = _mm256_set1_ps(rms ? 0.0f : horizontalSum(sumG) / float(cols));
  const __m256 meanGX = _mm256_set1_ps(horizontalSum(sumGX) / float(cols));
  for (int64_t i = 0; i < cols; i += 8) {
    const int64_t n = cols - i;
    const __m256 xhat = _mm256_mul_ps(_mm256_sub_ps(n >= 8 ? _mm256_loadu_ps(x + i) : loadTail(x + i, n, mean), m), r);
    const __m256 d = n >= 8 ? _mm256_loadu_ps(dy + i) : loadTail(dy + i, n, 0);
    const __m256 g = weight ? _mm256_mul_ps(d, n >= 8 ? _mm256_loadu_ps(weight + i) : loadTail(weight + i, n, 0)) : d;
    const __m256 v = _mm256_mul_ps(r, _mm256_fnmadd_ps(xhat, meanGX, _mm256_sub_ps(g, meanG)));
    if (n >= 8) _mm256_storeu_ps(dx + i, v); else storeTail(dx + i, n, v);
  }
}

MP_TARGET_AVX2_FMA void biasGeluAvx2(bool tanhForm, const float* x, const float* bias, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i += 8) {
    const int64_t k = n - i;
    __m256 v = k >= 8 ? _mm256_loadu_ps(x + i) : loadTail(x + i, k, 0);
    if (bias) v = _mm256_add_ps(v, k >= 8 ? _mm256_loadu_ps(bias + i) : loadTail(bias + i, k, 0));
    const __m256 out = geluLanes(tanhForm, v);
    if (k >= 8) _mm256_storeu_ps(y + i, out); else storeTail(y + i, k, out);
  }
}

MP_TARGET_AVX2_FMA void geluBackwardAvx2(bool tanhForm, const float* x, const float* bias, const float* dy, float* dx,
                                         int64_t n) {
  for (int64_t i = 0; i < n; i += 8) {
    const int64_t k = n - i;
    __m256 v = k >= 8 ? _mm256_loadu_ps(x + i) : loadTail(x + i, k, 0);
    if (bias) v = _mm256_add_ps(v, k >= 8 ? _mm256_loadu_ps(bias + i) : loadTail(bias + i, k, 0));
    const __m256 g = k >= 8 ? _mm256_loadu_ps(dy + i) : loadTail(dy + i, k, 0);
    const __m256 out = _mm256_mul_ps(g, geluDerivativeLanes(tanhForm, v));
    if (k >= 8) _mm256_storeu_ps(dx + i, out); else storeTail(dx + i, k, out);
  }
}

MP_TARGET_AVX2_FMA float crossEntropyRowAvx2(const float* x, int64_t cols, int32_t target, float smoothing, float* lseOut) {
  const float lowest = -INFINITY;
  __m256 mx = _mm256_set1_ps(lowest), sum = _mm256_setzero_ps();
  bool nan = false;
  for (int64_t i = 0; i < cols; i += 8) {
    const int64_t n = cols - i;
    const __m256 v = n >= 8 ? _mm256_loadu_ps(x + i) : loadTail(x + i, n, lowest);
    nan = nan || _mm256_movemask_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q)) != 0;
    mx = _mm256_max_ps(mx, v);
    sum = _mm256_add_ps(sum, n >= 8 ? v : loadTail(x + i, n, 0));
  }
  const float maxValue = nan ? NAN : horizontalMax(mx);
  // All -inf (or +inf present): the subtraction below would make NaN where the scalar row does too.
  const __m256 shift = _mm256_set1_ps(maxValue);
  __m256 se = _mm256_setzero_ps();
  for (int64_t i = 0; i < cols; i += 8) {
    const int64_t n = cols - i;
    const __m256 v = n >= 8 ? _mm256_loadu_ps(x + i) : loadTail(x + i, n, lowest);
    se = _mm256_add_ps(se, expLanes(_mm256_sub_ps(v, shift)));
  }
  const float lse = maxValue + std::log(horizontalSum(se));
  *lseOut = lse;
  const float nll = lse - x[target];
  return smoothing == 0 ? nll : (1 - smoothing) * nll + smoothing * (lse - horizontalSum(sum) / float(cols));
}

MP_TARGET_AVX2_FMA void crossEntropyRowBackwardAvx2(const float* x, int64_t cols, int32_t target, float lse, float scale,
                                                    float smoothing, float* dx) {
  const __m256 l = _mm256_set1_ps(lse), s = _mm256_set1_ps(scale), u = _mm256_set1_ps(smoothing / float(cols));
  for (int64_t i = 0; i < cols; i += 8) {
    const int64_t n = cols - i;
    const __m256 v = n >= 8 ? _mm256_loadu_ps(x + i) : loadTail(x + i, n, 0);
    const __m256 out = _mm256_mul_ps(s, _mm256_sub_ps(expLanes(_mm256_sub_ps(v, l)), u));
    if (n >= 8) _mm256_storeu_ps(dx + i, out); else storeTail(dx + i, n, out);
  }
  dx[target] -= scale * (1 - smoothing);
}

}  // namespace mp::simd
