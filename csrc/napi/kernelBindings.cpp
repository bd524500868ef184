// Kernel entry points: check arguments, pick the device's backend, run. No math, no policy.
#include <cmath>
#include <cstdint>
#include <string>

#include "../core/errors.h"
#include "../cpu/castKernels.h"
#include "../cpu/creationKernels.h"
#include "../cpu/elementwiseKernels.h"
#include "../cpu/matmulKernels.h"
#include "../cpu/peakProbe.h"
#include "../cpu/randomKernels.h"
#include "../cpu/reduceKernels.h"
#include "../core/unaryMath.h"
#include "../cuda/cudaBackend.h"
#include "args.h"
#include "bindings.h"
#include "guarded.h"

namespace mp::napi {
namespace {

Napi::Value cast(const Napi::CallbackInfo& cb) {
  Args args(cb, "cast", 7);
  const int64_t n = args.count(6, "n");
  const View src = args.view(0, "src", n, args.dtype(2, "srcDtype"));
  const View dst = args.view(3, "dst", n, args.dtype(5, "dstDtype"));
  requireSameDevice("cast", {src, dst});
  if (onCpu(src)) {
    cpu::cast(src.data(), src.dtype, dst.data(), dst.dtype, n);
  } else {
    cuda::cast(src.device(), src.data(), src.dtype, dst.data(), dst.dtype, n);
  }
  return cb.Env().Undefined();
}

Napi::Value castReference(const Napi::CallbackInfo& cb) {
  Args args(cb, "castReference", 7);
  const int64_t n = args.count(6, "n");
  const View src = args.view(0, "src", n, args.dtype(2, "srcDtype"));
  const View dst = args.view(3, "dst", n, args.dtype(5, "dstDtype"));
  if (!onCpu(src) || !onCpu(dst)) throwTypeError("ERR_INVALID_ARG", "mixprec native castReference: cpu storages only");
  cpu::castReference(src.data(), src.dtype, dst.data(), dst.dtype, n);
  return cb.Env().Undefined();
}

// An output shape and the strides of up to two inputs read against it, checked.
struct Broadcast {
  BroadcastGeometry geometry;
  int64_t numel = 1;
  int64_t spanA = 0;
  int64_t spanB = 0;
};

Broadcast readBroadcast(const Args& args, const char* function, size_t shapeIndex, size_t stridesAIndex,
                        size_t stridesBIndex = SIZE_MAX) {
  const std::vector<int64_t> shape = args.int64Array(shapeIndex, "shape");
  if (shape.size() > size_t(kMaxDims)) args.fail(shapeIndex, "shape", "at most " + std::to_string(kMaxDims) + " dimensions");
  const std::vector<int64_t> stridesA = args.int64Array(stridesAIndex, "aStrides");
  const std::vector<int64_t> stridesB =
      stridesBIndex == SIZE_MAX ? std::vector<int64_t>(shape.size(), 0) : args.int64Array(stridesBIndex, "bStrides");
  Broadcast r;
  r.geometry.ndim = int(shape.size());
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] < 0) args.fail(shapeIndex, "shape", "non-negative sizes");
    r.geometry.shape[d] = shape[d];
    r.numel = checkedProduct(function, {r.numel, shape[d]});
  }
  r.spanA = spanOf(args, stridesAIndex, shape, stridesA);
  r.spanB = stridesBIndex == SIZE_MAX ? 0 : spanOf(args, stridesBIndex, shape, stridesB);
  for (size_t d = 0; d < shape.size(); ++d) {
    r.geometry.strideA[d] = stridesA[d];
    r.geometry.strideB[d] = stridesB[d];
  }
  return r;
}

// binary(op, dtype, a, aOffset, aStrides, b, bOffset, bStrides, out, outOffset, shape)
Napi::Value binary(const Napi::CallbackInfo& cb) {
  Args args(cb, "binary", 11);
  const auto op = BinaryOp(args.enumValue(0, "op", isValidBinaryOp));
  const DType dtype = args.dtype(1, "dtype");
  if (op == BinaryOp::Div && (dtype == DType::Int32 || dtype == DType::Bool)) {
    throwTypeError("ERR_INVALID_ARG", "mixprec native binary: div needs a floating dtype (promote integers first)");
  }
  const Broadcast bc = readBroadcast(args, "binary", 10, 4, 7);
  const View a = args.view(2, "a", bc.spanA, dtype);
  const View b = args.view(5, "b", bc.spanB, dtype);
  const View out = args.view(8, "out", bc.numel, dtype);
  requireSameDevice("binary", {a, b, out});
  if (bc.numel == 0) return cb.Env().Undefined();
  if (onCpu(out)) {
    cpu::binary(op, dtype, a.data(), b.data(), out.data(), bc.geometry);
  } else {
    cuda::binary(out.device(), op, dtype, a.data(), b.data(), out.data(), bc.geometry);
  }
  return cb.Env().Undefined();
}

// stridedCopy(dtype, src, srcOffset, srcStrides, dst, dstOffset, dstStrides, shape)
Napi::Value stridedCopy(const Napi::CallbackInfo& cb) {
  Args args(cb, "stridedCopy", 8);
  const DType dtype = args.dtype(0, "dtype");
  const Broadcast bc = readBroadcast(args, "stridedCopy", 7, 3, 6);
  // A zero destination stride would make threads race on one element.
  for (int d = 0; d < bc.geometry.ndim && bc.numel > 0; ++d) {
    if (bc.geometry.shape[d] > 1 && bc.geometry.strideB[d] == 0) args.fail(6, "dstStrides", "non-zero strides");
  }
  const View src = args.view(1, "src", bc.spanA, dtype);
  const View dst = args.view(4, "dst", bc.spanB, dtype);
  requireSameDevice("stridedCopy", {src, dst});
  if (bc.numel == 0) return cb.Env().Undefined();
  if (onCpu(dst)) {
    cpu::stridedCopy(dtype, src.data(), dst.data(), bc.geometry);
  } else {
    cuda::stridedCopy(dst.device(), dtype, src.data(), dst.data(), bc.geometry);
  }
  return cb.Env().Undefined();
}

// binaryScalar(op, dtype, a, aOffset, scalar, scalarFirst, out, outOffset, n)
Napi::Value binaryScalar(const Napi::CallbackInfo& cb) {
  Args args(cb, "binaryScalar", 9);
  const auto op = BinaryOp(args.enumValue(0, "op", isValidBinaryOp));
  const DType dtype = args.dtype(1, "dtype");
  const double scalar = args.number(4, "scalar");
  const bool scalarFirst = args.boolean(5, "scalarFirst");
  const int64_t n = args.count(8, "n");
  const bool integral = dtype == DType::Int32 || dtype == DType::Bool;
  if (integral && op == BinaryOp::Div) {
    throwTypeError("ERR_INVALID_ARG", "mixprec native binaryScalar: div needs a floating dtype (promote integers first)");
  }
  if (integral && !(std::fabs(scalar) <= 4611686018427387904.0 && std::floor(scalar) == scalar)) {
    args.fail(4, "scalar", "an integer for an integer dtype");
  }
  const View a = args.view(2, "a", n, dtype);
  const View out = args.view(6, "out", n, dtype);
  requireSameDevice("binaryScalar", {a, out});
  if (onCpu(out)) {
    cpu::binaryScalar(op, dtype, a.data(), scalar, scalarFirst, out.data(), n);
  } else {
    cuda::binaryScalar(out.device(), op, dtype, a.data(), scalar, scalarFirst, out.data(), n);
  }
  return cb.Env().Undefined();
}

// unary(op, dtype, a, aOffset, out, outOffset, n, p0, p1)
Napi::Value unary(const Napi::CallbackInfo& cb) {
  Args args(cb, "unary", 9);
  const auto op = UnaryOp(args.enumValue(0, "op", isValidUnaryOp));
  const DType dtype = args.dtype(1, "dtype");
  const int64_t n = args.count(6, "n");
  const double p0 = args.number(7, "p0");
  const double p1 = args.number(8, "p1");
  const bool integral = dtype == DType::Int32 || dtype == DType::Bool;
  if (integral && !unaryOpAcceptsIntegers(op)) {
    throwTypeError("ERR_INVALID_ARG", "mixprec native unary: this op needs a floating dtype (promote integers first)");
  }
  if (integral && !(std::fabs(p0) <= 4611686018427387904.0 && std::fabs(p1) <= 4611686018427387904.0)) {
    args.fail(7, "p0", "integer-range parameters for an integer dtype");
  }
  const View a = args.view(2, "a", n, dtype);
  const View out = args.view(4, "out", n, dtype);
  requireSameDevice("unary", {a, out});
  if (onCpu(out)) {
    cpu::unary(op, dtype, a.data(), out.data(), n, p0, p1);
  } else {
    cuda::unary(out.device(), op, dtype, a.data(), out.data(), n, p0, p1);
  }
  return cb.Env().Undefined();
}

// compare(op, dtype, a, aOffset, aStrides, b, bOffset, bStrides, out, outOffset, shape): out is bool.
Napi::Value compare(const Napi::CallbackInfo& cb) {
  Args args(cb, "compare", 11);
  const auto op = CompareOp(args.enumValue(0, "op", isValidCompareOp));
  const DType dtype = args.dtype(1, "dtype");
  const Broadcast bc = readBroadcast(args, "compare", 10, 4, 7);
  const View a = args.view(2, "a", bc.spanA, dtype);
  const View b = args.view(5, "b", bc.spanB, dtype);
  const View out = args.view(8, "out", bc.numel, DType::Bool);
  requireSameDevice("compare", {a, b, out});
  if (bc.numel == 0) return cb.Env().Undefined();
  if (onCpu(out)) {
    cpu::compare(op, dtype, a.data(), b.data(), out.data(), bc.geometry);
  } else {
    cuda::compare(out.device(), op, dtype, a.data(), b.data(), out.data(), bc.geometry);
  }
  return cb.Env().Undefined();
}

// compareScalar(op, dtype, a, aOffset, scalar, out, outOffset, n): out is bool.
Napi::Value compareScalar(const Napi::CallbackInfo& cb) {
  Args args(cb, "compareScalar", 8);
  const auto op = CompareOp(args.enumValue(0, "op", isValidCompareOp));
  const DType dtype = args.dtype(1, "dtype");
  const double scalar = args.number(4, "scalar");
  const int64_t n = args.count(7, "n");
  const View a = args.view(2, "a", n, dtype);
  const View out = args.view(5, "out", n, DType::Bool);
  requireSameDevice("compareScalar", {a, out});
  if (onCpu(out)) {
    cpu::compareScalar(op, dtype, a.data(), scalar, out.data(), n);
  } else {
    cuda::compareScalar(out.device(), op, dtype, a.data(), scalar, out.data(), n);
  }
  return cb.Env().Undefined();
}

// fill(dtype, out, outOffset, n, value)
Napi::Value fill(const Napi::CallbackInfo& cb) {
  Args args(cb, "fill", 5);
  const DType dtype = args.dtype(0, "dtype");
  const int64_t n = args.count(3, "n");
  const double value = args.number(4, "value");
  const View out = args.view(1, "out", n, dtype);
  if (onCpu(out)) {
    cpu::fill(dtype, out.data(), n, value);
  } else {
    cuda::fill(out.device(), dtype, out.data(), n, value);
  }
  return cb.Env().Undefined();
}

// reduceSum(inDtype, in, inOffset, outDtype, out, outOffset, outer, size, inner, mean)
Napi::Value reduceSum(const Napi::CallbackInfo& cb) {
  Args args(cb, "reduceSum", 10);
  const DType inType = args.dtype(0, "inDtype");
  const DType outType = args.dtype(3, "outDtype");
  const int64_t outer = args.count(6, "outer");
  const int64_t size = args.count(7, "size");
  const int64_t inner = args.count(8, "inner");
  const bool mean = args.boolean(9, "mean");
  const View in = args.view(1, "in", checkedProduct("reduceSum", {outer, size, inner}), inType);
  const View out = args.view(4, "out", checkedProduct("reduceSum", {outer, inner}), outType);
  requireSameDevice("reduceSum", {in, out});
  if (onCpu(out)) {
    cpu::reduceSum(inType, in.data(), outType, out.data(), outer, size, inner, mean);
  } else {
    cuda::reduceSum(out.device(), inType, in.data(), outType, out.data(), outer, size, inner, mean);
  }
  return cb.Env().Undefined();
}

// reduceAlong(kind, inDtype, in, inOffset, outDtype, out, outOffset, outer, size, inner, p0)
Napi::Value reduceAlong(const Napi::CallbackInfo& cb) {
  Args args(cb, "reduceAlong", 11);
  const auto kind = ReduceKind(args.enumValue(0, "kind", isValidReduceKind));
  const DType inType = args.dtype(1, "inDtype");
  const DType outType = args.dtype(4, "outDtype");
  const int64_t outer = args.count(7, "outer");
  const int64_t size = args.count(8, "size");
  const int64_t inner = args.count(9, "inner");
  const double p0 = args.number(10, "p0");
  const bool needsValues = kind == ReduceKind::Max || kind == ReduceKind::Min || kind == ReduceKind::ArgMax ||
                           kind == ReduceKind::ArgMin;
  if (needsValues && size == 0 && outer * inner > 0) {
    throwRangeError("ERR_INVALID_SHAPE", "mixprec native reduceAlong: max/min/argmax/argmin of no elements");
  }
  const View in = args.view(2, "in", checkedProduct("reduceAlong", {outer, size, inner}), inType);
  const View out = args.view(5, "out", checkedProduct("reduceAlong", {outer, inner}), outType);
  requireSameDevice("reduceAlong", {in, out});
  if (onCpu(out)) {
    cpu::reduceAlong(kind, inType, in.data(), outType, out.data(), outer, size, inner, p0);
  } else {
    cuda::reduceAlong(out.device(), kind, inType, in.data(), outType, out.data(), outer, size, inner, p0);
  }
  return cb.Env().Undefined();
}

// softmax(log, dtype, in, inOffset, out, outOffset, outer, size, inner)
Napi::Value softmax(const Napi::CallbackInfo& cb) {
  Args args(cb, "softmax", 9);
  const bool log = args.boolean(0, "log");
  const DType dtype = args.dtype(1, "dtype");
  if (dtype == DType::Int32 || dtype == DType::Bool) args.fail(1, "dtype", "a floating dtype");
  const int64_t n = checkedProduct("softmax", {args.count(6, "outer"), args.count(7, "size"), args.count(8, "inner")});
  const View in = args.view(2, "in", n, dtype);
  const View out = args.view(4, "out", n, dtype);
  requireSameDevice("softmax", {in, out});
  const int64_t outer = args.count(6, "outer"), size = args.count(7, "size"), inner = args.count(8, "inner");
  if (onCpu(out)) {
    cpu::softmax(log, dtype, in.data(), out.data(), outer, size, inner);
  } else {
    cuda::softmax(out.device(), log, dtype, in.data(), out.data(), outer, size, inner);
  }
  return cb.Env().Undefined();
}

// Elements a strided matrix spans (0 when it has none).
int64_t matrixSpan(int64_t rows, int64_t cols, const MatrixLayout& l) {
  return rows == 0 || cols == 0 ? 0 : (rows - 1) * l.rowStride + (cols - 1) * l.colStride + 1;
}

// matmul(dtype, a, aOffset, aBatchStrides, aRowStride, aColStride, b, bOffset, bBatchStrides,
//        bRowStride, bColStride, out, outOffset, batchShape, m, n, k); matmulReference takes the
// same arguments and runs the scalar reference (CPU only), which the GEMM tests compare against.
template <bool Reference>
Napi::Value matmul(const Napi::CallbackInfo& cb) {
  const char* name = Reference ? "matmulReference" : "matmul";
  Args args(cb, name, 17);
  const DType dtype = args.dtype(0, "dtype");
  const Broadcast bc = readBroadcast(args, name, 13, 3, 8);
  MatmulShape s;
  s.batch = bc.geometry;
  s.m = args.count(14, "m");
  s.n = args.count(15, "n");
  s.k = args.count(16, "k");
  s.a = {args.count(4, "aRowStride"), args.count(5, "aColStride")};
  s.b = {args.count(9, "bRowStride"), args.count(10, "bColStride")};
  const int64_t spanA = matrixSpan(s.m, s.k, s.a), spanB = matrixSpan(s.k, s.n, s.b);
  const View a = args.view(1, "a", bc.spanA == 0 || spanA == 0 ? 0 : bc.spanA - 1 + spanA, dtype);
  const View b = args.view(6, "b", bc.spanB == 0 || spanB == 0 ? 0 : bc.spanB - 1 + spanB, dtype);
  const View out = args.view(11, "out", checkedProduct(name, {bc.numel, s.m, s.n}), dtype);
  requireSameDevice(name, {a, b, out});
  if (Reference && !onCpu(out)) throwTypeError("ERR_INVALID_ARG", "mixprec native matmulReference: cpu storages only");
  if (out.numel == 0) return cb.Env().Undefined();
  if (Reference) {
    cpu::matmulReference(dtype, a.data(), b.data(), out.data(), s);
  } else if (onCpu(out)) {
    cpu::matmul(dtype, a.data(), b.data(), out.data(), s);
  } else {
    cuda::matmul(out.device(), dtype, a.data(), b.data(), out.data(), s);
  }
  return cb.Env().Undefined();
}

// peakProbe(kind, iterations): GFLOP/s of a register-only multiply-add loop on this thread
// (kind 0 = zmm FMA, 1 = zmm VDPBF16PS, 2 = ymm FMA); 0 when the CPU lacks the instructions.
Napi::Value peakProbe(const Napi::CallbackInfo& cb) {
  Args args(cb, "peakProbe", 2);
  const auto kind = cpu::PeakKind(args.enumValue(0, "kind", cpu::isValidPeakKind));
  return Napi::Number::New(cb.Env(), cpu::peakProbe(kind, args.count(1, "iterations")));
}

// random(kind, dtype, out, outOffset, n, seed, offset, a, b)
Napi::Value random(const Napi::CallbackInfo& cb) {
  Args args(cb, "random", 9);
  const auto kind = RandomKind(args.enumValue(0, "kind", isValidRandomKind));
  const DType dtype = args.dtype(1, "dtype");
  const int64_t n = args.count(4, "n");
  const RandomState state{args.uint64(5, "seed"), args.uint64(6, "offset")};
  const double a = args.number(7, "a");
  const double b = args.number(8, "b");
  if (!std::isfinite(a)) args.fail(7, "a", "a finite number");
  if (!std::isfinite(b)) args.fail(8, "b", "a finite number");
  if (kind == RandomKind::Integer && !(std::floor(a) == a && std::floor(b) == b && b > a && b - a <= 4294967296.0)) {
    args.fail(8, "b", "an integer with 0 < b - a <= 2^32");
  }
  if (kind == RandomKind::Normal && !(b >= 0)) args.fail(8, "b", "a non-negative standard deviation");
  if (dtype == DType::Bool && kind != RandomKind::Integer) args.fail(1, "dtype", "a numeric dtype");
  const View out = args.view(2, "out", n, dtype);
  if (onCpu(out)) {
    cpu::random(kind, dtype, out.data(), n, state, a, b);
  } else {
    cuda::random(out.device(), kind, dtype, out.data(), n, state, a, b);
  }
  return cb.Env().Undefined();
}

// arange(dtype, out, outOffset, n, start, step) and linspace(dtype, out, outOffset, n, start, end)
template <bool Linspace>
Napi::Value sequence(const Napi::CallbackInfo& cb) {
  const char* name = Linspace ? "linspace" : "arange";
  Args args(cb, name, 6);
  const DType dtype = args.dtype(0, "dtype");
  const int64_t n = args.count(3, "n");
  const double x = args.number(4, "start");
  const double y = args.number(5, Linspace ? "end" : "step");
  const View out = args.view(1, "out", n, dtype);
  if (onCpu(out)) {
    Linspace ? cpu::linspace(dtype, out.data(), n, x, y) : cpu::arange(dtype, out.data(), n, x, y);
  } else {
    Linspace ? cuda::linspace(out.device(), dtype, out.data(), n, x, y)
             : cuda::arange(out.device(), dtype, out.data(), n, x, y);
  }
  return cb.Env().Undefined();
}

// eye(dtype, out, outOffset, rows, cols)
Napi::Value eye(const Napi::CallbackInfo& cb) {
  Args args(cb, "eye", 5);
  const DType dtype = args.dtype(0, "dtype");
  const int64_t rows = args.count(3, "rows");
  const int64_t cols = args.count(4, "cols");
  const View out = args.view(1, "out", checkedProduct("eye", {rows, cols}), dtype);
  if (onCpu(out)) {
    cpu::eye(dtype, out.data(), rows, cols);
  } else {
    cuda::eye(out.device(), dtype, out.data(), rows, cols);
  }
  return cb.Env().Undefined();
}

}  // namespace

void registerKernelBindings(Napi::Env env, Napi::Object exports) {
  exportFunction<cast>(env, exports, "cast");
  exportFunction<castReference>(env, exports, "castReference");
  exportFunction<binary>(env, exports, "binary");
  exportFunction<binaryScalar>(env, exports, "binaryScalar");
  exportFunction<unary>(env, exports, "unary");
  exportFunction<compare>(env, exports, "compare");
  exportFunction<compareScalar>(env, exports, "compareScalar");
  exportFunction<stridedCopy>(env, exports, "stridedCopy");
  exportFunction<fill>(env, exports, "fill");
  exportFunction<reduceSum>(env, exports, "reduceSum");
  exportFunction<reduceAlong>(env, exports, "reduceAlong");
  exportFunction<softmax>(env, exports, "softmax");
  exportFunction<matmul<false>>(env, exports, "matmul");
  exportFunction<matmul<true>>(env, exports, "matmulReference");
  exportFunction<peakProbe>(env, exports, "peakProbe");
  exportFunction<random>(env, exports, "random");
  exportFunction<sequence<false>>(env, exports, "arange");
  exportFunction<sequence<true>>(env, exports, "linspace");
  exportFunction<eye>(env, exports, "eye");
}

}  // namespace mp::napi
