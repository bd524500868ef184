// Elementwise rows with AVX-512F/BW/VL, 16 float32 lanes (see elementwiseSimd.h).
#include <immintrin.h>

#include <type_traits>

#include "../core/elementTypes.h"
#include "elementwiseSimd.h"
#include "simdIoAvx512.h"
#include "vecMathAvx512.h"

namespace mp::simd {
namespace {

template <BinaryOp Op>
MP_TARGET_AVX512 inline __m512 binaryLanes(__m512 x, __m512 y) {
  if constexpr (Op == BinaryOp::Add) return _mm512_add_ps(x, y);
  if constexpr (Op == BinaryOp::Sub) return _mm512_sub_ps(x, y);
  if constexpr (Op == BinaryOp::Mul) return _mm512_mul_ps(x, y);
  if constexpr (Op == BinaryOp::Div) return _mm512_div_ps(x, y);
  // (x != x || x > y) ? x : y, and the same with < for minimum (NaN from either side wins).
  if constexpr (Op == BinaryOp::Maximum) {
    const __mmask16 takeX = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q) | _mm512_cmp_ps_mask(x, y, _CMP_GT_OQ);
    return _mm512_mask_blend_ps(takeX, y, x);
  }
  if constexpr (Op == BinaryOp::Minimum) {
    const __mmask16 takeX = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q) | _mm512_cmp_ps_mask(x, y, _CMP_LT_OQ);
    return _mm512_mask_blend_ps(takeX, y, x);
  }
  if constexpr (Op == BinaryOp::ReluGrad) return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(y, _mm512_setzero_ps(), _CMP_NLE_UQ), x);
  return x;
}

template <class Io, BinaryOp Op>
MP_TARGET_AVX512 void binaryContiguous(const typename Io::S* a, const typename Io::S* b, typename Io::S* out, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) Io::store(out + i, binaryLanes<Op>(Io::load(a + i), Io::load(b + i)));
  if (i < n) {
    const __mmask16 m = tailMask(n - i);
    Io::store(out + i, binaryLanes<Op>(Io::load(a + i, m), Io::load(b + i, m)), m);
  }
}

template <class Io, BinaryOp Op, bool ScalarFirst>
MP_TARGET_AVX512 void binaryWithScalar(const typename Io::S* a, float s, typename Io::S* out, int64_t n) {
  const __m512 y = _mm512_set1_ps(s);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 x = Io::load(a + i);
    Io::store(out + i, ScalarFirst ? binaryLanes<Op>(y, x) : binaryLanes<Op>(x, y));
  }
  if (i < n) {
    const __mmask16 m = tailMask(n - i);
    const __m512 x = Io::load(a + i, m);
    Io::store(out + i, ScalarFirst ? binaryLanes<Op>(y, x) : binaryLanes<Op>(x, y), m);
  }
}

// The op-math value of one stored element (the exact scalar conversions of elementTypes.h).
template <class Io>
float loadOne(const typename Io::S* p) {
  if constexpr (std::is_same_v<Io, F32Io>) return *p;
  if constexpr (std::is_same_v<Io, F16Io>) return F16Tag::load(*p);
  if constexpr (std::is_same_v<Io, Bf16Io>) return BF16Tag::load(*p);
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

MP_TARGET_AVX512 inline __m512 signBitFlip(__m512 x) {
  return _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(x), _mm512_set1_epi32(int(0x80000000u))));
}

// The formulas of core/unaryMath.h, lane by lane (comparisons ordered, so NaN takes the same
// branch as the scalar code's).
template <UnaryOp Op>
MP_TARGET_AVX512 inline __m512 unaryLanes(__m512 x, __m512 p0, __m512 p1) {
  const __m512 zero = _mm512_setzero_ps();
  const __m512 one = _mm512_set1_ps(1.0f);
  if constexpr (Op == UnaryOp::Neg) return signBitFlip(x);
  if constexpr (Op == UnaryOp::Abs) {
    return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(0x7fffffff)));
  }
  if constexpr (Op == UnaryOp::Sqrt) return _mm512_sqrt_ps(x);
  if constexpr (Op == UnaryOp::Rsqrt) return _mm512_div_ps(one, _mm512_sqrt_ps(x));
  if constexpr (Op == UnaryOp::Reciprocal) return _mm512_div_ps(one, x);
  if constexpr (Op == UnaryOp::Relu) return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, zero, _CMP_LE_OQ), x, zero);
  if constexpr (Op == UnaryOp::LeakyRelu) {
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, zero, _CMP_LT_OQ), x, _mm512_mul_ps(x, p0));
  }
  if constexpr (Op == UnaryOp::Clamp) {
    // clampUnary's order: raise to lo first, then cap at hi, so hi wins when lo > hi.
    const __m512 lo = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, p0, _CMP_LT_OQ), x, p0);
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(lo, p1, _CMP_GT_OQ), lo, p1);
  }
  if constexpr (Op == UnaryOp::Sign) {
    const __m512 neg = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, zero, _CMP_LT_OQ), x, _mm512_set1_ps(-1.0f));
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, zero, _CMP_GT_OQ), neg, one);
  }
  if constexpr (Op == UnaryOp::Exp) return expLanes(x);
  if constexpr (Op == UnaryOp::Sigmoid) return _mm512_div_ps(one, _mm512_add_ps(one, expLanes(signBitFlip(x))));
  if constexpr (Op == UnaryOp::Silu) return _mm512_div_ps(x, _mm512_add_ps(one, expLanes(signBitFlip(x))));
  return x;
}

template <class Io, UnaryOp Op>
MP_TARGET_AVX512 void unaryLoop(const typename Io::S* a, typename Io::S* out, int64_t n, float p0f, float p1f) {
  const __m512 p0 = _mm512_set1_ps(p0f), p1 = _mm512_set1_ps(p1f);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) Io::store(out + i, unaryLanes<Op>(Io::load(a + i), p0, p1));
  if (i < n) {
    const __mmask16 m = tailMask(n - i);
    Io::store(out + i, unaryLanes<Op>(Io::load(a + i, m), p0, p1), m);
  }
}

// Ops without a vector formula on 16-bit data: unaryScalarRow (the reference's own math), the
// conversions vectorized around it.

template <class Io>
MP_TARGET_AVX512 void unaryConvertAround(UnaryOp op, const typename Io::S* a, typename Io::S* out, int64_t n, float p0, float p1) {
  alignas(64) float block[16];
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm512_store_ps(block, Io::load(a + i));
    unaryScalarRow(op, block, 16, p0, p1);
    Io::store(out + i, _mm512_load_ps(block));
  }
  if (i < n) {
    const __mmask16 m = tailMask(n - i);
    _mm512_store_ps(block, Io::load(a + i, m));
    unaryScalarRow(op, block, int(n - i), p0, p1);
    Io::store(out + i, _mm512_load_ps(block), m);
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
    MP_CASE(Clamp) MP_CASE(Sign) MP_CASE(Exp) MP_CASE(Sigmoid) MP_CASE(Silu)
#undef MP_CASE
    default:
      if constexpr (std::is_same_v<Io, F32Io>) return false;
      unaryConvertAround<Io>(op, a, out, n, p0, p1);
      return true;
  }
}

// out[i] = a[i] (op) s as 0/1 bytes, for a Predicate of MP_SWITCH_COMPARE_PREDICATE.
template <class Io, int Predicate>
MP_TARGET_AVX512 void compareScalarLoop(const void* av, float s, uint8_t* out, int64_t n) {
  const auto* a = static_cast<const typename Io::S*>(av);
  const __m512 y = _mm512_set1_ps(s);
  const __m128i one = _mm_set1_epi8(1);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm_maskz_mov_epi8(_mm512_cmp_ps_mask(Io::load(a + i), y, Predicate), one));
  }
  if (i < n) {
    const __mmask16 m = tailMask(n - i);
    _mm_mask_storeu_epi8(out + i, m, _mm_maskz_mov_epi8(_mm512_cmp_ps_mask(Io::load(a + i, m), y, Predicate), one));
  }
}

}  // namespace

bool binaryRowAvx512(BinaryOp op, DType dtype, const void* a, int64_t sa, const void* b, int64_t sb, void* out,
                     int64_t n) {
  if ((sa != 0 && sa != 1) || (sb != 0 && sb != 1) || (sa == 0 && sb == 0)) return false;
#define MP_CALL(OP) binaryRowTyped<Io, OP>(a, sa, b, sb, out, n)
  MP_DISPATCH_IO(dtype, MP_SWITCH_VECTOR_BINARY(op, MP_CALL));
#undef MP_CALL
}

bool binaryScalarAvx512(BinaryOp op, DType dtype, const void* a, float s, bool scalarFirst, void* out, int64_t n) {
#define MP_CALL(OP) binaryScalarTyped<Io, OP>(a, s, scalarFirst, out, n)
  MP_DISPATCH_IO(dtype, MP_SWITCH_VECTOR_BINARY(op, MP_CALL));
#undef MP_CALL
}

bool compareScalarAvx512(CompareOp op, DType dtype, const void* a, float s, uint8_t* out, int64_t n) {
#define MP_CALL(PREDICATE) MP_DISPATCH_IO(dtype, compareScalarLoop<Io, PREDICATE>(a, s, out, n); return true)
  MP_SWITCH_COMPARE_PREDICATE(op, MP_CALL)
#undef MP_CALL
}

bool unaryAvx512(UnaryOp op, DType dtype, const void* a, void* out, int64_t n, float p0, float p1) {
  MP_DISPATCH_IO(dtype, return unaryTyped<Io>(op, a, out, n, p0, p1));
}

}  // namespace mp::simd
