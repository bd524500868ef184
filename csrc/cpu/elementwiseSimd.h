// Vectorized elementwise rows for float32, float16 and bfloat16 (16-bit loaded to float32,
// computed, rounded once on store), compiled per instruction set with target attributes and
// called only when activeSimdLevel() allows. Each returns false when it has no kernel for the
// op/dtype (the caller then runs the portable loop of elementwiseKernels.cpp, which is also the
// reference the tests compare against).
#pragma once
#include <cstdint>

#include "../core/dtype.h"
#include "../core/kernelArgs.h"

namespace mp::simd {

// out[i] = a[i * sa] (op) b[i * sb] with sa, sb each 0 or 1.
bool binaryRowAvx512(BinaryOp op, DType dtype, const void* a, int64_t sa, const void* b, int64_t sb, void* out,
                     int64_t n);
// out[i] = a[i] (op) s, or s (op) a[i] when scalarFirst; s is already in float32.
bool binaryScalarAvx512(BinaryOp op, DType dtype, const void* a, float s, bool scalarFirst, void* out, int64_t n);
// out[i] = a[i] (op) s as bool bytes; s is the scalar as the scalar loop compares it (rounded to
// the dtype, then widened).
bool compareScalarAvx512(CompareOp op, DType dtype, const void* a, float s, uint8_t* out, int64_t n);
// Exact ops (neg, abs, relu, leakyRelu, clamp, sign, sqrt, rsqrt, reciprocal) match the
// reference to the bit; exp, sigmoid and silu use a vector exp within 1 ulp of libm's. The other
// ops return false on float32 and, on 16-bit data, run the scalar libm math between vector
// conversions (bit-identical to the reference).
bool unaryAvx512(UnaryOp op, DType dtype, const void* a, void* out, int64_t n, float p0, float p1);

// The same contracts with AVX2 + F16C, 8 lanes (elementwiseAvx2.cpp). unaryAvx2 has no vector
// exp: exp, sigmoid and silu return false on float32 and run the scalar math on 16-bit data.
bool binaryRowAvx2(BinaryOp op, DType dtype, const void* a, int64_t sa, const void* b, int64_t sb, void* out, int64_t n);
bool binaryScalarAvx2(BinaryOp op, DType dtype, const void* a, float s, bool scalarFirst, void* out, int64_t n);
bool compareScalarAvx2(CompareOp op, DType dtype, const void* a, float s, uint8_t* out, int64_t n);
bool unaryAvx2(UnaryOp op, DType dtype, const void* a, void* out, int64_t n, float p0, float p1);

// v[k] = op(v[k]) by core/unaryMath.h's scalar math, compiled without target attributes (so it
// is the reference's own code): what the vector files run between their vector conversions for
// ops that have no vector formula.
void unaryScalarRow(UnaryOp op, float* v, int n, float p0, float p1);

// One SIMD level's rows.
struct ElementwiseRows {
  decltype(&binaryRowAvx512) binaryRow;
  decltype(&binaryScalarAvx512) binaryScalar;
  decltype(&compareScalarAvx512) compareScalar;
  decltype(&unaryAvx512) unary;
};

}  // namespace mp::simd

// The op switches of the vector kernel files (elementwiseAvx512.cpp, elementwiseAvx2.cpp), in a
// function returning bool: BODY(OP) for each vectorized binary op (the others return false), and
// BODY(PREDICATE) with each compare op's _CMP_ predicate (ordered, except Ne: a NaN compares as
// IEEE and the scalar loop say, only != holds).
#define MP_SWITCH_VECTOR_BINARY(op, BODY)                         \
  switch (op) {                                                   \
    case ::mp::BinaryOp::Add: BODY(::mp::BinaryOp::Add); return true;         \
    case ::mp::BinaryOp::Sub: BODY(::mp::BinaryOp::Sub); return true;         \
    case ::mp::BinaryOp::Mul: BODY(::mp::BinaryOp::Mul); return true;         \
    case ::mp::BinaryOp::Div: BODY(::mp::BinaryOp::Div); return true;         \
    case ::mp::BinaryOp::Maximum: BODY(::mp::BinaryOp::Maximum); return true; \
    case ::mp::BinaryOp::Minimum: BODY(::mp::BinaryOp::Minimum); return true; \
    case ::mp::BinaryOp::ReluGrad: BODY(::mp::BinaryOp::ReluGrad); return true; \
    default: return false;                                        \
  }

#define MP_SWITCH_COMPARE_PREDICATE(op, BODY)       \
  switch (op) {                                     \
    case ::mp::CompareOp::Eq: BODY(_CMP_EQ_OQ);     \
    case ::mp::CompareOp::Ne: BODY(_CMP_NEQ_UQ);    \
    case ::mp::CompareOp::Lt: BODY(_CMP_LT_OQ);     \
    case ::mp::CompareOp::Le: BODY(_CMP_LE_OQ);     \
    case ::mp::CompareOp::Gt: BODY(_CMP_GT_OQ);     \
    case ::mp::CompareOp::Ge: BODY(_CMP_GE_OQ);     \
  }                                                 \
  return false;
