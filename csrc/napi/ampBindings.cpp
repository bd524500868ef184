// GradScaler's entry points: check every list and device scalar, pick the backend, run. The
// decisions (when to unscale, how flags combine, the state machine) live in lib/amp/gradScaler.ts.
#include <cmath>
#include <string>

#include "../core/errors.h"
#include "args.h"
#include "bindings.h"
#include "guarded.h"
#include "multiTensorArgs.h"

namespace mp::napi {
namespace {

void requireDevice(const View& v, Device device, const char* function, const char* name) {
  if (v.device() != device) {
    throwMixprecError("ERR_DEVICE_MISMATCH", std::string("mixprec native ") + function + ": " + name + " must be on the scale's device");
  }
}

// ampUnscale({lists, scale, foundInf, flags}); lists: grads. scale null: check only. flags null,
// or a float32 tensor with one flag per grad. ampUnscaleReference (test surface): the scalar CPU
// reference.
template <bool Reference>
Napi::Value ampUnscale(const Napi::CallbackInfo& cb) {
  const char* name = Reference ? "ampUnscaleReference" : "ampUnscale";
  const Fields f = Args(cb, name, 1).fields(0);
  const MultiTensor m = readLists(f, name, {{"grads", false, true}});
  Backend& backend = backendOf(m, name, Reference);
  if (m.t.numel.empty()) return cb.Env().Undefined();
  const float* scale = deviceScalar(f, name, "scale", m.device, true);
  float* foundInf = deviceScalar(f, name, "foundInf", m.device, false);
  float* flags = nullptr;
  const Value flagsField = f["flags"];
  if (!flagsField.isNullish()) {
    const View v = flagsField.object().asView(int64_t(m.t.numel.size()), DType::Float32);
    requireDevice(v, m.device, name, "flags");
    flags = static_cast<float*>(v.data());
  }
  backend.unscaleAndCheck(m.device.index, m.dtype, m.t, scale, foundInf, flags);
  return cb.Env().Undefined();
}

// ampUpdateScale({scale, tracker, hysteresisLeft, foundInf, stats, options: {growthFactor,
// backoffFactor, growthInterval, hysteresis, minScale, maxScale}}): operands are {storage, offset}.
Napi::Value ampUpdateScale(const Napi::CallbackInfo& cb) {
  const Fields f = Args(cb, "ampUpdateScale", 1).fields(0);
  const View scale = f.view("scale", 1, DType::Float32);
  const View tracker = f.view("tracker", 1, DType::Int32);
  const View hysteresisLeft = f.view("hysteresisLeft", 1, DType::Int32);
  const View foundInf = f.view("foundInf", 1, DType::Float32);
  const View stats = f.view("stats", kStatCount, DType::Int32);
  const Device device = scale.device();
  requireDevice(tracker, device, "ampUpdateScale", "tracker");
  requireDevice(hysteresisLeft, device, "ampUpdateScale", "hysteresisLeft");
  requireDevice(foundInf, device, "ampUpdateScale", "foundInf");
  requireDevice(stats, device, "ampUpdateScale", "stats");
  const Fields opts = f["options"].object();
  const ScaleUpdateOptions o{opts["growthFactor"].number(), opts["backoffFactor"].number(),
                             opts["growthInterval"].int32(), opts["hysteresis"].int32(),
                             opts["minScale"].number(),      opts["maxScale"].number()};
  if (!(o.growthFactor > 1) || !std::isfinite(o.growthFactor)) opts.fail("growthFactor", "a finite number > 1");
  if (!(o.backoffFactor > 0 && o.backoffFactor < 1)) opts.fail("backoffFactor", "a number in (0, 1)");
  if (o.growthInterval < 1) opts.fail("growthInterval", "a positive integer");
  if (o.hysteresis < 1) opts.fail("hysteresis", "a positive integer");
  if (!(o.minScale >= 0) || !(o.maxScale >= o.minScale)) opts.fail("maxScale", "a number >= minScale >= 0");
  backendFor(device).updateScale(device.index, static_cast<float*>(scale.data()), static_cast<int32_t*>(tracker.data()),
                                 static_cast<int32_t*>(hysteresisLeft.data()),
                                 static_cast<const float*>(foundInf.data()), static_cast<int32_t*>(stats.data()), o);
  return cb.Env().Undefined();
}

}  // namespace

void registerAmpBindings(Napi::Env env, Napi::Object exports, Napi::Object test) {
  exportFunction<ampUnscale<false>>(env, exports, "ampUnscale");
  exportFunction<ampUpdateScale>(env, exports, "ampUpdateScale");
  exportFunction<ampUnscale<true>>(env, test, "ampUnscaleReference");
}

}  // namespace mp::napi
