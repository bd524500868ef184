// AVX-512 rows of the fused kernels (fusedKernels.cpp calls them at SimdLevel::Avx512 and above,
// on float32 rows as the AVX2 ones):
// - crossEntropy: 16 lanes of vecMathAvx512.h's exp, twice the AVX2 rows' width, on the op whose
//   exp of every logit dominates a language model's loss; sums run in 16-lane accumulators, so
//   results differ from the scalar rows by float32 rounding order and the exp's ulp, as the AVX2
//   rows do;
// - GELU forward and backward: fusedAvx2.cpp's lane arithmetic (its exp, erf and sigmoid) op for
//   op in 16 lanes, so the same bits as the AVX2 rows (tested).
// Rows read and write their dtype's storage (simdIoAvx512.h: 16-bit values converted in registers,
// results rounded once); masked loads and stores serve the tails.
#include <cmath>

#include "fusedSimd.h"
#include "simdIoAvx512.h"
#include "vecMathAvx512.h"

namespace mp::simd {

namespace {

template <class Io>
MP_TARGET_AVX512_FMA float crossEntropyRow(const typename Io::S* x, int64_t cols, int32_t target, float smoothing, float* lseOut) {
  const __m512 lowest = _mm512_set1_ps(-INFINITY);
  __m512 mx = lowest, sum = _mm512_setzero_ps();
  __mmask16 nan = 0;
  for (int64_t i = 0; i < cols; i += 16) {
    const __mmask16 m = cols - i >= 16 ? __mmask16(0xffff) : tailMask(cols - i);
    const __m512 loaded = Io::load(x + i, m);
    const __m512 v = _mm512_mask_blend_ps(m, lowest, loaded);
    nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    mx = _mm512_max_ps(mx, v);
    sum = _mm512_add_ps(sum, loaded);
  }
  const float maxValue = nan ? NAN : _mm512_reduce_max_ps(mx);
  // All -inf (or +inf present): the subtraction below makes NaN where the scalar row does too.
  const __m512 shift = _mm512_set1_ps(maxValue);
  __m512 se = _mm512_setzero_ps();
  for (int64_t i = 0; i < cols; i += 16) {
    const __mmask16 m = cols - i >= 16 ? __mmask16(0xffff) : tailMask(cols - i);
    se = _mm512_mask_add_ps(se, m, se, expLanes(_mm512_sub_ps(Io::load(x + i, m), shift)));
  }
  const float lse = maxValue + std::log(_mm512_reduce_add_ps(se));
  *lseOut = lse;
  const float nll = lse - _mm512_cvtss_f32(Io::load(x + target, __mmask16(1)));
  return smoothing == 0 ? nll : (1 - smoothing) * nll + smoothing * (lse - _mm512_reduce_add_ps(sum) / float(cols));
}

// The target's term is taken off in float32 lanes, before a 16-bit dx is rounded.
template <class Io>
MP_TARGET_AVX512_FMA void crossEntropyRowBackward(const typename Io::S* x, int64_t cols, int32_t target, float lse, float scale,
                                                  float smoothing, typename Io::S* dx) {
  const __m512 l = _mm512_set1_ps(lse), s = _mm512_set1_ps(scale), u = _mm512_set1_ps(smoothing / float(cols));
  const __m512 targetTerm = _mm512_set1_ps(scale * (1 - smoothing));
  for (int64_t i = 0; i < cols; i += 16) {
    const __mmask16 m = cols - i >= 16 ? __mmask16(0xffff) : tailMask(cols - i);
    __m512 out = _mm512_mul_ps(s, _mm512_sub_ps(expLanes(_mm512_sub_ps(Io::load(x + i, m), l)), u));
    if (target >= i && target < i + 16) out = _mm512_mask_sub_ps(out, __mmask16(1u << (target - i)), out, targetTerm);
    Io::store(dx + i, out, m);
  }
}

}  // namespace

MP_TARGET_AVX512_FMA bool crossEntropyRowAvx512(DType dtype, const void* x, int64_t cols, int32_t target, float smoothing,
                                               float* loss, float* lse) {
  MP_DISPATCH_IO(dtype, *loss = crossEntropyRow<Io>(static_cast<const typename Io::S*>(x), cols, target, smoothing, lse); return true);
}

MP_TARGET_AVX512_FMA bool crossEntropyRowBackwardAvx512(DType dtype, const void* x, int64_t cols, int32_t target, float lse,
                                                       float scale, float smoothing, void* dx) {
  MP_DISPATCH_IO(dtype, crossEntropyRowBackward<Io>(static_cast<const typename Io::S*>(x), cols, target, lse, scale, smoothing,
                                                    static_cast<typename Io::S*>(dx));
                 return true);
}

namespace {

// fusedAvx2.cpp's expLanes: Cody-Waite reduction and Cephes' polynomial, 2^n as two exponent-field
// factors; below -87.33 gives 0, above 88.7228 +inf, NaN stays NaN.
MP_TARGET_AVX512_FMA inline __m512 expAvx2Lanes(__m512 x) {
  const __mmask16 underflow = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.33f), _CMP_NLT_UQ);
  const __mmask16 overflow = _mm512_cmp_ps_mask(x, _mm512_set1_ps(88.7228f), _CMP_GT_OQ);
  x = _mm512_min_ps(_mm512_set1_ps(88.37f), x);
  x = _mm512_max_ps(_mm512_set1_ps(-87.33f), x);
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512 r = expReduced(x, n);
  const __m512 p = expPolynomial(r);
  const __m512 e = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
  const __m512i ni = _mm512_cvtps_epi32(n);
  const __m512i half = _mm512_srai_epi32(ni, 1);
  const __m512 s1 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(half, _mm512_set1_epi32(127)), 23));
  const __m512 s2 =
      _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(_mm512_sub_epi32(ni, half), _mm512_set1_epi32(127)), 23));
  const __m512 finite = _mm512_maskz_mov_ps(underflow, _mm512_mul_ps(_mm512_mul_ps(e, s1), s2));
  return _mm512_mask_mov_ps(finite, overflow, _mm512_set1_ps(INFINITY));
}

MP_TARGET_AVX512_FMA inline __m512 sigmoidLanes(__m512 v) {
  const __m512 one = _mm512_set1_ps(1.0f);
  return _mm512_div_ps(one, _mm512_add_ps(one, expAvx2Lanes(_mm512_sub_ps(_mm512_setzero_ps(), v))));
}

MP_TARGET_AVX512_FMA inline __m512 erfLanes(__m512 z) {
  const __m512i signBit = _mm512_set1_epi32(int(0x80000000u));
  const __m512 a = _mm512_castsi512_ps(_mm512_andnot_si512(signBit, _mm512_castps_si512(z)));
  const __m512 t = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_fmadd_ps(_mm512_set1_ps(0.3275911f), a, _mm512_set1_ps(1.0f)));
  __m512 p = _mm512_set1_ps(1.061405429f);
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-1.453152027f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.421413741f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-0.284496736f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.254829592f));
  p = _mm512_mul_ps(p, t);
  const __m512 e = expAvx2Lanes(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_mul_ps(a, a)));
  const __m512i magnitude = _mm512_castps_si512(_mm512_fnmadd_ps(p, e, _mm512_set1_ps(1.0f)));
  return _mm512_castsi512_ps(_mm512_or_si512(magnitude, _mm512_and_si512(signBit, _mm512_castps_si512(z))));
}

constexpr float kTanhK = 0.79788456080286535588f;
constexpr float kTanhC = 0.044715f;

MP_TARGET_AVX512_FMA inline __m512 tanhFormSigmoid(__m512 x) {
  const __m512 u = _mm512_mul_ps(_mm512_set1_ps(kTanhK), _mm512_fmadd_ps(_mm512_set1_ps(kTanhC), _mm512_mul_ps(_mm512_mul_ps(x, x), x), x));
  return sigmoidLanes(_mm512_add_ps(u, u));
}

MP_TARGET_AVX512_FMA inline __m512 geluLanes(bool tanhForm, __m512 x) {
  if (tanhForm) return _mm512_mul_ps(x, tanhFormSigmoid(x));
  const __m512 cdf = _mm512_mul_ps(_mm512_set1_ps(0.5f), _mm512_add_ps(_mm512_set1_ps(1.0f), erfLanes(_mm512_mul_ps(x, _mm512_set1_ps(0.70710678118654752440f)))));
  return _mm512_mul_ps(x, cdf);
}

MP_TARGET_AVX512_FMA inline __m512 geluDerivativeLanes(bool tanhForm, __m512 x) {
  const __m512 one = _mm512_set1_ps(1.0f);
  const __m512 x2 = _mm512_mul_ps(x, x);
  if (tanhForm) {
    const __m512 s = tanhFormSigmoid(x);
    const __m512 dInner = _mm512_mul_ps(_mm512_set1_ps(kTanhK), _mm512_fmadd_ps(_mm512_set1_ps(3 * kTanhC), x2, one));
    const __m512 slope = _mm512_mul_ps(_mm512_mul_ps(_mm512_add_ps(s, s), _mm512_sub_ps(one, s)), dInner);
    return _mm512_fmadd_ps(x, slope, s);
  }
  const __m512 cdf = _mm512_mul_ps(_mm512_set1_ps(0.5f), _mm512_add_ps(one, erfLanes(_mm512_mul_ps(x, _mm512_set1_ps(0.70710678118654752440f)))));
  const __m512 pdf = _mm512_mul_ps(expAvx2Lanes(_mm512_mul_ps(_mm512_set1_ps(-0.5f), x2)), _mm512_set1_ps(0.39894228040143267794f));
  return _mm512_fmadd_ps(x, pdf, cdf);
}

}  // namespace

namespace {

template <class Io>
MP_TARGET_AVX512_FMA void biasGeluRow(bool tanhForm, const typename Io::S* x, const typename Io::S* bias, typename Io::S* y,
                                      int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : tailMask(n - i);
    __m512 v = Io::load(x + i, m);
    if (bias) v = _mm512_add_ps(v, Io::load(bias + i, m));
    Io::store(y + i, geluLanes(tanhForm, v), m);
  }
}

template <class Io>
MP_TARGET_AVX512_FMA void geluBackwardRow(bool tanhForm, const typename Io::S* x, const typename Io::S* bias,
                                          const typename Io::S* dy, typename Io::S* dx, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : tailMask(n - i);
    __m512 v = Io::load(x + i, m);
    if (bias) v = _mm512_add_ps(v, Io::load(bias + i, m));
    Io::store(dx + i, _mm512_mul_ps(Io::load(dy + i, m), geluDerivativeLanes(tanhForm, v)), m);
  }
}

}  // namespace

MP_TARGET_AVX512_FMA bool biasGeluAvx512(bool tanhForm, DType dtype, const void* x, const void* bias, void* y, int64_t n) {
  MP_DISPATCH_IO(dtype, using S = typename Io::S;
                 biasGeluRow<Io>(tanhForm, static_cast<const S*>(x), static_cast<const S*>(bias), static_cast<S*>(y), n);
                 return true);
}

MP_TARGET_AVX512_FMA bool geluBackwardAvx512(bool tanhForm, DType dtype, const void* x, const void* bias, const void* dy,
                                            void* dx, int64_t n) {
  MP_DISPATCH_IO(dtype, using S = typename Io::S;
                 geluBackwardRow<Io>(tanhForm, static_cast<const S*>(x), static_cast<const S*>(bias), static_cast<const S*>(dy),
                                     static_cast<S*>(dx), n);
                 return true);
}

}  // namespace mp::simd
