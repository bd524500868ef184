// Kernel entry points: check arguments, pick the device's backend, run. No math, no policy.
// The strided ones (binary, compare, stridedCopy, matmul) take one object of named arguments.
#include <cmath>
#include <cstdint>
#include <string>

#include "../core/errors.h"
#include "../core/unaryMath.h"
#include "args.h"
#include "bindings.h"
#include "guarded.h"
#include "stridedArgs.h"

namespace mp::napi {
namespace {

// The backend a binding runs on: the operands' device's, or (test surface) the CPU references.
template <bool Reference>
Backend& backendOf(const char* function, const View& out) {
  return napi::backendOf(function, out.device(), Reference, "cpu storages only");
}

// cast(src, srcOffset, srcDtype, dst, dstOffset, dstDtype, n); castReference (test surface): the
// scalar reference.
template <bool Reference>
Napi::Value cast(const Napi::CallbackInfo& cb) {
  const char* name = Reference ? "castReference" : "cast";
  Args args(cb, name, 7);
  const int64_t n = args.count(6, "n");
  const View src = args.view(0, "src", n, args.dtype(2, "srcDtype"));
  const View dst = args.view(3, "dst", n, args.dtype(5, "dstDtype"));
  requireSameDevice(name, {src, dst});
  backendOf<Reference>(name, src).cast(src.index(), src.data(), src.dtype, dst.data(), dst.dtype, n);
  return cb.Env().Undefined();
}

// The output shape and the operands of binary / compare, read against it.
struct Broadcast {
  BroadcastGeometry geometry;
  OutputShape shape;
  View a, b, out;
};

Broadcast readBroadcast(const Fields& f, const char* function, DType dtype, DType outType) {
  Broadcast r;
  r.shape = readShape(f, function, "shape");
  r.geometry = geometryOf<BroadcastGeometry>(r.shape);
  r.a = stridedOperand(f["a"].object(), r.shape, dtype, r.geometry.strideA);
  r.b = stridedOperand(f["b"].object(), r.shape, dtype, r.geometry.strideB);
  r.out = f.view("out", r.shape.numel, outType);
  requireSameDevice(function, {r.a, r.b, r.out});
  return r;
}

// binary({op, dtype, a: {storage, offset, strides}, b: {...}, out: {storage, offset}, shape})
Napi::Value binary(const Napi::CallbackInfo& cb) {
  const Fields f = Args(cb, "binary", 1).fields(0);
  const auto op = BinaryOp(f["op"].enumValue(isValidBinaryOp));
  const DType dtype = f["dtype"].dtype();
  if (op == BinaryOp::Div && (dtype == DType::Int32 || dtype == DType::Bool)) {
    throwTypeError("ERR_INVALID_ARG", "mixprec native binary: div needs a floating dtype (promote integers first)");
  }
  const Broadcast bc = readBroadcast(f, "binary", dtype, dtype);
  if (bc.shape.numel == 0) return cb.Env().Undefined();
  bc.out.backend().binary(bc.out.index(), op, dtype, bc.a.data(), bc.b.data(), bc.out.data(), bc.geometry);
  return cb.Env().Undefined();
}

// stridedCopy({dtype, src: {storage, offset, strides}, dst: {storage, offset, strides}, shape})
Napi::Value stridedCopy(const Napi::CallbackInfo& cb) {
  const Fields f = Args(cb, "stridedCopy", 1).fields(0);
  const DType dtype = f["dtype"].dtype();
  const OutputShape shape = readShape(f, "stridedCopy", "shape");
  BroadcastGeometry g = geometryOf<BroadcastGeometry>(shape);
  const View src = stridedOperand(f["src"].object(), shape, dtype, g.strideA);
  const View dst = stridedOperand(f["dst"].object(), shape, dtype, g.strideB);
  // A zero destination stride would make threads race on one element.
  for (int d = 0; d < g.ndim && shape.numel > 0; ++d) {
    if (g.shape[d] > 1 && g.strideB[d] == 0) f["dst"].object().fail("strides", "non-zero strides");
  }
  requireSameDevice("stridedCopy", {src, dst});
  if (shape.numel == 0) return cb.Env().Undefined();
  dst.backend().stridedCopy(dst.index(), dtype, src.data(), dst.data(), g);
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
  out.backend().binaryScalar(out.index(), op, dtype, a.data(), scalar, scalarFirst, out.data(), n);
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
  out.backend().unary(out.index(), op, dtype, a.data(), out.data(), n, p0, p1);
  return cb.Env().Undefined();
}

// compare({op, dtype, a: {storage, offset, strides}, b: {...}, out: {storage, offset}, shape}): out is bool.
Napi::Value compare(const Napi::CallbackInfo& cb) {
  const Fields f = Args(cb, "compare", 1).fields(0);
  const auto op = CompareOp(f["op"].enumValue(isValidCompareOp));
  const DType dtype = f["dtype"].dtype();
  const Broadcast bc = readBroadcast(f, "compare", dtype, DType::Bool);
  if (bc.shape.numel == 0) return cb.Env().Undefined();
  bc.out.backend().compare(bc.out.index(), op, dtype, bc.a.data(), bc.b.data(), bc.out.data(), bc.geometry);
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
  out.backend().compareScalar(out.index(), op, dtype, a.data(), scalar, out.data(), n);
  return cb.Env().Undefined();
}

// fill(dtype, out, outOffset, n, value)
Napi::Value fill(const Napi::CallbackInfo& cb) {
  Args args(cb, "fill", 5);
  const DType dtype = args.dtype(0, "dtype");
  const int64_t n = args.count(3, "n");
  const double value = args.number(4, "value");
  const View out = args.view(1, "out", n, dtype);
  out.backend().fill(out.index(), dtype, out.data(), n, value);
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
  out.backend().reduceSum(out.index(), inType, in.data(), outType, out.data(), outer, size, inner, mean);
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
  out.backend().reduceAlong(out.index(), kind, inType, in.data(), outType, out.data(), outer, size, inner, p0);
  return cb.Env().Undefined();
}

// softmax(log, dtype, in, inOffset, out, outOffset, outer, size, inner)
Napi::Value softmax(const Napi::CallbackInfo& cb) {
  Args args(cb, "softmax", 9);
  const bool log = args.boolean(0, "log");
  const DType dtype = args.dtype(1, "dtype");
  if (dtype == DType::Int32 || dtype == DType::Bool) args.fail(1, "dtype", "a floating dtype");
  const int64_t outer = args.count(6, "outer"), size = args.count(7, "size"), inner = args.count(8, "inner");
  const int64_t n = checkedProduct("softmax", {outer, size, inner});
  const View in = args.view(2, "in", n, dtype);
  const View out = args.view(4, "out", n, dtype);
  requireSameDevice("softmax", {in, out});
  out.backend().softmax(out.index(), log, dtype, in.data(), out.data(), outer, size, inner);
  return cb.Env().Undefined();
}

MatrixLayout readLayout(const Fields& operand) { return {operand["rowStride"].count(), operand["colStride"].count()}; }

// Whether field `name` (an optional operand dtype of matmul) asks for cast fusion: float32 storage
// in a float16/bfloat16 product. Absent or equal to the product's dtype: no.
bool castFusedFloat32(const char* function, const Fields& f, const char* name, DType dtype) {
  const Value v = f[name];
  if (v.isNullish()) return false;
  const DType stored = v.dtype();
  if (stored == dtype) return false;
  if (stored == DType::Float32 && (dtype == DType::Float16 || dtype == DType::BFloat16)) return true;
  throwTypeError("ERR_INVALID_DTYPE", std::string("mixprec native ") + function + ": " + name + " must be the product's dtype (" + dtypeName(dtype) +
                                          "), or float32 when that is float16 or bfloat16, got " + dtypeName(stored));
}

// matmul({dtype, a: {storage, offset, batchStrides, rowStride, colStride}, b: {...},
//         out: {storage, offset}, batchShape, m, n, k, aDtype?, bDtype?, outDtype?}): dtype is the
// product's; aDtype / bDtype / outDtype may say float32 for a 16-bit product (cast fusion, see
// MatmulShape). The test surface's matmulReference takes the same object and runs the scalar
// reference (CPU only), which the GEMM tests compare against.
template <bool Reference>
Napi::Value matmul(const Napi::CallbackInfo& cb) {
  const char* name = Reference ? "matmulReference" : "matmul";
  const Fields f = Args(cb, name, 1).fields(0);
  const DType dtype = f["dtype"].dtype();
  const OutputShape batch = readShape(f, name, "batchShape");
  MatmulShape s;
  s.batch = geometryOf<BroadcastGeometry>(batch);
  s.m = f["m"].count();
  s.n = f["n"].count();
  s.k = f["k"].count();
  const Fields fa = f["a"].object(), fb = f["b"].object();
  s.a = readLayout(fa);
  s.b = readLayout(fb);
  s.aFloat32 = castFusedFloat32(name, f, "aDtype", dtype);
  s.bFloat32 = castFusedFloat32(name, f, "bDtype", dtype);
  s.outFloat32 = castFusedFloat32(name, f, "outDtype", dtype);
  const auto stored = [dtype](bool float32) { return float32 ? DType::Float32 : dtype; };
  const View a = stridedOperand(fa, batch, stored(s.aFloat32), s.batch.strideA, "batchStrides", matrixSpan(s.m, s.k, s.a));
  const View b = stridedOperand(fb, batch, stored(s.bFloat32), s.batch.strideB, "batchStrides", matrixSpan(s.k, s.n, s.b));
  const View out = f.view("out", checkedProduct(name, {batch.numel, s.m, s.n}), stored(s.outFloat32));
  requireSameDevice(name, {a, b, out});
  Backend& backend = backendOf<Reference>(name, out);
  if (out.numel == 0) return cb.Env().Undefined();
  backend.matmul(out.index(), dtype, a.data(), b.data(), out.data(), s);
  return cb.Env().Undefined();
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
  out.backend().random(out.index(), kind, dtype, out.data(), n, state, a, b);
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
  Backend& backend = out.backend();
  Linspace ? backend.linspace(out.index(), dtype, out.data(), n, x, y)
           : backend.arange(out.index(), dtype, out.data(), n, x, y);
  return cb.Env().Undefined();
}

// eye(dtype, out, outOffset, rows, cols)
Napi::Value eye(const Napi::CallbackInfo& cb) {
  Args args(cb, "eye", 5);
  const DType dtype = args.dtype(0, "dtype");
  const int64_t rows = args.count(3, "rows");
  const int64_t cols = args.count(4, "cols");
  const View out = args.view(1, "out", checkedProduct("eye", {rows, cols}), dtype);
  out.backend().eye(out.index(), dtype, out.data(), rows, cols);
  return cb.Env().Undefined();
}

}  // namespace

void registerKernelBindings(Napi::Env env, Napi::Object exports, Napi::Object test) {
  exportFunction<cast<false>>(env, exports, "cast");
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
  exportFunction<random>(env, exports, "random");
  exportFunction<sequence<false>>(env, exports, "arange");
  exportFunction<sequence<true>>(env, exports, "linspace");
  exportFunction<eye>(env, exports, "eye");
  exportFunction<cast<true>>(env, test, "castReference");
  exportFunction<matmul<true>>(env, test, "matmulReference");
}

}  // namespace mp::napi
