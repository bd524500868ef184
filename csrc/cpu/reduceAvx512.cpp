// Sums and softmax rows with AVX-512F/BW/VL (see reduceSimd.h).
#include <immintrin.h>

#include <cmath>
#include <type_traits>

#include "reduceSimd.h"
#include "simdIoAvx512.h"
#include "vecMathAvx512.h"

namespace mp::simd {
namespace {

// 16 double lanes as two zmm: lanes[l] += x[i + l], the portable sumContiguous's order.
template <class Io>
MP_TARGET_AVX512 double sumTyped(const typename Io::S* x, int64_t n) {
  __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 v = Io::load(x + i);
    lo = _mm512_add_pd(lo, _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
    hi = _mm512_add_pd(hi, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))));
  }
  alignas(64) double lanes[16];
  _mm512_store_pd(lanes, lo);
  _mm512_store_pd(lanes + 8, hi);
  double total = 0;
  for (int l = 0; l < 16; ++l) total += lanes[l];
  if (i < n) {
    alignas(64) float rest[16];
    _mm512_store_ps(rest, Io::load(x + i, tailMask(n - i)));
    for (int64_t k = 0; k < n - i; ++k) total += double(rest[k]);
  }
  return total;
}

// The two float32 halves of v as doubles.
MP_TARGET_AVX512 inline __m512d lowHalf(__m512 v) { return _mm512_cvtps_pd(_mm512_castps512_ps256(v)); }
MP_TARGET_AVX512 inline __m512d highHalf(__m512 v) {
  return _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
}

// double -> float32 rounded to odd: truncated, with the last bit set when inexact. Rounding that
// to a 16-bit format (fewer than 22 significant bits) gives the correctly rounded double value.
MP_TARGET_AVX512 inline __m256 toFloatOdd(__m512d v) {
  const __m256 t = _mm512_cvt_roundpd_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __mmask8 inexact = _mm512_cmp_pd_mask(_mm512_cvtps_pd(t), v, _CMP_NEQ_OQ);
  return _mm256_castsi256_ps(_mm256_mask_or_epi32(_mm256_castps_si256(t), inexact, _mm256_castps_si256(t), _mm256_set1_epi32(1)));
}

template <class Io>
MP_TARGET_AVX512 inline __m512 narrowFromDouble(__m512d lo, __m512d hi) {
  __m256 a, b;
  if constexpr (std::is_same_v<Io, F32Io>) {
    a = _mm512_cvtpd_ps(lo);
    b = _mm512_cvtpd_ps(hi);
  } else {
    a = toFloatOdd(lo);
    b = toFloatOdd(hi);
  }
  return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_castps_pd(a)), _mm256_castps_pd(b), 1));
}

template <class Io>
MP_TARGET_AVX512 bool softmaxTyped(const typename Io::S* x, typename Io::S* y, int64_t n, bool log) {
  __m512 mx = _mm512_set1_ps(-INFINITY);
  __mmask16 nan = 0;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 v = Io::load(x + i);
    nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    mx = _mm512_max_ps(mx, v);
  }
  if (i < n) {
    const __mmask16 m = tailMask(n - i);
    const __m512 v = Io::load(x + i, m);
    nan |= _mm512_mask_cmp_ps_mask(m, v, v, _CMP_UNORD_Q);
    mx = _mm512_mask_max_ps(mx, m, mx, v);
  }
  const float maxValue = _mm512_reduce_max_ps(mx);
  if (nan || !std::isfinite(maxValue)) return false;
  const __m512d m = _mm512_set1_pd(double(maxValue));
  __m512d sLo = _mm512_setzero_pd(), sHi = _mm512_setzero_pd();
  for (i = 0; i < n; i += 16) {
    const bool full = i + 16 <= n;
    const __mmask16 mask = full ? __mmask16(0xffff) : tailMask(n - i);
    const __m512 v = full ? Io::load(x + i) : Io::load(x + i, mask);
    sLo = _mm512_mask_add_pd(sLo, __mmask8(mask), sLo, expLanesPd(_mm512_sub_pd(lowHalf(v), m)));
    sHi = _mm512_mask_add_pd(sHi, __mmask8(mask >> 8), sHi, expLanesPd(_mm512_sub_pd(highHalf(v), m)));
  }
  const double s = _mm512_reduce_add_pd(_mm512_add_pd(sLo, sHi));
  const __m512d sv = _mm512_set1_pd(s), logS = _mm512_set1_pd(std::log(s));
  for (i = 0; i < n; i += 16) {
    const bool full = i + 16 <= n;
    const __mmask16 mask = full ? __mmask16(0xffff) : tailMask(n - i);
    const __m512 v = full ? Io::load(x + i) : Io::load(x + i, mask);
    const __m512d dLo = _mm512_sub_pd(lowHalf(v), m), dHi = _mm512_sub_pd(highHalf(v), m);
    const __m512 r = log ? narrowFromDouble<Io>(_mm512_sub_pd(dLo, logS), _mm512_sub_pd(dHi, logS))
                         : narrowFromDouble<Io>(_mm512_div_pd(expLanesPd(dLo), sv), _mm512_div_pd(expLanesPd(dHi), sv));
    if (full) Io::store(y + i, r);
    else Io::store(y + i, r, mask);
  }
  return true;
}

}  // namespace

bool sumAvx512(DType dtype, const void* x, int64_t n, double* total) {
  MP_DISPATCH_IO(dtype, *total = sumTyped<Io>(static_cast<const typename Io::S*>(x), n); return true);
}

bool softmaxRowAvx512(DType dtype, const void* x, void* y, int64_t size, bool log) {
  MP_DISPATCH_IO(dtype, return softmaxTyped<Io>(static_cast<const typename Io::S*>(x), static_cast<typename Io::S*>(y), size, log));
}

}  // namespace mp::simd
