// Entry points of the indexing and sliding-window kernels: check arguments, pick the backend, run.
// Each takes one object of named arguments; operands are {storage, offset} (plus their shape or
// strides where the geometry needs them).
// The index-taking ones return the position of the first index outside its dimension (or -1) so
// TypeScript can name the value in its error; they check every index before writing anything.
// CUDA cannot report one without waiting for the device, so there they always return -1 and the
// kernels skip out-of-range indices.
#include <cmath>
#include <string>
#include <vector>

#include "../core/errors.h"
#include "../core/indexingArgs.h"
#include "args.h"
#include "bindings.h"
#include "guarded.h"
#include "stridedArgs.h"

namespace mp::napi {
namespace {

bool isIntegral(DType dtype) { return dtype == DType::Int32 || dtype == DType::Bool; }

void requireSummable(const Fields& f, DType dtype) {
  if (dtype == DType::Bool) f.fail("dtype", "a numeric dtype (bool values cannot be summed)");
}

// The index range check, as the JS return value.
Napi::Value indexCheck(const Napi::CallbackInfo& cb, const View& index, int64_t bound) {
  return Napi::Number::New(cb.Env(), double(index.backend().firstIndexOutOfRange(
                                         index.index(), static_cast<const int32_t*>(index.data()), index.numel, bound)));
}

std::vector<int64_t> checkedShape(const Value& v) {
  const std::vector<int64_t> shape = v.int64Array();
  if (shape.empty() || shape.size() > size_t(kMaxDims)) v.fail("1 to " + std::to_string(kMaxDims) + " sizes");
  for (int64_t s : shape) {
    if (s < 0) v.fail("non-negative sizes");
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

// where({dtype, cond: {storage, offset, strides}, a: {...}, b: {...}, out: {storage, offset}, shape})
Napi::Value where(const Napi::CallbackInfo& cb) {
  const Fields f = Args(cb, "where", 1).fields(0);
  const DType dtype = f["dtype"].dtype();
  const OutputShape shape = readShape(f, "where", "shape");
  WhereGeometry g = geometryOf<WhereGeometry>(shape);
  const View cond = stridedOperand(f["cond"].object(), shape, DType::Bool, g.strideCond);
  const View a = stridedOperand(f["a"].object(), shape, dtype, g.strideA);
  const View b = stridedOperand(f["b"].object(), shape, dtype, g.strideB);
  const View out = f.view("out", shape.numel, dtype);
  requireSameDevice("where", {cond, a, b, out});
  if (shape.numel == 0) return cb.Env().Undefined();
  out.backend().where(out.index(), dtype, static_cast<const uint8_t*>(cond.data()), a.data(), b.data(), out.data(), g);
  return cb.Env().Undefined();
}

// The geometry of gather / scatterAdd: self's, index's and (for scatterAdd) the source's shapes,
// of one rank, with index no larger than self outside `dim` and no larger than the source anywhere.
ScatterGeometry readScatter(const Fields& f, const std::vector<int64_t>& self, const std::vector<int64_t>& index,
                            const std::vector<int64_t>& other) {
  const int64_t dim = f["dim"].count();
  const Value indexShape = f["index"].object()["shape"];
  if (index.size() != self.size()) indexShape.fail("as many sizes as the input's shape");
  if (dim >= int64_t(self.size())) f.fail("dim", "a dimension of the input");
  for (size_t d = 0; d < self.size(); ++d) {
    if ((int64_t(d) != dim && index[d] > self[d]) || index[d] > other[d]) {
      indexShape.fail("sizes no larger than the input's (outside dim) and the source's");
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

std::vector<int64_t> operandShape(const Fields& f, const char* name) { return checkedShape(f[name].object()["shape"]); }

// gather({dtype, input: {storage, offset, shape}, index: {storage, offset, shape}, out: {storage, offset}, dim})
// -> the position of the first out-of-range index, or -1
Napi::Value gather(const Napi::CallbackInfo& cb) {
  const Fields f = Args(cb, "gather", 1).fields(0);
  const DType dtype = f["dtype"].dtype();
  const std::vector<int64_t> selfShape = operandShape(f, "input");
  const std::vector<int64_t> indexShape = operandShape(f, "index");
  const ScatterGeometry g = readScatter(f, selfShape, indexShape, indexShape);
  const int64_t n = numelOf("gather", indexShape);
  const View input = f.view("input", numelOf("gather", selfShape), dtype);
  const View index = f.view("index", n, DType::Int32);
  const View out = f.view("out", n, dtype);
  requireSameDevice("gather", {input, index, out});
  const Napi::Value bad = indexCheck(cb, index, g.dimSize);
  if (bad.As<Napi::Number>().DoubleValue() >= 0 || n == 0) return bad;
  out.backend().gather(out.index(), dtype, input.data(), static_cast<const int32_t*>(index.data()), out.data(), g);
  return bad;
}

// scatterAdd({dtype, input: {storage, offset, shape}, index: {...}, src: {...}, out: {storage, offset}, dim})
// -> the position of the first out-of-range index, or -1
Napi::Value scatterAdd(const Napi::CallbackInfo& cb) {
  const Fields f = Args(cb, "scatterAdd", 1).fields(0);
  const DType dtype = f["dtype"].dtype();
  requireSummable(f, dtype);
  const std::vector<int64_t> selfShape = operandShape(f, "input");
  const std::vector<int64_t> indexShape = operandShape(f, "index");
  const std::vector<int64_t> srcShape = operandShape(f, "src");
  if (srcShape.size() != selfShape.size()) f["src"].object().fail("shape", "as many sizes as the input's shape");
  const ScatterGeometry g = readScatter(f, selfShape, indexShape, srcShape);
  const int64_t selfNumel = numelOf("scatterAdd", selfShape);
  const View input = f.view("input", selfNumel, dtype);
  const View index = f.view("index", numelOf("scatterAdd", indexShape), DType::Int32);
  const View src = f.view("src", numelOf("scatterAdd", srcShape), dtype);
  const View out = f.view("out", selfNumel, dtype);
  requireSameDevice("scatterAdd", {input, index, src, out});
  const Napi::Value bad = indexCheck(cb, index, g.dimSize);
  if (bad.As<Napi::Number>().DoubleValue() >= 0 || selfNumel == 0) return bad;
  out.backend().scatterAdd(out.index(), dtype, input.data(), static_cast<const int32_t*>(index.data()), src.data(),
                           out.data(), selfNumel, g);
  return bad;
}

IndexShape readIndexShape(const Fields& f) {
  return IndexShape{f["outer"].count(), f["size"].count(), f["inner"].count(), f["count"].count()};
}

// indexSelect({dtype, input: {storage, offset}, index: {...}, out: {...}, outer, size, inner, count})
// -> the position of the first out-of-range index, or -1
Napi::Value indexSelect(const Napi::CallbackInfo& cb) {
  const Fields f = Args(cb, "indexSelect", 1).fields(0);
  const DType dtype = f["dtype"].dtype();
  const IndexShape s = readIndexShape(f);
  const View input = f.view("input", checkedProduct("indexSelect", {s.outer, s.size, s.inner}), dtype);
  const View index = f.view("index", s.count, DType::Int32);
  const View out = f.view("out", checkedProduct("indexSelect", {s.outer, s.count, s.inner}), dtype);
  requireSameDevice("indexSelect", {input, index, out});
  const Napi::Value bad = indexCheck(cb, index, s.size);
  if (bad.As<Napi::Number>().DoubleValue() >= 0 || out.numel == 0) return bad;
  out.backend().indexSelect(out.index(), dtype, input.data(), static_cast<const int32_t*>(index.data()), out.data(), s);
  return bad;
}

// indexAdd({dtype, input: {storage, offset}, index: {...}, source: {...}, out: {...}, outer, size, inner, count})
// -> the position of the first out-of-range index, or -1
Napi::Value indexAdd(const Napi::CallbackInfo& cb) {
  const Fields f = Args(cb, "indexAdd", 1).fields(0);
  const DType dtype = f["dtype"].dtype();
  requireSummable(f, dtype);
  const IndexShape s = readIndexShape(f);
  const int64_t n = checkedProduct("indexAdd", {s.outer, s.size, s.inner});
  const View input = f.view("input", n, dtype);
  const View index = f.view("index", s.count, DType::Int32);
  const View source = f.view("source", checkedProduct("indexAdd", {s.outer, s.count, s.inner}), dtype);
  const View out = f.view("out", n, dtype);
  requireSameDevice("indexAdd", {input, index, source, out});
  const Napi::Value bad = indexCheck(cb, index, s.size);
  if (bad.As<Napi::Number>().DoubleValue() >= 0 || n == 0) return bad;
  out.backend().indexAdd(out.index(), dtype, input.data(), static_cast<const int32_t*>(index.data()), source.data(),
                         out.data(), s);
  return bad;
}

// planes, height, width and window {kh, kw, dh, dw, ph, pw, sh, sw}; at least one block must fit.
WindowShape readWindow(const Fields& f) {
  WindowShape w;
  w.planes = f["planes"].count();
  w.height = f["height"].count();
  w.width = f["width"].count();
  const Fields v = f["window"].object();
  const auto positive = [&v](const char* name) {
    const int64_t x = v[name].count();
    if (x < 1) v.fail(name, "a positive integer");
    return x;
  };
  w.kh = positive("kh"), w.kw = positive("kw"), w.dh = positive("dh"), w.dw = positive("dw");
  w.ph = v["ph"].count(), w.pw = v["pw"].count();
  w.sh = positive("sh"), w.sw = positive("sw");
  w.outH = windowCount(w.height, w.kh, w.dh, w.ph, w.sh);
  w.outW = windowCount(w.width, w.kw, w.dw, w.pw, w.sw);
  if (w.outH < 1 || w.outW < 1) f.fail("window", "a window that fits the padded image at least once");
  return w;
}

// unfold({dtype, input: {storage, offset}, out: {...}, planes, height, width, window, padValue})
Napi::Value unfold(const Napi::CallbackInfo& cb) {
  const Fields f = Args(cb, "unfold", 1).fields(0);
  const DType dtype = f["dtype"].dtype();
  const WindowShape w = readWindow(f);
  const double padValue = f["padValue"].number();
  if (isIntegral(dtype) && !(std::fabs(padValue) <= 2147483647.0 && std::floor(padValue) == padValue)) {
    f.fail("padValue", "an int32 value for an integer dtype");
  }
  const View input = f.view("input", checkedProduct("unfold", {w.planes, w.height, w.width}), dtype);
  const View out = f.view("out", checkedProduct("unfold", {w.planes, w.kh, w.kw, w.outH, w.outW}), dtype);
  requireSameDevice("unfold", {input, out});
  if (out.numel == 0) return cb.Env().Undefined();
  out.backend().unfold(out.index(), dtype, input.data(), out.data(), w, padValue);
  return cb.Env().Undefined();
}

// fold({dtype, input: {storage, offset}, out: {...}, planes, height, width, window})
Napi::Value fold(const Napi::CallbackInfo& cb) {
  const Fields f = Args(cb, "fold", 1).fields(0);
  const DType dtype = f["dtype"].dtype();
  requireSummable(f, dtype);
  const WindowShape w = readWindow(f);
  const View input = f.view("input", checkedProduct("fold", {w.planes, w.kh, w.kw, w.outH, w.outW}), dtype);
  const View out = f.view("out", checkedProduct("fold", {w.planes, w.height, w.width}), dtype);
  requireSameDevice("fold", {input, out});
  if (out.numel == 0) return cb.Env().Undefined();
  out.backend().fold(out.index(), dtype, input.data(), out.data(), w);
  return cb.Env().Undefined();
}

// The float dtypes the convolution and max pooling kernels take.
void requireFloat(const Fields& f, DType dtype) {
  if (dtype != DType::Float32 && dtype != DType::Float16 && dtype != DType::BFloat16 && dtype != DType::Float64) {
    f.fail("dtype", "float32, float16, bfloat16 or float64");
  }
}

// The convolution's geometry: {batch, planes (input channels), height, width, outChannels,
// groups, window} of a floating-point call.
ConvShape readConv(const char* function, const Fields& f, DType dtype) {
  requireFloat(f, dtype);
  ConvShape s;
  s.window = readWindow(f);
  s.batch = f["batch"].count();
  s.outChannels = f["outChannels"].count();
  s.groups = f["groups"].count();
  if (s.groups < 1 || s.window.planes % s.groups != 0 || s.outChannels % s.groups != 0) {
    f.fail("groups", "a positive divisor of planes and outChannels");
  }
  checkedProduct(function, {s.batch, s.window.planes, s.window.kh, s.window.kw, s.window.outH, s.window.outW});
  return s;
}

// The convolution's tensors, by the element counts their shapes give.
enum class ConvTensor { Input, Weight, Output };

int64_t numelOf(const char* function, const ConvShape& s, ConvTensor t) {
  const WindowShape& w = s.window;
  switch (t) {
    case ConvTensor::Input: return checkedProduct(function, {s.batch, w.planes, w.height, w.width});
    case ConvTensor::Weight: return checkedProduct(function, {s.outChannels, w.planes / s.groups, w.kh, w.kw});
    case ConvTensor::Output: return checkedProduct(function, {s.batch, s.outChannels, w.outH, w.outW});
  }
  return 0;
}

// One convolution call: its dtype, geometry and three tensors (named fields of the argument
// object), then the optional `bias` when asked for, checked for size and device.
struct ConvCall {
  DType dtype;
  ConvShape shape;
  std::vector<View> views;
};

ConvCall readConvCall(const Napi::CallbackInfo& cb, const char* function,
                      std::initializer_list<std::pair<const char*, ConvTensor>> tensors, bool optionalBias = false) {
  const Fields f = Args(cb, function, 1).fields(0);
  const DType dtype = f["dtype"].dtype();
  ConvCall call{dtype, readConv(function, f, dtype), {}};
  for (const auto& [name, kind] : tensors) call.views.push_back(f.view(name, numelOf(function, call.shape, kind), dtype));
  if (optionalBias && !f["bias"].isNullish()) call.views.push_back(f.view("bias", call.shape.outChannels, dtype));
  for (const View& v : call.views) requireSameDevice(function, {call.views[0], v});
  return call;
}

// conv2dForward({dtype, input, weight, bias (or null), out, batch, planes, height, width,
// outChannels, groups, window})
Napi::Value conv2dForward(const Napi::CallbackInfo& cb) {
  const ConvCall c = readConvCall(cb, "conv2dForward",
                                  {{"input", ConvTensor::Input}, {"weight", ConvTensor::Weight}, {"out", ConvTensor::Output}}, true);
  const View& out = c.views[2];
  if (out.numel == 0) return cb.Env().Undefined();
  const void* bias = c.views.size() > 3 ? c.views[3].data() : nullptr;
  out.backend().conv2dForward(out.index(), c.dtype, c.views[0].data(), c.views[1].data(), bias, out.data(), c.shape);
  return cb.Env().Undefined();
}

// conv2dBackwardInput({dtype, gradOut, weight, gradInput, batch, planes, height, width,
// outChannels, groups, window})
Napi::Value conv2dBackwardInput(const Napi::CallbackInfo& cb) {
  const ConvCall c = readConvCall(cb, "conv2dBackwardInput",
                                  {{"gradOut", ConvTensor::Output}, {"weight", ConvTensor::Weight}, {"gradInput", ConvTensor::Input}});
  const View& dx = c.views[2];
  if (dx.numel == 0) return cb.Env().Undefined();
  dx.backend().conv2dBackwardInput(dx.index(), c.dtype, c.views[0].data(), c.views[1].data(), dx.data(), c.shape);
  return cb.Env().Undefined();
}

// conv2dBackwardWeight({dtype, input, gradOut, gradWeight, batch, planes, height, width,
// outChannels, groups, window})
Napi::Value conv2dBackwardWeight(const Napi::CallbackInfo& cb) {
  const ConvCall c = readConvCall(cb, "conv2dBackwardWeight",
                                  {{"input", ConvTensor::Input}, {"gradOut", ConvTensor::Output}, {"gradWeight", ConvTensor::Weight}});
  const View& dw = c.views[2];
  if (dw.numel == 0) return cb.Env().Undefined();
  dw.backend().conv2dBackwardWeight(dw.index(), c.dtype, c.views[0].data(), c.views[1].data(), dw.data(), c.shape);
  return cb.Env().Undefined();
}

// One max-pooling call: its dtype, window, and three tensors checked for size and device: the
// image ([planes, height, width]), the pooled values and their int32 slots ([planes, outH, outW]).
struct PoolCall {
  DType dtype;
  WindowShape window;
  View image, pooled, slots;
};

PoolCall readPoolCall(const Napi::CallbackInfo& cb, const char* function, const char* image, const char* pooled) {
  const Fields f = Args(cb, function, 1).fields(0);
  const DType dtype = f["dtype"].dtype();
  requireFloat(f, dtype);
  const WindowShape w = readWindow(f);
  const int64_t outputs = checkedProduct(function, {w.planes, w.outH, w.outW});
  PoolCall call{dtype, w, f.view(image, checkedProduct(function, {w.planes, w.height, w.width}), dtype),
                f.view(pooled, outputs, dtype), f.view("slots", outputs, DType::Int32)};
  requireSameDevice(function, {call.image, call.pooled, call.slots});
  return call;
}

// maxPool2dForward({dtype, input, out, slots (int32), planes, height, width, window})
Napi::Value maxPool2dForward(const Napi::CallbackInfo& cb) {
  const PoolCall c = readPoolCall(cb, "maxPool2dForward", "input", "out");
  if (c.pooled.numel == 0) return cb.Env().Undefined();
  c.pooled.backend().maxPool2dForward(c.pooled.index(), c.dtype, c.image.data(), c.pooled.data(),
                                      static_cast<int32_t*>(c.slots.data()), c.window);
  return cb.Env().Undefined();
}

// maxPool2dBackward({dtype, gradOut, slots (int32, from maxPool2dForward), gradInput, planes,
// height, width, window}). A slot outside [0, kh * kw) (none come from the forward) takes no gradient.
Napi::Value maxPool2dBackward(const Napi::CallbackInfo& cb) {
  const PoolCall c = readPoolCall(cb, "maxPool2dBackward", "gradInput", "gradOut");
  if (c.image.numel == 0) return cb.Env().Undefined();
  c.image.backend().maxPool2dBackward(c.image.index(), c.dtype, c.pooled.data(), static_cast<const int32_t*>(c.slots.data()),
                                      c.image.data(), c.window);
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
  exportFunction<conv2dForward>(env, exports, "conv2dForward");
  exportFunction<conv2dBackwardInput>(env, exports, "conv2dBackwardInput");
  exportFunction<conv2dBackwardWeight>(env, exports, "conv2dBackwardWeight");
  exportFunction<maxPool2dForward>(env, exports, "maxPool2dForward");
  exportFunction<maxPool2dBackward>(env, exports, "maxPool2dBackward");
}

}  // namespace mp::napi
