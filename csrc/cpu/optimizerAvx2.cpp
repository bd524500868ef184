// Optimizer and AMP unscale inner loops with AVX2 + F16C, 8 lanes (see optimizerSimd.h): the
// operations of optimizerAvx512.cpp in the same order, so the results are the scalar
// reference's bit for bit. Built with -ffp-contract=off like every file.
#include <immintrin.h>

#include "optimizerSimd.h"
#include "simdIoAvx2.h"

namespace mp::simd {
namespace {

// Loads 8 lanes (all, or the r < 8 of a tail) and stores them back the same way.
template <class Io>
MP_TARGET_F16C inline __m256 ld(const typename Io::S* p, int64_t r) {
  return r == 8 ? Io::load(p) : loadTail<Io>(p, r);
}
template <class Io>
MP_TARGET_F16C inline void st(typename Io::S* p, __m256 v, int64_t r) {
  if (r == 8) Io::store(p, v);
  else storeTail<Io>(p, v, r);
}

MP_TARGET_F16C inline __m256 negate(__m256 x) { return _mm256_xor_ps(x, _mm256_set1_ps(-0.0f)); }

// The float32 constants of one Adam call, as adamUpdate<float> converts them.
struct AdamConstants {
  __m256 gradScale, lrWd, wd, beta1, oneMinusBeta1, beta2, oneMinusBeta2, stepSize;
  // A gradient scale of 1 (no GradScaler) skips the division: x / 1 is x, and a NaN's payload
  // comes out of the update's arithmetic quieted either way.
  bool scaled;
  __m256d bc2Inverse, eps;
};

// adamUpdate<float>'s denominator, ::sqrt(second) * biasCorrection2Inverse + eps: the C
// library's double sqrt, so it runs in double (4 lanes at a time) and is rounded to float once.
MP_TARGET_F16C inline __m128 denomQuarter(__m128 second, const AdamConstants& c) {
  return _mm256_cvtpd_ps(_mm256_add_pd(_mm256_mul_pd(_mm256_sqrt_pd(_mm256_cvtps_pd(second)), c.bc2Inverse), c.eps));
}

template <class Io>
MP_TARGET_F16C void adamBlock(typename Io::S* p, const typename Io::S* g, typename Io::S* m, typename Io::S* v,
                              typename Io::S* vmax, int64_t r, const AdamConstants& c, const AdamOptions& o) {
  __m256 param = ld<Io>(p, r);
  __m256 grad = ld<Io>(g, r);
  if (c.scaled) grad = _mm256_div_ps(grad, c.gradScale);
  if (o.maximize) grad = negate(grad);
  if (o.weightDecay != 0) {
    if (o.decoupled) param = _mm256_sub_ps(param, _mm256_mul_ps(c.lrWd, param));
    else grad = _mm256_add_ps(grad, _mm256_mul_ps(c.wd, param));
  }
  const __m256 expAvg = _mm256_add_ps(_mm256_mul_ps(c.beta1, ld<Io>(m, r)), _mm256_mul_ps(c.oneMinusBeta1, grad));
  const __m256 expAvgSq =
      _mm256_add_ps(_mm256_mul_ps(c.beta2, ld<Io>(v, r)), _mm256_mul_ps(_mm256_mul_ps(c.oneMinusBeta2, grad), grad));
  __m256 second = expAvgSq;
  if (o.amsgrad) {
    const __m256 prev = ld<Io>(vmax, r);
    const __m256 keep = _mm256_or_ps(_mm256_cmp_ps(prev, prev, _CMP_UNORD_Q), _mm256_cmp_ps(prev, expAvgSq, _CMP_GT_OQ));
    second = _mm256_blendv_ps(expAvgSq, prev, keep);
    st<Io>(vmax, second, r);
  }
  const __m256 denom = _mm256_set_m128(denomQuarter(_mm256_extractf128_ps(second, 1), c),
                                       denomQuarter(_mm256_castps256_ps128(second), c));
  param = _mm256_sub_ps(param, _mm256_div_ps(_mm256_mul_ps(c.stepSize, expAvg), denom));
  st<Io>(p, param, r);
  st<Io>(m, expAvg, r);
  st<Io>(v, expAvgSq, r);
}

template <class Io>
MP_TARGET_F16C void adamTyped(void* pv, const void* gv, void* mv, void* vv, void* vmaxv, int64_t n, float gradScale,
                              const AdamOptions& o, const AdamStepFactors<float>& f) {
  using S = typename Io::S;
  auto* p = static_cast<S*>(pv);
  const auto* g = static_cast<const S*>(gv);
  auto* m = static_cast<S*>(mv);
  auto* v = static_cast<S*>(vv);
  auto* vmax = static_cast<S*>(vmaxv);
  AdamConstants c;
  c.gradScale = _mm256_set1_ps(gradScale);
  c.scaled = gradScale != 1.0f;
  c.lrWd = _mm256_set1_ps(float(o.lr * o.weightDecay));
  c.wd = _mm256_set1_ps(float(o.weightDecay));
  c.beta1 = _mm256_set1_ps(float(o.beta1));
  c.oneMinusBeta1 = _mm256_set1_ps(float(1 - o.beta1));
  c.beta2 = _mm256_set1_ps(float(o.beta2));
  c.oneMinusBeta2 = _mm256_set1_ps(float(1 - o.beta2));
  c.stepSize = _mm256_set1_ps(f.stepSize);
  c.bc2Inverse = _mm256_set1_pd(f.biasCorrection2Inverse);
  c.eps = _mm256_set1_pd(double(float(o.eps)));
  for (int64_t i = 0; i < n; i += 8) {
    const int64_t r = n - i < 8 ? n - i : 8;
    adamBlock<Io>(p + i, g + i, m + i, v + i, vmax ? vmax + i : nullptr, r, c, o);
  }
}

// sgdUpdate<float>, 8 lanes.
template <class Io>
MP_TARGET_F16C void sgdTyped(void* pv, const void* gv, void* bv, int64_t n, float gradScale, bool first, const SgdOptions& o) {
  using S = typename Io::S;
  auto* p = static_cast<S*>(pv);
  const auto* g = static_cast<const S*>(gv);
  auto* b = static_cast<S*>(bv);
  const __m256 scale = _mm256_set1_ps(gradScale), wd = _mm256_set1_ps(float(o.weightDecay));
  const __m256 mom = _mm256_set1_ps(float(o.momentum)), damp = _mm256_set1_ps(float(1 - o.dampening));
  const __m256 lr = _mm256_set1_ps(float(o.lr));
  for (int64_t i = 0; i < n; i += 8) {
    const int64_t r = n - i < 8 ? n - i : 8;
    __m256 param = ld<Io>(p + i, r);
    __m256 grad = _mm256_div_ps(ld<Io>(g + i, r), scale);
    if (o.maximize) grad = negate(grad);
    if (o.weightDecay != 0) grad = _mm256_add_ps(grad, _mm256_mul_ps(wd, param));
    if (o.momentum != 0) {
      const __m256 buffer = first ? grad : _mm256_add_ps(_mm256_mul_ps(mom, ld<Io>(b + i, r)), _mm256_mul_ps(damp, grad));
      grad = o.nesterov ? _mm256_add_ps(grad, _mm256_mul_ps(mom, buffer)) : buffer;
      st<Io>(b + i, buffer, r);
    }
    param = _mm256_sub_ps(param, _mm256_mul_ps(lr, grad));
    st<Io>(p + i, param, r);
  }
}

template <class Io>
MP_TARGET_F16C bool unscaleTyped(void* xv, int64_t n, float inv, bool multiply) {
  auto* x = static_cast<typename Io::S*>(xv);
  const __m256 s = _mm256_set1_ps(inv), zero = _mm256_setzero_ps();
  __m256 bad = zero;
  for (int64_t i = 0; i < n; i += 8) {
    const int64_t r = n - i < 8 ? n - i : 8;
    const __m256 v = ld<Io>(x + i, r);
    // isFiniteValue: v - v == 0 (NaN for Inf and NaN); a tail's padding lanes hold 0.
    bad = _mm256_or_ps(bad, _mm256_cmp_ps(_mm256_sub_ps(v, v), zero, _CMP_NEQ_UQ));
    if (multiply) st<Io>(x + i, _mm256_mul_ps(v, s), r);
  }
  return _mm256_movemask_ps(bad) != 0;
}

}  // namespace

bool adamRangeAvx2(DType dtype, void* param, const void* grad, void* expAvg, void* expAvgSq, void* maxExpAvgSq, int64_t n,
                   float gradScale, const AdamOptions& o, const AdamStepFactors<float>& f) {
  MP_DISPATCH_IO8(dtype, adamTyped<Io>(param, grad, expAvg, expAvgSq, maxExpAvgSq, n, gradScale, o, f); return true);
}

bool sgdRangeAvx2(DType dtype, void* param, const void* grad, void* buffer, int64_t n, float gradScale, bool first,
                  const SgdOptions& o) {
  MP_DISPATCH_IO8(dtype, sgdTyped<Io>(param, grad, buffer, n, gradScale, first, o); return true);
}

bool unscaleRangeAvx2(DType dtype, void* x, int64_t n, float inv, bool multiply, bool* bad) {
  MP_DISPATCH_IO8(dtype, if (unscaleTyped<Io>(x, n, inv, multiply)) *bad = true; return true);
}

}  // namespace mp::simd
