// Entry points of the fused kernels (LayerNorm / RMSNorm, bias + GELU, cross-entropy): read the
// argument object, check every operand against rows x cols, pick the backend, run. No math, no
// policy. Each takes one object; {storage, offset} operands named below, optional ones null.
// Per-row and per-column vectors (weight, bias of the norms, mean, rstd, losses, lse, scale,
// dweight, dbias) hold the op-math type: float64 for float64 data, float32 otherwise.
#include <vector>

#include "args.h"
#include "bindings.h"
#include "guarded.h"

namespace mp::napi {
namespace {

DType floatDtype(const Fields& f) {
  const DType dtype = f["dtype"].dtype();
  if (dtype == DType::Int32 || dtype == DType::Bool) f.fail("dtype", "a floating dtype");
  return dtype;
}

DType opMath(DType dtype) { return dtype == DType::Float64 ? DType::Float64 : DType::Float32; }

struct Optional {
  View view{};
  bool given = false;
  void* data() const { return given ? view.data() : nullptr; }
};

Optional optionalView(const Fields& f, const char* name, int64_t numel, DType dtype) {
  Optional o;
  if (f[name].isNullish()) return o;
  o.view = f.view(name, numel, dtype);
  o.given = true;
  return o;
}

void sameDevice(const char* function, std::vector<View> views, std::initializer_list<Optional> optional) {
  for (const Optional& o : optional) {
    if (o.given) views.push_back(o.view);
  }
  for (const View& v : views) requireSameDevice(function, {views.front(), v});
}

// normForward({rms, dtype, x, weight, bias, y, mean, rstd, rows, cols, eps})
Napi::Value normForward(const Napi::CallbackInfo& cb) {
  const char* name = "normForward";
  const Fields f = Args(cb, name, 1).fields(0);
  const bool rms = f["rms"].boolean();
  const DType dtype = floatDtype(f);
  const int64_t rows = f["rows"].count(), cols = f["cols"].count();
  const int64_t n = checkedProduct(name, {rows, cols});
  const double eps = f["eps"].number();
  const View x = f.view("x", n, dtype), y = f.view("y", n, dtype);
  const View mean = f.view("mean", rows, opMath(dtype)), rstd = f.view("rstd", rows, opMath(dtype));
  const Optional weight = optionalView(f, "weight", cols, opMath(dtype));
  const Optional bias = optionalView(f, "bias", cols, opMath(dtype));
  sameDevice(name, {x, y, mean, rstd}, {weight, bias});
  if (rows == 0 || cols == 0) return cb.Env().Undefined();
  y.backend().normForward(y.index(), rms, dtype, x.data(), weight.data(), bias.data(), y.data(), mean.data(),
                          rstd.data(), rows, cols, eps);
  return cb.Env().Undefined();
}

// normBackward({rms, dtype, dy, x, weight, mean, rstd, dx, dweight, dbias, rows, cols})
Napi::Value normBackward(const Napi::CallbackInfo& cb) {
  const char* name = "normBackward";
  const Fields f = Args(cb, name, 1).fields(0);
  const bool rms = f["rms"].boolean();
  const DType dtype = floatDtype(f);
  const int64_t rows = f["rows"].count(), cols = f["cols"].count();
  const int64_t n = checkedProduct(name, {rows, cols});
  const View dy = f.view("dy", n, dtype), x = f.view("x", n, dtype), dx = f.view("dx", n, dtype);
  const View mean = f.view("mean", rows, opMath(dtype)), rstd = f.view("rstd", rows, opMath(dtype));
  const Optional weight = optionalView(f, "weight", cols, opMath(dtype));
  const Optional dweight = optionalView(f, "dweight", cols, opMath(dtype));
  const Optional dbias = optionalView(f, "dbias", cols, opMath(dtype));
  sameDevice(name, {dy, x, dx, mean, rstd}, {weight, dweight, dbias});
  if (cols == 0) return cb.Env().Undefined();
  dx.backend().normBackward(dx.index(), rms, dtype, dy.data(), x.data(), weight.data(), mean.data(), rstd.data(),
                            dx.data(), dweight.data(), dbias.data(), rows, cols);
  return cb.Env().Undefined();
}

// biasGelu({tanh, dtype, x, bias, y, rows, cols}); bias [cols] of x's dtype
Napi::Value biasGelu(const Napi::CallbackInfo& cb) {
  const char* name = "biasGelu";
  const Fields f = Args(cb, name, 1).fields(0);
  const bool tanhForm = f["tanh"].boolean();
  const DType dtype = floatDtype(f);
  const int64_t rows = f["rows"].count(), cols = f["cols"].count();
  const int64_t n = checkedProduct(name, {rows, cols});
  const View x = f.view("x", n, dtype), y = f.view("y", n, dtype);
  const Optional bias = optionalView(f, "bias", cols, dtype);
  sameDevice(name, {x, y}, {bias});
  if (n == 0) return cb.Env().Undefined();
  y.backend().biasGelu(y.index(), tanhForm, dtype, x.data(), bias.data(), y.data(), rows, cols);
  return cb.Env().Undefined();
}

// geluBackward({tanh, dtype, x, bias, dy, dx, rows, cols})
Napi::Value geluBackward(const Napi::CallbackInfo& cb) {
  const char* name = "geluBackward";
  const Fields f = Args(cb, name, 1).fields(0);
  const bool tanhForm = f["tanh"].boolean();
  const DType dtype = floatDtype(f);
  const int64_t rows = f["rows"].count(), cols = f["cols"].count();
  const int64_t n = checkedProduct(name, {rows, cols});
  const View x = f.view("x", n, dtype), dy = f.view("dy", n, dtype), dx = f.view("dx", n, dtype);
  const Optional bias = optionalView(f, "bias", cols, dtype);
  sameDevice(name, {x, dy, dx}, {bias});
  if (n == 0) return cb.Env().Undefined();
  dx.backend().geluBackward(dx.index(), tanhForm, dtype, x.data(), bias.data(), dy.data(), dx.data(), rows, cols);
  return cb.Env().Undefined();
}

// crossEntropyForward({dtype, logits, target, losses, lse, rows, cols, ignoreIndex, smoothing}):
// returns the first row whose target is neither in [0, cols) nor ignoreIndex (-1 if none; the
// CPU checks, devices that cannot without a sync return -1 and write NaN for such rows).
Napi::Value crossEntropyForward(const Napi::CallbackInfo& cb) {
  const char* name = "crossEntropyForward";
  const Fields f = Args(cb, name, 1).fields(0);
  const DType dtype = floatDtype(f);
  const int64_t rows = f["rows"].count(), cols = f["cols"].count();
  const int64_t n = checkedProduct(name, {rows, cols});
  if (rows > 0 && cols == 0) f.fail("cols", "at least 1 class");
  const int32_t ignoreIndex = f["ignoreIndex"].int32();
  const double smoothing = f["smoothing"].number();
  const View logits = f.view("logits", n, dtype), target = f.view("target", rows, DType::Int32);
  const View losses = f.view("losses", rows, opMath(dtype)), lse = f.view("lse", rows, opMath(dtype));
  sameDevice(name, {logits, target, losses, lse}, {});
  int64_t firstBad = -1;
  if (rows > 0) {
    losses.backend().crossEntropyForward(losses.index(), dtype, logits.data(), static_cast<const int32_t*>(target.data()),
                                         losses.data(), lse.data(), rows, cols, ignoreIndex, smoothing, &firstBad);
  }
  return Napi::Number::New(cb.Env(), double(firstBad));
}

// crossEntropyBackward({dtype, logits, target, lse, scale, dlogits, rows, cols, ignoreIndex, smoothing})
Napi::Value crossEntropyBackward(const Napi::CallbackInfo& cb) {
  const char* name = "crossEntropyBackward";
  const Fields f = Args(cb, name, 1).fields(0);
  const DType dtype = floatDtype(f);
  const int64_t rows = f["rows"].count(), cols = f["cols"].count();
  const int64_t n = checkedProduct(name, {rows, cols});
  const int32_t ignoreIndex = f["ignoreIndex"].int32();
  const double smoothing = f["smoothing"].number();
  const View logits = f.view("logits", n, dtype), dlogits = f.view("dlogits", n, dtype);
  const View target = f.view("target", rows, DType::Int32);
  const View lse = f.view("lse", rows, opMath(dtype)), scale = f.view("scale", rows, opMath(dtype));
  sameDevice(name, {logits, dlogits, target, lse, scale}, {});
  if (n == 0) return cb.Env().Undefined();
  dlogits.backend().crossEntropyBackward(dlogits.index(), dtype, logits.data(), static_cast<const int32_t*>(target.data()),
                                         lse.data(), scale.data(), dlogits.data(), rows, cols, ignoreIndex, smoothing);
  return cb.Env().Undefined();
}

}  // namespace

void registerFusedBindings(Napi::Env env, Napi::Object exports) {
  exportFunction<normForward>(env, exports, "normForward");
  exportFunction<normBackward>(env, exports, "normBackward");
  exportFunction<biasGelu>(env, exports, "biasGelu");
  exportFunction<geluBackward>(env, exports, "geluBackward");
  exportFunction<crossEntropyForward>(env, exports, "crossEntropyForward");
  exportFunction<crossEntropyBackward>(env, exports, "crossEntropyBackward");
}

}  // namespace mp::napi
