// Plain argument types shared by the CPU and CUDA kernels (no N-API, no policy).
#pragma once
#include <cstdint>

#include "enumTable.h"
#include "hostDevice.h"

namespace mp {

constexpr int kMaxDims = 16;

// The op and kind codes the bindings take; names are lib/'s (camelCase), see enumTable.h.
// ReluGrad is relu's backward (PyTorch's threshold_backward at 0): x where y > 0 (or y is NaN), else 0.
#define MP_BINARY_OPS(X)                                                                                  \
  X(Add, "add") X(Sub, "sub") X(Mul, "mul") X(Div, "div") X(Pow, "pow") X(Maximum, "maximum") X(Minimum, "minimum") \
  X(ReluGrad, "reluGrad")
MP_DEFINE_ENUM(BinaryOp, MP_BINARY_OPS)

#define MP_UNARY_OPS(X)                                                                                    \
  X(Neg, "neg") X(Abs, "abs") X(Exp, "exp") X(Log, "log") X(Log1p, "log1p") X(Expm1, "expm1") X(Sqrt, "sqrt") \
  X(Rsqrt, "rsqrt") X(Reciprocal, "reciprocal") X(Sin, "sin") X(Cos, "cos") X(Tanh, "tanh")                 \
  X(Sigmoid, "sigmoid") X(Relu, "relu") X(LeakyRelu, "leakyRelu") X(Elu, "elu") X(Gelu, "gelu")             \
  X(GeluTanh, "geluTanh") X(Silu, "silu") X(Softplus, "softplus") X(Clamp, "clamp") X(PowScalar, "powScalar") \
  X(Erf, "erf") X(Sign, "sign")
MP_DEFINE_ENUM(UnaryOp, MP_UNARY_OPS)

#define MP_COMPARE_OPS(X) X(Eq, "eq") X(Ne, "ne") X(Lt, "lt") X(Le, "le") X(Gt, "gt") X(Ge, "ge")
MP_DEFINE_ENUM(CompareOp, MP_COMPARE_OPS)

#define MP_RANDOM_KINDS(X) X(Uniform, "uniform") X(Normal, "normal") X(Integer, "integer")
MP_DEFINE_ENUM(RandomKind, MP_RANDOM_KINDS)

// An output of shape[0..ndim) (contiguous) and the element strides of two inputs broadcast to it
// (0 along broadcast dimensions).
struct BroadcastGeometry {
  int ndim = 0;
  int64_t shape[kMaxDims] = {};
  int64_t strideA[kMaxDims] = {};
  int64_t strideB[kMaxDims] = {};
};

// Element offsets into both inputs of output element i (row-major over g.shape).
MP_HD void broadcastOffsets(const BroadcastGeometry& g, int64_t i, int64_t& offA, int64_t& offB) {
  offA = 0;
  offB = 0;
  for (int d = g.ndim - 1; d >= 0; --d) {
    const int64_t idx = i % g.shape[d];
    i /= g.shape[d];
    offA += idx * g.strideA[d];
    offB += idx * g.strideB[d];
  }
}

// Merges adjacent dimensions that are contiguous in both inputs, and drops size-1 dimensions, so
// kernels see the fewest, longest rows.
// Merges dimensions that are contiguous in all N operands (in[k] holds operand k's strides)
// and drops size-1 ones, writing the result to outShape/out; returns the new rank (at least 1).
template <int N>
inline int coalesceDims(int ndim, const int64_t* shape, const int64_t* const (&in)[N], int64_t* outShape, int64_t* const (&out)[N]) {
  int r = 0;
  for (int d = 0; d < ndim; ++d) {
    const int64_t s = shape[d];
    if (s == 1) continue;
    bool merge = r > 0;
    for (int k = 0; merge && k < N; ++k) merge = out[k][r - 1] == in[k][d] * s;
    const int at = merge ? r - 1 : r;
    outShape[at] = merge ? outShape[at] * s : s;
    for (int k = 0; k < N; ++k) out[k][at] = in[k][d];
    if (!merge) ++r;
  }
  if (r == 0) {
    outShape[0] = 1;
    for (int k = 0; k < N; ++k) out[k][0] = 0;
    r = 1;
  }
  return r;
}

inline BroadcastGeometry coalesce(const BroadcastGeometry& g) {
  BroadcastGeometry r;
  r.ndim = coalesceDims<2>(g.ndim, g.shape, {g.strideA, g.strideB}, r.shape, {r.strideA, r.strideB});
  return r;
}

// Element strides of one matrix operand (so a transpose is just swapped strides).
struct MatrixLayout {
  int64_t rowStride = 0;
  int64_t colStride = 0;
};

// Elements a rows x cols matrix read through `l` spans from its first (0 when it has none).
inline int64_t matrixSpan(int64_t rows, int64_t cols, const MatrixLayout& l) {
  return rows == 0 || cols == 0 ? 0 : (rows - 1) * l.rowStride + (cols - 1) * l.colStride + 1;
}

// out[batch] (contiguous [batch..., m, n]) = A[batch] (m x k) @ B[batch] (k x n). batch.shape is
// the output's batch dims; batch.strideA / strideB the batch strides of A and B (0 = broadcast).
// Cast fusion (CPU only): in a float16/bfloat16 product an operand flagged float32 is stored as
// float32 and rounded to the product's dtype as it is read, and a float32-flagged output holds the
// 16-bit result widened back: exactly casting the operand first and the result after.
struct MatmulShape {
  BroadcastGeometry batch;
  int64_t m = 0, n = 0, k = 0;
  MatrixLayout a, b;
  bool aFloat32 = false, bFloat32 = false, outFloat32 = false;
  bool castFused() const { return aFloat32 || bFloat32 || outFloat32; }
};

// The counter-based random generator's position: a 64-bit seed and the index of the first
// Philox block this call consumes. Element i always uses block offset + i, so values do not
// depend on thread count or device.
struct RandomState {
  uint64_t seed = 0;
  uint64_t offset = 0;
};

}  // namespace mp
