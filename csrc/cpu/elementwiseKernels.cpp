#include "cpuKernels.h"

#include <type_traits>

#include "../core/binaryMath.h"
#include "../core/opSwitch.h"
#include "../core/elementTypes.h"
#include "../core/threadPool.h"
#include "../core/unaryMath.h"
#include "cpuFeatures.h"
#include "elementwiseSimd.h"

namespace mp::cpu {
namespace {

// Elements per thread at least: below it an op runs on the calling thread (a wake-up of the pool
// costs more than the work).
constexpr int64_t kElementwiseGrain = 1 << 15;

// The vector rows the float32/16-bit kernels take at the active SIMD level (elementwiseAvx512.cpp,
// elementwiseAvx2.cpp), or null: the portable loops below, which are also the tests' reference.
const simd::ElementwiseRows* vectorRows(DType dtype) {
  static constexpr simd::ElementwiseRows kAvx512{simd::binaryRowAvx512, simd::binaryScalarAvx512,
                                                 simd::compareScalarAvx512, simd::unaryAvx512};
  static constexpr simd::ElementwiseRows kAvx2{simd::binaryRowAvx2, simd::binaryScalarAvx2, simd::compareScalarAvx2,
                                               simd::unaryAvx2};
  if (dtype != DType::Float32 && dtype != DType::Float16 && dtype != DType::BFloat16) return nullptr;
  const SimdLevel level = activeSimdLevel();
  if (level >= SimdLevel::Avx512) return &kAvx512;
  if (level >= SimdLevel::F16c) return &kAvx2;
  return nullptr;
}

template <class Tag, BinaryOp Op>
void binaryRow(const typename Tag::Storage* a, int64_t sa, const typename Tag::Storage* b, int64_t sb,
               typename Tag::Storage* out, int64_t n) {
  if (sa == 1 && sb == 1) {
    for (int64_t i = 0; i < n; ++i) out[i] = binaryStored<Tag, Op>(a[i], b[i]);
  } else if (sa == 1 && sb == 0) {
    const auto y = b[0];
    for (int64_t i = 0; i < n; ++i) out[i] = binaryStored<Tag, Op>(a[i], y);
  } else if (sa == 0 && sb == 1) {
    const auto x = a[0];
    for (int64_t i = 0; i < n; ++i) out[i] = binaryStored<Tag, Op>(x, b[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) out[i] = binaryStored<Tag, Op>(a[i * sa], b[i * sb]);
  }
}

// A piece of one innermost row of a coalesced broadcast: where it starts in the (contiguous)
// output and in each operand, its length and the operands' strides along it.
struct Row {
  int64_t offOut;
  int64_t offA;
  int64_t offB;
  int64_t length;
  int64_t strideA;
  int64_t strideB;
};

// Coalesces the geometry and calls row(Row) for every innermost row, rows split over the pool.
// Fewer rows than threads, each long (a same-shape op coalesces to one row), are cut into pieces
// of at least kElementwiseGrain elements so they still fill the pool.
template <class RowFn>
void forEachRow(const BroadcastGeometry& geometry, const RowFn& row) {
  const BroadcastGeometry g = coalesce(geometry);
  const int last = g.ndim - 1;
  const int64_t inner = g.shape[last];
  int64_t rows = 1;
  for (int d = 0; d < last; ++d) rows *= g.shape[d];
  if (rows < numThreads() && inner >= 2 * kElementwiseGrain) {
    const int64_t pieces = inner / kElementwiseGrain;
    parallelFor(rows * pieces, 1, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        const int64_t r = t / pieces, p = t % pieces;
        const int64_t from = inner * p / pieces, to = inner * (p + 1) / pieces;
        int64_t offA = 0, offB = 0, rest = r;
        for (int d = last - 1; d >= 0; --d) {
          const int64_t index = rest % g.shape[d];
          rest /= g.shape[d];
          offA += index * g.strideA[d];
          offB += index * g.strideB[d];
        }
        row(Row{r * inner + from, offA + from * g.strideA[last], offB + from * g.strideB[last], to - from,
                g.strideA[last], g.strideB[last]});
      }
    });
    return;
  }
  const int64_t rowGrain = inner >= kElementwiseGrain ? 1 : kElementwiseGrain / inner;
  parallelFor(rows, rowGrain, [&](int64_t begin, int64_t end) {
    int64_t index[kMaxDims] = {};
    int64_t rest = begin;
    for (int d = last - 1; d >= 0; --d) {
      index[d] = rest % g.shape[d];
      rest /= g.shape[d];
    }
    for (int64_t r = begin; r < end; ++r) {
      int64_t offA = 0, offB = 0;
      for (int d = 0; d < last; ++d) {
        offA += index[d] * g.strideA[d];
        offB += index[d] * g.strideB[d];
      }
      row(Row{r * inner, offA, offB, inner, g.strideA[last], g.strideB[last]});
      for (int d = last - 1; d >= 0; --d) {
        if (++index[d] < g.shape[d]) break;
        index[d] = 0;
      }
    }
  });
}

template <class Tag, BinaryOp Op>
void binaryTyped(const void* av, const void* bv, void* outv, const BroadcastGeometry& geometry) {
  using S = typename Tag::Storage;
  const auto* a = static_cast<const S*>(av);
  const auto* b = static_cast<const S*>(bv);
  auto* out = static_cast<S*>(outv);
  const simd::ElementwiseRows* vector = vectorRows(Tag::kDType);
  forEachRow(geometry, [&](const Row& w) {
    if (vector && vector->binaryRow(Op, Tag::kDType, a + w.offA, w.strideA, b + w.offB, w.strideB,
                                   out + w.offOut, w.length)) {
      return;
    }
    binaryRow<Tag, Op>(a + w.offA, w.strideA, b + w.offB, w.strideB, out + w.offOut, w.length);
  });
}

// Copies bit patterns, so any dtype of this element width works. strideA: source, strideB: dest.
template <class Bits>
void stridedCopyTyped(const void* srcv, void* dstv, const BroadcastGeometry& geometry) {
  const auto* src = static_cast<const Bits*>(srcv);
  auto* dst = static_cast<Bits*>(dstv);
  forEachRow(geometry, [&](const Row& w) {
    const Bits* x = src + w.offA;
    Bits* o = dst + w.offB;
    if (w.strideA == 1 && w.strideB == 1) {
      for (int64_t i = 0; i < w.length; ++i) o[i] = x[i];
    } else {
      for (int64_t i = 0; i < w.length; ++i) o[i * w.strideB] = x[i * w.strideA];
    }
  });
}

template <class Tag, BinaryOp Op>
void binaryScalarTyped(const void* av, double scalar, bool scalarFirst, void* outv, int64_t n) {
  using S = typename Tag::Storage;
  using M = OpMath<Tag>;
  const auto* a = static_cast<const S*>(av);
  auto* out = static_cast<S*>(outv);
  const M s = M(scalar);
  const simd::ElementwiseRows* vector = vectorRows(Tag::kDType);
  parallelFor(n, kElementwiseGrain, [&](int64_t begin, int64_t end) {
    if constexpr (std::is_same_v<M, float>) {
      if (vector && vector->binaryScalar(Op, Tag::kDType, a + begin, s, scalarFirst, out + begin, end - begin)) return;
    }
    if (scalarFirst) {
      for (int64_t i = begin; i < end; ++i) out[i] = binaryScalarStored<Tag, Op>(a[i], s, true);
    } else {
      for (int64_t i = begin; i < end; ++i) out[i] = binaryScalarStored<Tag, Op>(a[i], s, false);
    }
  });
}

template <class Tag>
void unaryTyped(UnaryOp op, const void* av, void* outv, int64_t n, double p0, double p1) {
  using S = typename Tag::Storage;
  using M = OpMath<Tag>;
  const auto* a = static_cast<const S*>(av);
  auto* out = static_cast<S*>(outv);
  const simd::ElementwiseRows* vector = vectorRows(Tag::kDType);
  parallelFor(n, kElementwiseGrain, [&](int64_t begin, int64_t end) {
    if constexpr (std::is_same_v<M, float>) {
      if (vector && vector->unary(op, Tag::kDType, a + begin, out + begin, end - begin, M(p0), M(p1))) return;
    }
    for (int64_t i = begin; i < end; ++i) out[i] = unaryStored<Tag>(op, a[i], M(p0), M(p1));
  });
}

template <class Tag, CompareOp Op>
void compareTyped(const void* av, const void* bv, void* outv, const BroadcastGeometry& geometry) {
  using S = typename Tag::Storage;
  using M = OpMath<Tag>;
  const auto* a = static_cast<const S*>(av);
  const auto* b = static_cast<const S*>(bv);
  auto* out = static_cast<uint8_t*>(outv);
  forEachRow(geometry, [&](const Row& w) {
    uint8_t* o = out + w.offOut;
    for (int64_t i = 0; i < w.length; ++i) {
      o[i] = applyCompare<Op, M>(M(Tag::load(a[w.offA + i * w.strideA])), M(Tag::load(b[w.offB + i * w.strideB])));
    }
  });
}

template <class Tag, CompareOp Op>
void compareScalarTyped(const void* av, double scalar, void* outv, int64_t n) {
  using S = typename Tag::Storage;
  using M = OpMath<Tag>;
  const auto* a = static_cast<const S*>(av);
  auto* out = static_cast<uint8_t*>(outv);
  const M s = M(Tag::load(Tag::fromDouble(scalar)));
  const simd::ElementwiseRows* vector = vectorRows(Tag::kDType);
  parallelFor(n, kElementwiseGrain, [&](int64_t begin, int64_t end) {
    if (vector && vector->compareScalar(Op, Tag::kDType, a + begin, float(s), out + begin, end - begin)) return;
    for (int64_t i = begin; i < end; ++i) out[i] = applyCompare<Op, M>(M(Tag::load(a[i])), s);
  });
}

template <class Tag>
void fillTyped(void* outv, int64_t n, double value) {
  using S = typename Tag::Storage;
  auto* out = static_cast<S*>(outv);
  const S v = Tag::fromDouble(value);
  parallelFor(n, kElementwiseGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) out[i] = v;
  });
}

}  // namespace

}  // namespace mp::cpu

namespace mp::simd {

void unaryScalarRow(UnaryOp op, float* v, int n, float p0, float p1) {
  for (int k = 0; k < n; ++k) v[k] = applyUnary<float>(op, v[k], p0, p1);
}

}  // namespace mp::simd

namespace mp::cpu {

void binary(BinaryOp op, DType dtype, const void* a, const void* b, void* out, const BroadcastGeometry& g) {
#define MP_CALL(OP) binaryTyped<Tag, OP>(a, b, out, g)
  MP_DISPATCH_DTYPE(dtype, MP_SWITCH_BINARY(op, MP_CALL));
#undef MP_CALL
}

void binaryScalar(BinaryOp op, DType dtype, const void* a, double scalar, bool scalarFirst, void* out, int64_t n) {
#define MP_CALL(OP) binaryScalarTyped<Tag, OP>(a, scalar, scalarFirst, out, n)
  MP_DISPATCH_DTYPE(dtype, MP_SWITCH_BINARY(op, MP_CALL));
#undef MP_CALL
}

void unary(UnaryOp op, DType dtype, const void* a, void* out, int64_t n, double p0, double p1) {
  MP_DISPATCH_DTYPE(dtype, unaryTyped<Tag>(op, a, out, n, p0, p1));
}

void compare(CompareOp op, DType dtype, const void* a, const void* b, void* out, const BroadcastGeometry& g) {
#define MP_CALL(OP) compareTyped<Tag, OP>(a, b, out, g)
  MP_DISPATCH_DTYPE(dtype, MP_SWITCH_COMPARE(op, MP_CALL));
#undef MP_CALL
}

void compareScalar(CompareOp op, DType dtype, const void* a, double scalar, void* out, int64_t n) {
#define MP_CALL(OP) compareScalarTyped<Tag, OP>(a, scalar, out, n)
  MP_DISPATCH_DTYPE(dtype, MP_SWITCH_COMPARE(op, MP_CALL));
#undef MP_CALL
}

void stridedCopy(DType dtype, const void* src, void* dst, const BroadcastGeometry& g) {
  MP_DISPATCH_WIDTH(dtype, stridedCopyTyped<Bits>(src, dst, g));
}

void fill(DType dtype, void* out, int64_t n, double value) { MP_DISPATCH_DTYPE(dtype, fillTyped<Tag>(out, n, value)); }

}  // namespace mp::cpu
