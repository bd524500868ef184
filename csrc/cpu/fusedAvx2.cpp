// AVX2+FMA rows of the fused ops (see fusedSimd.h for the contract): GELU and cross-entropy rows
// read and write 16-bit storage in registers (simdIoAvx2.h), the norm rows take float32 rows.
#include <immintrin.h>

#include <cmath>

#include "fusedSimd.h"
#include "simdIoAvx2.h"
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
// exponent field; inputs below -87.3 (results under the normal range) give 0, above 88.72 +inf,
// NaN stays NaN.
MP_TARGET_AVX2_FMA inline __m256 expLanes(__m256 x) {
  const __m256 underflow = _mm256_cmp_ps(x, _mm256_set1_ps(-87.33f), _CMP_NLT_UQ);
  const __m256 overflow = _mm256_cmp_ps(x, _mm256_set1_ps(88.7228f), _CMP_GT_OQ);
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
  const __m256 finite = _mm256_and_ps(_mm256_mul_ps(_mm256_mul_ps(e, s1), s2), underflow);
  return _mm256_blendv_ps(finite, _mm256_set1_ps(INFINITY), overflow);
}

// 1 / (1 + e^-v): no cancellation for either sign of v (saturates to 0 or 1).
MP_TARGET_AVX2_FMA inline __m256 sigmoidLanes(__m256 v) {
  const __m256 one = _mm256_set1_ps(1.0f);
  return _mm256_div_ps(one, _mm256_add_ps(one, expLanes(_mm256_sub_ps(_mm256_setzero_ps(), v))));
}

// erf by Abramowitz-Stegun 7.1.26 on |z|, sign restored: absolute error below 1.5e-7, the
// formula PyTorch's AVX2 and AVX-512 erf use (so GELU's far negative tail, where gelu(x) is below
// |x| * 1e-7, has the same absolute, not relative, accuracy as PyTorch's CPU GELU).
MP_TARGET_AVX2_FMA inline __m256 erfLanes(__m256 z) {
  const __m256 signBit = _mm256_set1_ps(-0.0f);
  const __m256 a = _mm256_andnot_ps(signBit, z);
  const __m256 t = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_fmadd_ps(_mm256_set1_ps(0.3275911f), a, _mm256_set1_ps(1.0f)));
  __m256 p = _mm256_set1_ps(1.061405429f);
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.453152027f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.421413741f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.284496736f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.254829592f));
  p = _mm256_mul_ps(p, t);
  const __m256 e = expLanes(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_mul_ps(a, a)));
  return _mm256_or_ps(_mm256_fnmadd_ps(p, e, _mm256_set1_ps(1.0f)), _mm256_and_ps(signBit, z));
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

namespace {

// Lanes [i, i + 8) of a typed row of n values, zero padded past n, and back.
template <class Io>
MP_TARGET_F16C inline __m256 rowLanes(const typename Io::S* row, int64_t i, int64_t n) {
  return n - i >= 8 ? Io::load(row + i) : ::mp::simd::loadTail<Io>(row + i, n - i);
}
template <class Io>
MP_TARGET_F16C inline void storeRowLanes(typename Io::S* row, int64_t i, int64_t n, __m256 v) {
  if (n - i >= 8) Io::store(row + i, v); else ::mp::simd::storeTail<Io>(row + i, v, n - i);
}

// (Lane helpers are functions, not lambdas: GCC gives lambdas no target attribute.)
template <class Io>
MP_TARGET_F16C inline __m256 biasGeluLanes(bool tanhForm, const typename Io::S* x, const typename Io::S* bias, int64_t i, int64_t n) {
  const __m256 v = rowLanes<Io>(x, i, n);
  return geluLanes(tanhForm, bias ? _mm256_add_ps(v, rowLanes<Io>(bias, i, n)) : v);
}

template <class Io>
MP_TARGET_F16C void biasGeluRow(bool tanhForm, const void* xv, const void* biasv, void* yv, int64_t n) {
  using S = typename Io::S;
  const S* x = static_cast<const S*>(xv);
  const S* bias = static_cast<const S*>(biasv);
  S* y = static_cast<S*>(yv);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) Io::store16(y + i, biasGeluLanes<Io>(tanhForm, x, bias, i, n), biasGeluLanes<Io>(tanhForm, x, bias, i + 8, n));
  for (; i < n; i += 8) storeRowLanes<Io>(y, i, n, biasGeluLanes<Io>(tanhForm, x, bias, i, n));
}

template <class Io>
MP_TARGET_F16C inline __m256 geluBackwardLanes(bool tanhForm, const typename Io::S* x, const typename Io::S* bias,
                                               const typename Io::S* dy, int64_t i, int64_t n) {
  const __m256 v = rowLanes<Io>(x, i, n);
  const __m256 z = bias ? _mm256_add_ps(v, rowLanes<Io>(bias, i, n)) : v;
  return _mm256_mul_ps(rowLanes<Io>(dy, i, n), geluDerivativeLanes(tanhForm, z));
}

template <class Io>
MP_TARGET_F16C void geluBackwardRow(bool tanhForm, const void* xv, const void* biasv, const void* dyv, void* dxv, int64_t n) {
  using S = typename Io::S;
  const S* x = static_cast<const S*>(xv);
  const S* bias = static_cast<const S*>(biasv);
  const S* dy = static_cast<const S*>(dyv);
  S* dx = static_cast<S*>(dxv);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    Io::store16(dx + i, geluBackwardLanes<Io>(tanhForm, x, bias, dy, i, n), geluBackwardLanes<Io>(tanhForm, x, bias, dy, i + 8, n));
  }
  for (; i < n; i += 8) storeRowLanes<Io>(dx, i, n, geluBackwardLanes<Io>(tanhForm, x, bias, dy, i, n));
}

// Lanes of a row as rowLanes, but -inf past its end (for the max and the exp sum).
template <class Io>
MP_TARGET_F16C inline __m256 lowestPadded(const typename Io::S* x, int64_t i, int64_t cols) {
  const __m256 v = rowLanes<Io>(x, i, cols);
  return cols - i >= 8 ? v : _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), v, _mm256_castsi256_ps(tailMask(cols - i)));
}

template <class Io>
MP_TARGET_F16C float crossEntropyRow(const void* xv, int64_t cols, int32_t target, float smoothing, float* lseOut) {
  using S = typename Io::S;
  const S* x = static_cast<const S*>(xv);
  const __m256 lowest = _mm256_set1_ps(-INFINITY);
  __m256 mx = lowest, sum = _mm256_setzero_ps();
  bool nan = false;
  for (int64_t i = 0; i < cols; i += 8) {
    const __m256 v = lowestPadded<Io>(x, i, cols);
    nan = nan || anyLane(nanLanes(v));
    mx = _mm256_max_ps(mx, v);
    sum = _mm256_add_ps(sum, rowLanes<Io>(x, i, cols));
  }
  const float maxValue = nan ? NAN : horizontalMax(mx);
  // All -inf (or +inf present): the subtraction below would make NaN where the scalar row does too.
  const __m256 shift = _mm256_set1_ps(maxValue);
  __m256 se = _mm256_setzero_ps();
  for (int64_t i = 0; i < cols; i += 8) se = _mm256_add_ps(se, expLanes(_mm256_sub_ps(lowestPadded<Io>(x, i, cols), shift)));
  const float lse = maxValue + std::log(horizontalSum(se));
  *lseOut = lse;
  const float nll = lse - _mm256_cvtss_f32(rowLanes<Io>(x, target, target + 1));
  return smoothing == 0 ? nll : (1 - smoothing) * nll + smoothing * (lse - horizontalSum(sum) / float(cols));
}

// dx = scale (softmax(x) - smoothing / cols), less scale (1 - smoothing) at the target: in
// float32 lanes, so a 16-bit dx is rounded once.
struct SoftmaxGrad {
  __m256 lse, scale, uniform, targetTerm;
  int32_t target;
};

template <class Io>
MP_TARGET_F16C inline __m256 softmaxGradLanes(const SoftmaxGrad& g, const typename Io::S* x, int64_t i, int64_t cols) {
  const __m256 out = _mm256_mul_ps(g.scale, _mm256_sub_ps(expLanes(_mm256_sub_ps(rowLanes<Io>(x, i, cols), g.lse)), g.uniform));
  if (g.target < i || g.target >= i + 8) return out;
  const __m256i lane = _mm256_add_epi32(_mm256_set1_epi32(int(i)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  const __m256 hit = _mm256_castsi256_ps(_mm256_cmpeq_epi32(lane, _mm256_set1_epi32(g.target)));
  return _mm256_sub_ps(out, _mm256_and_ps(g.targetTerm, hit));
}

template <class Io>
MP_TARGET_F16C void crossEntropyRowBackward(const void* xv, int64_t cols, int32_t target, float lse, float scale,
                                            float smoothing, void* dxv) {
  using S = typename Io::S;
  const S* x = static_cast<const S*>(xv);
  S* dx = static_cast<S*>(dxv);
  const SoftmaxGrad g{_mm256_set1_ps(lse), _mm256_set1_ps(scale), _mm256_set1_ps(smoothing / float(cols)),
                      _mm256_set1_ps(scale * (1 - smoothing)), target};
  int64_t i = 0;
  for (; i + 16 <= cols; i += 16) Io::store16(dx + i, softmaxGradLanes<Io>(g, x, i, cols), softmaxGradLanes<Io>(g, x, i + 8, cols));
  for (; i < cols; i += 8) storeRowLanes<Io>(dx, i, cols, softmaxGradLanes<Io>(g, x, i, cols));
}

}  // namespace

// Each entry point runs its row for the dtype's storage; false for other dtypes.
MP_TARGET_F16C bool biasGeluAvx2(bool tanhForm, DType dtype, const void* x, const void* bias, void* y, int64_t n) {
  MP_DISPATCH_IO8(dtype, biasGeluRow<Io>(tanhForm, x, bias, y, n); return true);
}

MP_TARGET_F16C bool geluBackwardAvx2(bool tanhForm, DType dtype, const void* x, const void* bias, const void* dy, void* dx,
                                     int64_t n) {
  MP_DISPATCH_IO8(dtype, geluBackwardRow<Io>(tanhForm, x, bias, dy, dx, n); return true);
}

MP_TARGET_F16C bool crossEntropyRowAvx2(DType dtype, const void* x, int64_t cols, int32_t target, float smoothing, float* loss,
                                        float* lse) {
  MP_DISPATCH_IO8(dtype, *loss = crossEntropyRow<Io>(x, cols, target, smoothing, lse); return true);
}

MP_TARGET_F16C bool crossEntropyRowBackwardAvx2(DType dtype, const void* x, int64_t cols, int32_t target, float lse,
                                                float scale, float smoothing, void* dx) {
  MP_DISPATCH_IO8(dtype, crossEntropyRowBackward<Io>(x, cols, target, lse, scale, smoothing, dx); return true);
}

}  // namespace mp::simd
