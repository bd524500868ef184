// Optimizer and AMP unscale inner loops with AVX-512F/BW/VL (see optimizerSimd.h). Built with
// -ffp-contract=off like every file: a fused a * b + c would round differently from the reference.
#include <immintrin.h>

#include "optimizerSimd.h"
#include "simdIoAvx512.h"

namespace mp::simd {
namespace {

MP_TARGET_AVX512 inline __m512 negate(__m512 x) {
  return _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(x), _mm512_set1_epi32(int(0x80000000u))));
}

// Loads 16 lanes (all, or the tail's under mask m) and stores them back the same way.
template <class Io>
MP_TARGET_AVX512 inline __m512 ld(const typename Io::S* p, bool full, __mmask16 m) {
  return full ? Io::load(p) : Io::load(p, m);
}
template <class Io>
MP_TARGET_AVX512 inline void st(typename Io::S* p, __m512 v, bool full, __mmask16 m) {
  if (full) Io::store(p, v);
  else Io::store(p, v, m);
}

// The float32 constants of one Adam call, as adamUpdate<float> converts them.
struct AdamConstants {
  __m512 gradScale, lrWd, wd, beta1, oneMinusBeta1, beta2, oneMinusBeta2, stepSize;
  // A gradient scale of 1 (no GradScaler) skips the division: x / 1 is x, and a NaN's payload
  // comes out of the update's arithmetic quieted either way.
  bool scaled;
  __m512d bc2Inverse, eps;
};

MP_TARGET_AVX512 inline __m256 denomHalf(__m256 second, const AdamConstants& c) {
  return _mm512_cvtpd_ps(_mm512_add_pd(_mm512_mul_pd(_mm512_sqrt_pd(_mm512_cvtps_pd(second)), c.bc2Inverse), c.eps));
}

// adamUpdate<float>. Its denominator is ::sqrt(second) * biasCorrection2Inverse + eps, where
// ::sqrt is the C library's double sqrt, so that expression runs in double and is rounded to float
// once.
template <class Io>
MP_TARGET_AVX512 void adamBlock(typename Io::S* p, const typename Io::S* g, typename Io::S* m, typename Io::S* v,
                         typename Io::S* vmax, bool full, __mmask16 mask, const AdamConstants& c, const AdamOptions& o) {
  __m512 param = ld<Io>(p, full, mask);
  __m512 grad = ld<Io>(g, full, mask);
  if (c.scaled) grad = _mm512_div_ps(grad, c.gradScale);
  if (o.maximize) grad = negate(grad);
  if (o.weightDecay != 0) {
    if (o.decoupled) param = _mm512_sub_ps(param, _mm512_mul_ps(c.lrWd, param));
    else grad = _mm512_add_ps(grad, _mm512_mul_ps(c.wd, param));
  }
  const __m512 expAvg = _mm512_add_ps(_mm512_mul_ps(c.beta1, ld<Io>(m, full, mask)), _mm512_mul_ps(c.oneMinusBeta1, grad));
  const __m512 expAvgSq = _mm512_add_ps(_mm512_mul_ps(c.beta2, ld<Io>(v, full, mask)),
                                        _mm512_mul_ps(_mm512_mul_ps(c.oneMinusBeta2, grad), grad));
  __m512 second = expAvgSq;
  if (o.amsgrad) {
    const __m512 prev = ld<Io>(vmax, full, mask);
    const __mmask16 keep = _mm512_cmp_ps_mask(prev, prev, _CMP_UNORD_Q) | _mm512_cmp_ps_mask(prev, expAvgSq, _CMP_GT_OQ);
    second = _mm512_mask_blend_ps(keep, expAvgSq, prev);
    st<Io>(vmax, second, full, mask);
  }
  const __m256 lo = _mm512_castps512_ps256(second);
  const __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(second), 1));
  const __m512d joined = _mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_castps_pd(denomHalf(lo, c))),
                                            _mm256_castps_pd(denomHalf(hi, c)), 1);
  const __m512 denom = _mm512_castpd_ps(joined);
  param = _mm512_sub_ps(param, _mm512_div_ps(_mm512_mul_ps(c.stepSize, expAvg), denom));
  st<Io>(p, param, full, mask);
  st<Io>(m, expAvg, full, mask);
  st<Io>(v, expAvgSq, full, mask);
}

template <class Io>
MP_TARGET_AVX512 void adamTyped(void* pv, const void* gv, void* mv, void* vv, void* vmaxv, int64_t n, float gradScale,
                         const AdamOptions& o, const AdamStepFactors<float>& f) {
  using S = typename Io::S;
  auto* p = static_cast<S*>(pv);
  const auto* g = static_cast<const S*>(gv);
  auto* m = static_cast<S*>(mv);
  auto* v = static_cast<S*>(vv);
  auto* vmax = static_cast<S*>(vmaxv);
  AdamConstants c;
  c.gradScale = _mm512_set1_ps(gradScale);
  c.scaled = gradScale != 1.0f;
  c.lrWd = _mm512_set1_ps(float(o.lr * o.weightDecay));
  c.wd = _mm512_set1_ps(float(o.weightDecay));
  c.beta1 = _mm512_set1_ps(float(o.beta1));
  c.oneMinusBeta1 = _mm512_set1_ps(float(1 - o.beta1));
  c.beta2 = _mm512_set1_ps(float(o.beta2));
  c.oneMinusBeta2 = _mm512_set1_ps(float(1 - o.beta2));
  c.stepSize = _mm512_set1_ps(f.stepSize);
  c.bc2Inverse = _mm512_set1_pd(f.biasCorrection2Inverse);
  c.eps = _mm512_set1_pd(double(float(o.eps)));
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) adamBlock<Io>(p + i, g + i, m + i, v + i, vmax ? vmax + i : nullptr, true, 0xffff, c, o);
  if (i < n) adamBlock<Io>(p + i, g + i, m + i, v + i, vmax ? vmax + i : nullptr, false, tailMask(n - i), c, o);
}

// sgdUpdate<float>, 16 lanes.
template <class Io>
MP_TARGET_AVX512 void sgdTyped(void* pv, const void* gv, void* bv, int64_t n, float gradScale, bool first, const SgdOptions& o) {
  using S = typename Io::S;
  auto* p = static_cast<S*>(pv);
  const auto* g = static_cast<const S*>(gv);
  auto* b = static_cast<S*>(bv);
  const __m512 scale = _mm512_set1_ps(gradScale), wd = _mm512_set1_ps(float(o.weightDecay));
  const __m512 mom = _mm512_set1_ps(float(o.momentum)), damp = _mm512_set1_ps(float(1 - o.dampening));
  const __m512 lr = _mm512_set1_ps(float(o.lr));
  for (int64_t i = 0; i < n; i += 16) {
    const bool full = i + 16 <= n;
    const __mmask16 mask = full ? __mmask16(0xffff) : tailMask(n - i);
    __m512 param = ld<Io>(p + i, full, mask);
    __m512 grad = _mm512_div_ps(ld<Io>(g + i, full, mask), scale);
    if (o.maximize) grad = negate(grad);
    if (o.weightDecay != 0) grad = _mm512_add_ps(grad, _mm512_mul_ps(wd, param));
    if (o.momentum != 0) {
      const __m512 buffer =
          first ? grad : _mm512_add_ps(_mm512_mul_ps(mom, ld<Io>(b + i, full, mask)), _mm512_mul_ps(damp, grad));
      grad = o.nesterov ? _mm512_add_ps(grad, _mm512_mul_ps(mom, buffer)) : buffer;
      st<Io>(b + i, buffer, full, mask);
    }
    param = _mm512_sub_ps(param, _mm512_mul_ps(lr, grad));
    st<Io>(p + i, param, full, mask);
  }
}

template <class Io>
MP_TARGET_AVX512 bool unscaleTyped(void* xv, int64_t n, float inv, bool multiply) {
  auto* x = static_cast<typename Io::S*>(xv);
  const __m512 s = _mm512_set1_ps(inv), zero = _mm512_setzero_ps();
  __mmask16 bad = 0;
  for (int64_t i = 0; i < n; i += 16) {
    const bool full = i + 16 <= n;
    const __mmask16 mask = full ? __mmask16(0xffff) : tailMask(n - i);
    const __m512 v = ld<Io>(x + i, full, mask);
    // isFiniteValue: v - v == 0 (NaN for Inf and NaN); masked-off lanes hold 0.
    bad |= _mm512_cmp_ps_mask(_mm512_sub_ps(v, v), zero, _CMP_NEQ_UQ);
    if (multiply) st<Io>(x + i, _mm512_mul_ps(v, s), full, mask);
  }
  return bad != 0;
}

}  // namespace

bool adamRangeAvx512(DType dtype, void* param, const void* grad, void* expAvg, void* expAvgSq, void* maxExpAvgSq,
                     int64_t n, float gradScale, const AdamOptions& o, const AdamStepFactors<float>& f) {
  MP_DISPATCH_IO(dtype, adamTyped<Io>(param, grad, expAvg, expAvgSq, maxExpAvgSq, n, gradScale, o, f); return true);
}

bool sgdRangeAvx512(DType dtype, void* param, const void* grad, void* buffer, int64_t n, float gradScale, bool first,
                    const SgdOptions& o) {
  MP_DISPATCH_IO(dtype, sgdTyped<Io>(param, grad, buffer, n, gradScale, first, o); return true);
}

bool unscaleRangeAvx512(DType dtype, void* x, int64_t n, float inv, bool multiply, bool* bad) {
  MP_DISPATCH_IO(dtype, if (unscaleTyped<Io>(x, n, inv, multiply)) *bad = true; return true);
}

}  // namespace mp::simd
