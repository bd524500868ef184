// Elementwise rows with AVX2 + F16C, 8 float32 lanes (see elementwiseSimd.h). Every op here is one
// IEEE operation per element (or a select), so the results are the scalar reference's to the bit;
// ops that need a vector exp or libm stay on the portable loop for float32 and run the scalar
// math between vector conversions for 16-bit data.
#include <immintrin.h>

#include <type_traits>

#include "../core/elementTypes.h"
#include "elementwiseSimd.h"
#include "simdIoAvx2.h"

namespace mp::simd {
namespace {

// (x != x || x > y) ? x : y, and the same with < for minimum (NaN from either side wins).
template <BinaryOp Op>
MP_TARGET_F16C inline __m256 binaryLanes(__m256 x, __m256 y) {
  if constexpr (Op == BinaryOp::Add) return _mm256_add_ps(x, y);
  if constexpr (Op == BinaryOp::Sub) return _mm256_sub_ps(x, y);
  if constexpr (Op == BinaryOp::Mul) return _mm256_mul_ps(x, y);
  if constexpr (Op == BinaryOp::Div) return _mm256_div_ps(x, y);
  if constexpr (Op == BinaryOp::Maximum) {
    const __m256 takeX = _mm256_or_ps(_mm256_cmp_ps(x, x, _CMP_UNORD_Q), _mm256_cmp_ps(x, y, _CMP_GT_OQ));
    return _mm256_blendv_ps(y, x, takeX);
  }
  if constexpr (Op == BinaryOp::Minimum) {
    const __m256 takeX = _mm256_or_ps(_mm256_cmp_ps(x, x, _CMP_UNORD_Q), _mm256_cmp_ps(x, y, _CMP_LT_OQ));
    return _mm256_blendv_ps(y, x, takeX);
  }
  if constexpr (Op == BinaryOp::ReluGrad) return _mm256_andnot_ps(_mm256_cmp_ps(y, _mm256_setzero_ps(), _CMP_LE_OQ), x);
  return x;
}

template <class Io, BinaryOp Op>
MP_TARGET_F16C void binaryContiguous(const typename Io::S* a, const typename Io::S* b, typename Io::S* out, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) Io::store(out + i, binaryLanes<Op>(Io::load(a + i), Io::load(b + i)));
  if (i < n) storeTail<Io>(out + i, binaryLanes<Op>(loadTail<Io>(a + i, n - i), loadTail<Io>(b + i, n - i)), n - i);
}

template <class Io, BinaryOp Op, bool ScalarFirst>
MP_TARGET_F16C void binaryWithScalar(const typename Io::S* a, float s, typename Io::S* out, int64_t n) {
  const __m256 y = _mm256_set1_ps(s);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 x = Io::load(a + i);
    Io::store(out + i, ScalarFirst ? binaryLanes<Op>(y, x) : binaryLanes<Op>(x, y));
  }
  if (i < n) {
    const __m256 x = loadTail<Io>(a + i, n - i);
    storeTail<Io>(out + i, ScalarFirst ? binaryLanes<Op>(y, x) : binaryLanes<Op>(x, y), n - i);
  }
}

// The op-math value of one stored element (the exact scalar conversions of elementTypes.h).
template <class Io>
float loadOne(const typename Io::S* p) {
  if constexpr (std::is_same_v<Io, F32Io8>) return *p;
  if constexpr (std::is_same_v<Io, F16Io8>) return F16Tag::load(*p);
  if constexpr (std::is_same_v<Io, Bf16Io8>) return BF16Tag::load(*p);
}

template <class Io, BinaryOp Op>
void binaryRowTyped(const void* av, int64_t sa, const void* bv, int64_t sb, void* outv, int64_t n) {
  using S = typename Io::S;
  const auto* a = static_cast<const S*>(av);
  const auto* b = static_cast<const S*>(bv);
  auto* out = static_cast<S*>(outv);
  if (sa == 1 && sb == 1) binaryContiguous<Io, Op>(a, b, out, n);
  else if (sa == 1) binaryWithScalar<Io, Op, false>(a, loadOne<Io>(b), out, n);
  else binaryWithScalar<Io, Op, true>(b, loadOne<Io>(a), out, n);
}

template <class Io, BinaryOp Op>
void binaryScalarTyped(const void* av, float s, bool scalarFirst, void* outv, int64_t n) {
  const auto* a = static_cast<const typename Io::S*>(av);
  auto* out = static_cast<typename Io::S*>(outv);
  if (scalarFirst) binaryWithScalar<Io, Op, true>(a, s, out, n);
  else binaryWithScalar<Io, Op, false>(a, s, out, n);
}

// The formulas of core/unaryMath.h, lane by lane (comparisons ordered, so NaN takes the same
// branch as the scalar code's; blendv takes its second operand where the mask is set).
template <UnaryOp Op>
MP_TARGET_F16C inline __m256 unaryLanes(__m256 x, __m256 p0, __m256 p1) {
  const __m256 zero = _mm256_setzero_ps();
  const __m256 one = _mm256_set1_ps(1.0f);
  if constexpr (Op == UnaryOp::Neg) return _mm256_xor_ps(x, _mm256_set1_ps(-0.0f));
  if constexpr (Op == UnaryOp::Abs) return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
  if constexpr (Op == UnaryOp::Sqrt) return _mm256_sqrt_ps(x);
  if constexpr (Op == UnaryOp::Rsqrt) return _mm256_div_ps(one, _mm256_sqrt_ps(x));
  if constexpr (Op == UnaryOp::Reciprocal) return _mm256_div_ps(one, x);
  if constexpr (Op == UnaryOp::Relu) return _mm256_blendv_ps(x, zero, _mm256_cmp_ps(x, zero, _CMP_LE_OQ));
  if constexpr (Op == UnaryOp::LeakyRelu) return _mm256_blendv_ps(x, _mm256_mul_ps(x, p0), _mm256_cmp_ps(x, zero, _CMP_LT_OQ));
  if constexpr (Op == UnaryOp::Clamp) {
    // clampUnary's order: raise to lo first, then cap at hi, so hi wins when lo > hi.
    const __m256 lo = _mm256_blendv_ps(x, p0, _mm256_cmp_ps(x, p0, _CMP_LT_OQ));
    return _mm256_blendv_ps(lo, p1, _mm256_cmp_ps(lo, p1, _CMP_GT_OQ));
  }
  if constexpr (Op == UnaryOp::Sign) {
    const __m256 neg = _mm256_blendv_ps(x, _mm256_set1_ps(-1.0f), _mm256_cmp_ps(x, zero, _CMP_LT_OQ));
    return _mm256_blendv_ps(neg, one, _mm256_cmp_ps(x, zero, _CMP_GT_OQ));
  }
  return x;
}

template <class Io, UnaryOp Op>
MP_TARGET_F16C void unaryLoop(const typename Io::S* a, typename Io::S* out, int64_t n, float p0f, float p1f) {
  const __m256 p0 = _mm256_set1_ps(p0f), p1 = _mm256_set1_ps(p1f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) Io::store(out + i, unaryLanes<Op>(Io::load(a + i), p0, p1));
  if (i < n) storeTail<Io>(out + i, unaryLanes<Op>(loadTail<Io>(a + i, n - i), p0, p1), n - i);
}

// Ops without a vector formula on 16-bit data: unaryScalarRow (the reference's own math), the
// conversions vectorized around it.

template <class Io>
MP_TARGET_F16C void unaryConvertAround(UnaryOp op, const typename Io::S* a, typename Io::S* out, int64_t n, float p0, float p1) {
  alignas(32) float block[64];
  for (int64_t i = 0; i < n; i += 64) {
    const int64_t m = n - i < 64 ? n - i : 64;
    int64_t k = 0;
    for (; k + 8 <= m; k += 8) _mm256_store_ps(block + k, Io::load(a + i + k));
    if (k < m) _mm256_store_ps(block + k, loadTail<Io>(a + i + k, m - k));
    unaryScalarRow(op, block, int(m), p0, p1);
    for (k = 0; k + 8 <= m; k += 8) Io::store(out + i + k, _mm256_load_ps(block + k));
    if (k < m) storeTail<Io>(out + i + k, _mm256_load_ps(block + k), m - k);
  }
}

template <class Io>
bool unaryTyped(UnaryOp op, const void* av, void* outv, int64_t n, float p0, float p1) {
  const auto* a = static_cast<const typename Io::S*>(av);
  auto* out = static_cast<typename Io::S*>(outv);
  switch (op) {
#define MP_CASE(OP)                                   \
  case UnaryOp::OP:                                   \
    unaryLoop<Io, UnaryOp::OP>(a, out, n, p0, p1);    \
    return true;
    MP_CASE(Neg) MP_CASE(Abs) MP_CASE(Sqrt) MP_CASE(Rsqrt) MP_CASE(Reciprocal) MP_CASE(Relu) MP_CASE(LeakyRelu)
    MP_CASE(Clamp) MP_CASE(Sign)
#undef MP_CASE
    default:
      if constexpr (std::is_same_v<Io, F32Io8>) return false;
      unaryConvertAround<Io>(op, a, out, n, p0, p1);
      return true;
  }
}

// Eight compare results (all-ones lanes) as 0/1 bytes.
MP_TARGET_F16C inline uint64_t maskBytes(__m256 m) {
  const __m256i ones = _mm256_and_si256(_mm256_castps_si256(m), _mm256_set1_epi32(1));
  const __m128i words = _mm_packs_epi32(_mm256_castsi256_si128(ones), _mm256_extracti128_si256(ones, 1));
  return uint64_t(_mm_cvtsi128_si64(_mm_packs_epi16(words, words)));
}

// out[i] = a[i] (op) s as 0/1 bytes, for a Predicate of MP_SWITCH_COMPARE_PREDICATE.
template <class Io, int Predicate>
MP_TARGET_F16C void compareScalarLoop(const void* av, float s, uint8_t* out, int64_t n) {
  const auto* a = static_cast<const typename Io::S*>(av);
  const __m256 y = _mm256_set1_ps(s);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const uint64_t bytes = maskBytes(_mm256_cmp_ps(Io::load(a + i), y, Predicate));
    std::memcpy(out + i, &bytes, 8);
  }
  if (i < n) {
    const uint64_t bytes = maskBytes(_mm256_cmp_ps(loadTail<Io>(a + i, n - i), y, Predicate));
    std::memcpy(out + i, &bytes, size_t(n - i));
  }
}

}  // namespace

bool binaryRowAvx2(BinaryOp op, DType dtype, const void* a, int64_t sa, const void* b, int64_t sb, void* out, int64_t n) {
  if ((sa != 0 && sa != 1) || (sb != 0 && sb != 1) || (sa == 0 && sb == 0)) return false;
#define MP_CALL(OP) binaryRowTyped<Io, OP>(a, sa, b, sb, out, n)
  MP_DISPATCH_IO8(dtype, MP_SWITCH_VECTOR_BINARY(op, MP_CALL));
#undef MP_CALL
}

bool binaryScalarAvx2(BinaryOp op, DType dtype, const void* a, float s, bool scalarFirst, void* out, int64_t n) {
#define MP_CALL(OP) binaryScalarTyped<Io, OP>(a, s, scalarFirst, out, n)
  MP_DISPATCH_IO8(dtype, MP_SWITCH_VECTOR_BINARY(op, MP_CALL));
#undef MP_CALL
}

bool compareScalarAvx2(CompareOp op, DType dtype, const void* a, float s, uint8_t* out, int64_t n) {
#define MP_CALL(PREDICATE) MP_DISPATCH_IO8(dtype, compareScalarLoop<Io, PREDICATE>(a, s, out, n); return true)
  MP_SWITCH_COMPARE_PREDICATE(op, MP_CALL)
#undef MP_CALL
}

bool unaryAvx2(UnaryOp op, DType dtype, const void* a, void* out, int64_t n, float p0, float p1) {
  MP_DISPATCH_IO8(dtype, return unaryTyped<Io>(op, a, out, n, p0, p1));
}

}  // namespace mp::simd
