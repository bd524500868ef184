// Entry points of the indexing and sliding-window kernels: check arguments, pick the backend, run.
// The index-taking ones return the position of the first index outside its dimension (or -1) so
// TypeScript can name the value in its error; they check every index before writing anything.
// CUDA cannot report one without waiting for the device, so there they always return -1 and the
// kernels skip out-of-range indices.
#include <cmath>
#include <string>
#include <vector>

#include "../core/errors.h"
#include "../core/indexingArgs.h"
#include "../cpu/indexingKernels.h"
#include "../cuda/cudaBackend.h"
#include "args.h"
#include "bindings.h"
#include "guarded.h"

namespace mp::napi {
namespace {

bool isIntegral(DType dtype) { return dtype == DType::Int32 || dtype == DType::Bool; }

void requireSummable(const Args& args, size_t i, DType dtype) {
  if (dtype == DType::Bool) args.fail(i, "dtype", "a numeric dtype (bool values cannot be summed)");
}

// The index range check on the CPU, as the JS return value.
Napi::Value indexCheck(const Napi::CallbackInfo& cb, const View& index, int64_t bound) {
  if (!onCpu(index)) return Napi::Number::New(cb.Env(), -1);
  return Napi::Number::New(cb.Env(), double(cpu::firstIndexOutOfRange(static_cast<const int32_t*>(index.data()),
                                                                       index.numel, bound)));
}

std::vector<int64_t> checkedShape(const Args& args, size_t i, const char* name) {
  const std::vector<int64_t> shape = args.int64Array(i, name);
  if (shape.empty() || shape.size() > size_t(kMaxDims)) {
    args.fail(i, name, "1 to " + std::to_string(kMaxDims) + " sizes");
  }
  for (int64_t s : shape) {
    if (s < 0) args.fail(i, name, "non-negative sizes");
  }
  return shape;
}

int64_t numelOf(const char* function, const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t s : shape) n = checkedProduct(function, {n, s});
  return n;
}

void contiguousStrides(const std::vector<int64_t>& shape, int64_t* strides) {
  int64_t s = 1;
  for (size_t d = shape.size(); d-- > 0;) {
    strides[d] = s;
    s *= shape[d];
  }
}

// where(dtype, cond, condOffset, condStrides, a, aOffset, aStrides, b, bOffset, bStrides, out, outOffset, shape)
Napi::Value where(const Napi::CallbackInfo& cb) {
  Args args(cb, "where", 13);
  const DType dtype = args.dtype(0, "dtype");
  const std::vector<int64_t> shape = args.int64Array(12, "shape");
  if (shape.size() > size_t(kMaxDims)) args.fail(12, "shape", "at most " + std::to_string(kMaxDims) + " dimensions");
  WhereGeometry g;
  g.ndim = int(shape.size());
  int64_t numel = 1;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] < 0) args.fail(12, "shape", "non-negative sizes");
    g.shape[d] = shape[d];
    numel = checkedProduct("where", {numel, shape[d]});
  }
  const std::vector<int64_t> sc = args.int64Array(3, "condStrides");
  const std::vector<int64_t> sa = args.int64Array(6, "aStrides");
  const std::vector<int64_t> sb = args.int64Array(9, "bStrides");
  const View cond = args.view(1, "cond", spanOf(args, 3, shape, sc), DType::Bool);
  const View a = args.view(4, "a", spanOf(args, 6, shape, sa), dtype);
  const View b = args.view(7, "b", spanOf(args, 9, shape, sb), dtype);
  const View out = args.view(10, "out", numel, dtype);
  requireSameDevice("where", {cond, a, b, out});
  for (size_t d = 0; d < shape.size(); ++d) {
    g.strideCond[d] = sc[d];
    g.strideA[d] = sa[d];
    g.strideB[d] = sb[d];
  }
  if (numel == 0) return cb.Env().Undefined();
  const auto* c = static_cast<const uint8_t*>(cond.data());
  if (onCpu(out)) {
    cpu::where(dtype, c, a.data(), b.data(), out.data(), g);
  } else {
    cuda::where(out.device(), dtype, c, a.data(), b.data(), out.data(), g);
  }
  return cb.Env().Undefined();
}

// The geometry of gather / scatterAdd: self's, index's and (for scatterAdd) the source's shapes,
// of one rank, with index no larger than self outside `dim` and no larger than the source anywhere.
ScatterGeometry readScatter(const Args& args, const std::vector<int64_t>& self, const std::vector<int64_t>& index,
                            const std::vector<int64_t>& other, size_t dimArg, size_t indexShapeArg) {
  const int64_t dim = args.count(dimArg, "dim");
  if (index.size() != self.size()) args.fail(indexShapeArg, "indexShape", "as many sizes as the input's shape");
  if (dim >= int64_t(self.size())) args.fail(dimArg, "dim", "a dimension of the input");
  for (size_t d = 0; d < self.size(); ++d) {
    if ((int64_t(d) != dim && index[d] > self[d]) || index[d] > other[d]) {
      args.fail(indexShapeArg, "indexShape", "sizes no larger than the input's (outside dim) and the source's");
    }
  }
  ScatterGeometry g;
  g.ndim = int(self.size());
  g.dim = int(dim);
  g.dimSize = self[size_t(dim)];
  for (size_t d = 0; d < index.size(); ++d) g.indexShape[d] = index[d];
  contiguousStrides(index, g.indexStride);
  contiguousStrides(self, g.selfStride);
  contiguousStrides(other, g.otherStride);
  return g;
}

// gather(dtype, input, inOffset, inputShape, index, indexOffset, indexShape, out, outOffset, dim)
// -> the position of the first out-of-range index, or -1
Napi::Value gather(const Napi::CallbackInfo& cb) {
  Args args(cb, "gather", 10);
  const DType dtype = args.dtype(0, "dtype");
  const std::vector<int64_t> selfShape = checkedShape(args, 3, "inputShape");
  const std::vector<int64_t> indexShape = checkedShape(args, 6, "indexShape");
  const ScatterGeometry g = readScatter(args, selfShape, indexShape, indexShape, 9, 6);
  const int64_t n = numelOf("gather", indexShape);
  const View input = args.view(1, "input", numelOf("gather", selfShape), dtype);
  const View index = args.view(4, "index", n, DType::Int32);
  const View out = args.view(7, "out", n, dtype);
  requireSameDevice("gather", {input, index, out});
  const Napi::Value bad = indexCheck(cb, index, g.dimSize);
  if (bad.As<Napi::Number>().DoubleValue() >= 0 || n == 0) return bad;
  const auto* ix = static_cast<const int32_t*>(index.data());
  if (onCpu(out)) {
    cpu::gather(dtype, input.data(), ix, out.data(), g);
  } else {
    cuda::gather(out.device(), dtype, input.data(), ix, out.data(), g);
  }
  return bad;
}

// scatterAdd(dtype, input, inOffset, inputShape, index, indexOffset, indexShape, src, srcOffset,
//            srcShape, out, outOffset, dim) -> the position of the first out-of-range index, or -1
Napi::Value scatterAdd(const Napi::CallbackInfo& cb) {
  Args args(cb, "scatterAdd", 13);
  const DType dtype = args.dtype(0, "dtype");
  requireSummable(args, 0, dtype);
  const std::vector<int64_t> selfShape = checkedShape(args, 3, "inputShape");
  const std::vector<int64_t> indexShape = checkedShape(args, 6, "indexShape");
  const std::vector<int64_t> srcShape = checkedShape(args, 9, "srcShape");
  if (srcShape.size() != selfShape.size()) args.fail(9, "srcShape", "as many sizes as the input's shape");
  const ScatterGeometry g = readScatter(args, selfShape, indexShape, srcShape, 12, 6);
  const int64_t selfNumel = numelOf("scatterAdd", selfShape);
  const View input = args.view(1, "input", selfNumel, dtype);
  const View index = args.view(4, "index", numelOf("scatterAdd", indexShape), DType::Int32);
  const View src = args.view(7, "src", numelOf("scatterAdd", srcShape), dtype);
  const View out = args.view(10, "out", selfNumel, dtype);
  requireSameDevice("scatterAdd", {input, index, src, out});
  const Napi::Value bad = indexCheck(cb, index, g.dimSize);
  if (bad.As<Napi::Number>().DoubleValue() >= 0 || selfNumel == 0) return bad;
  const auto* ix = static_cast<const int32_t*>(index.data());
  if (onCpu(out)) {
    cpu::scatterAdd(dtype, input.data(), ix, src.data(), out.data(), selfNumel, g);
  } else {
    cuda::scatterAdd(out.device(), dtype, input.data(), ix, src.data(), out.data(), selfNumel, g);
  }
  return bad;
}

IndexShape readIndexShape(const Args& args, size_t first) {
  return IndexShape{args.count(first, "outer"), args.count(first + 1, "size"), args.count(first + 2, "inner"),
                    args.count(first + 3, "count")};
}

// indexSelect(dtype, input, inOffset, index, indexOffset, out, outOffset, outer, size, inner, count)
// -> the position of the first out-of-range index, or -1
Napi::Value indexSelect(const Napi::CallbackInfo& cb) {
  Args args(cb, "indexSelect", 11);
  const DType dtype = args.dtype(0, "dtype");
  const IndexShape s = readIndexShape(args, 7);
  const View input = args.view(1, "input", checkedProduct("indexSelect", {s.outer, s.size, s.inner}), dtype);
  const View index = args.view(3, "index", s.count, DType::Int32);
  const View out = args.view(5, "out", checkedProduct("indexSelect", {s.outer, s.count, s.inner}), dtype);
  requireSameDevice("indexSelect", {input, index, out});
  const Napi::Value bad = indexCheck(cb, index, s.size);
  if (bad.As<Napi::Number>().DoubleValue() >= 0 || out.numel == 0) return bad;
  const auto* ix = static_cast<const int32_t*>(index.data());
  if (onCpu(out)) {
    cpu::indexSelect(dtype, input.data(), ix, out.data(), s);
  } else {
    cuda::indexSelect(out.device(), dtype, input.data(), ix, out.data(), s);
  }
  return bad;
}

// indexAdd(dtype, input, inOffset, index, indexOffset, source, sourceOffset, out, outOffset, outer,
//          size, inner, count) -> the position of the first out-of-range index, or -1
Napi::Value indexAdd(const Napi::CallbackInfo& cb) {
  Args args(cb, "indexAdd", 13);
  const DType dtype = args.dtype(0, "dtype");
  requireSummable(args, 0, dtype);
  const IndexShape s = readIndexShape(args, 9);
  const int64_t n = checkedProduct("indexAdd", {s.outer, s.size, s.inner});
  const View input = args.view(1, "input", n, dtype);
  const View index = args.view(3, "index", s.count, DType::Int32);
  const View source = args.view(5, "source", checkedProduct("indexAdd", {s.outer, s.count, s.inner}), dtype);
  const View out = args.view(7, "out", n, dtype);
  requireSameDevice("indexAdd", {input, index, source, out});
  const Napi::Value bad = indexCheck(cb, index, s.size);
  if (bad.As<Napi::Number>().DoubleValue() >= 0 || n == 0) return bad;
  const auto* ix = static_cast<const int32_t*>(index.data());
  if (onCpu(out)) {
    cpu::indexAdd(dtype, input.data(), ix, source.data(), out.data(), s);
  } else {
    cuda::indexAdd(out.device(), dtype, input.data(), ix, source.data(), out.data(), s);
  }
  return bad;
}

// planes, height, width and window [kh, kw, dh, dw, ph, pw, sh, sw]; at least one block must fit.
WindowShape readWindow(const Args& args, size_t first) {
  WindowShape w;
  w.planes = args.count(first, "planes");
  w.height = args.count(first + 1, "height");
  w.width = args.count(first + 2, "width");
  const std::vector<int64_t> v = args.int64Array(first + 3, "window");
  if (v.size() != 8) args.fail(first + 3, "window", "[kh, kw, dh, dw, ph, pw, sh, sw]");
  for (size_t i = 0; i < 8; ++i) {
    const bool padding = i == 4 || i == 5;
    if (padding ? v[i] < 0 : v[i] < 1) args.fail(first + 3, "window", "positive sizes, dilations, strides and non-negative padding");
  }
  w.kh = v[0], w.kw = v[1], w.dh = v[2], w.dw = v[3], w.ph = v[4], w.pw = v[5], w.sh = v[6], w.sw = v[7];
  w.outH = windowCount(w.height, w.kh, w.dh, w.ph, w.sh);
  w.outW = windowCount(w.width, w.kw, w.dw, w.pw, w.sw);
  if (w.outH < 1 || w.outW < 1) args.fail(first + 3, "window", "a window that fits the padded image at least once");
  return w;
}

// unfold(dtype, input, inOffset, out, outOffset, planes, height, width, window, padValue)
Napi::Value unfold(const Napi::CallbackInfo& cb) {
  Args args(cb, "unfold", 10);
  const DType dtype = args.dtype(0, "dtype");
  const WindowShape w = readWindow(args, 5);
  const double padValue = args.number(9, "padValue");
  if (isIntegral(dtype) && !(std::fabs(padValue) <= 2147483647.0 && std::floor(padValue) == padValue)) {
    args.fail(9, "padValue", "an int32 value for an integer dtype");
  }
  const View input = args.view(1, "input", checkedProduct("unfold", {w.planes, w.height, w.width}), dtype);
  const View out = args.view(3, "out", checkedProduct("unfold", {w.planes, w.kh, w.kw, w.outH, w.outW}), dtype);
  requireSameDevice("unfold", {input, out});
  if (out.numel == 0) return cb.Env().Undefined();
  if (onCpu(out)) {
    cpu::unfold(dtype, input.data(), out.data(), w, padValue);
  } else {
    cuda::unfold(out.device(), dtype, input.data(), out.data(), w, padValue);
  }
  return cb.Env().Undefined();
}

// fold(dtype, input, inOffset, out, outOffset, planes, height, width, window)
Napi::Value fold(const Napi::CallbackInfo& cb) {
  Args args(cb, "fold", 9);
  const DType dtype = args.dtype(0, "dtype");
  requireSummable(args, 0, dtype);
  const WindowShape w = readWindow(args, 5);
  const View input = args.view(1, "input", checkedProduct("fold", {w.planes, w.kh, w.kw, w.outH, w.outW}), dtype);
  const View out = args.view(3, "out", checkedProduct("fold", {w.planes, w.height, w.width}), dtype);
  requireSameDevice("fold", {input, out});
  if (out.numel == 0) return cb.Env().Undefined();
  if (onCpu(out)) {
    cpu::fold(dtype, input.data(), out.data(), w);
  } else {
    cuda::fold(out.device(), dtype, input.data(), out.data(), w);
  }
  return cb.Env().Undefined();
}

}  // namespace

void registerIndexingBindings(Napi::Env env, Napi::Object exports) {
  exportFunction<where>(env, exports, "where");
  exportFunction<gather>(env, exports, "gather");
  exportFunction<scatterAdd>(env, exports, "scatterAdd");
  exportFunction<indexSelect>(env, exports, "indexSelect");
  exportFunction<indexAdd>(env, exports, "indexAdd");
  exportFunction<unfold>(env, exports, "unfold");
  exportFunction<fold>(env, exports, "fold");
}

}  // namespace mp::napi
