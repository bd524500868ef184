// GradScaler's entry points: check every list and device scalar, pick the backend, run. The
// decisions (when to unscale, how flags combine, the state machine) live in lib/amp/gradScaler.ts.
#include <cmath>
#include <string>

#include "../core/errors.h"
#include "../cpu/ampKernels.h"
#include "../cuda/cudaBackend.h"
#include "args.h"
#include "bindings.h"
#include "guarded.h"
#include "multiTensorArgs.h"

namespace mp::napi {
namespace {

void requireDevice(const View& v, int device, const char* function, const char* name) {
  if (v.device() != device) {
    throwMixprecError("ERR_DEVICE_MISMATCH", std::string("mixprec native ") + function + ": " + name + " must be on the scale's device");
  }
}

// ampUnscale(dtype, numels, handles, offsets, scale, scaleOffset, foundInf, foundInfOffset,
//            flags, flagsOffset, reference)
// lists: grads. scale null: check only. flags null, or a float32 tensor with one flag per grad.
Napi::Value ampUnscale(const Napi::CallbackInfo& cb) {
  Args args(cb, "ampUnscale", 11);
  const MultiTensor m = readLists(cb, args, "ampUnscale", args.dtype(0, "dtype"), {{"grads", false, true}});
  const bool ref = reference(args, 10, m, "ampUnscale");
  if (m.t.numel.empty()) return cb.Env().Undefined();
  const float* scale = deviceScalar(cb, args, "ampUnscale", 4, "scale", m.device, true);
  float* foundInf = deviceScalar(cb, args, "ampUnscale", 6, "foundInf", m.device, false);
  float* flags = nullptr;
  if (!cb[8].IsNull() && !cb[8].IsUndefined()) {
    const View v = args.view(8, "flags", int64_t(m.t.numel.size()), DType::Float32);
    requireDevice(v, m.device, "ampUnscale", "flags");
    flags = static_cast<float*>(v.data());
  }
  const DType dtype = args.dtype(0, "dtype");
  if (m.device == kCpuDevice) {
    cpu::unscaleAndCheck(dtype, m.t, scale, foundInf, flags, ref);
  } else {
    cuda::unscaleAndCheck(m.device, dtype, m.t, scale, foundInf, flags);
  }
  return cb.Env().Undefined();
}

// ampUpdateScale(scale, scaleOffset, tracker, trackerOffset, hysteresisLeft, hysteresisOffset,
//                foundInf, foundInfOffset, stats, statsOffset, growthFactor, backoffFactor,
//                growthInterval, hysteresis, minScale, maxScale)
Napi::Value ampUpdateScale(const Napi::CallbackInfo& cb) {
  Args args(cb, "ampUpdateScale", 16);
  const View scale = args.view(0, "scale", 1, DType::Float32);
  const View tracker = args.view(2, "tracker", 1, DType::Int32);
  const View hysteresisLeft = args.view(4, "hysteresisLeft", 1, DType::Int32);
  const View foundInf = args.view(6, "foundInf", 1, DType::Float32);
  const View stats = args.view(8, "stats", kStatCount, DType::Int32);
  const int device = scale.device();
  requireDevice(tracker, device, "ampUpdateScale", "tracker");
  requireDevice(hysteresisLeft, device, "ampUpdateScale", "hysteresisLeft");
  requireDevice(foundInf, device, "ampUpdateScale", "foundInf");
  requireDevice(stats, device, "ampUpdateScale", "stats");
  const ScaleUpdateOptions o{args.number(10, "growthFactor"), args.number(11, "backoffFactor"), args.int32(12, "growthInterval"),
                             args.int32(13, "hysteresis"), args.number(14, "minScale"), args.number(15, "maxScale")};
  if (!(o.growthFactor > 1) || !std::isfinite(o.growthFactor)) args.fail(10, "growthFactor", "a finite number > 1");
  if (!(o.backoffFactor > 0 && o.backoffFactor < 1)) args.fail(11, "backoffFactor", "a number in (0, 1)");
  if (o.growthInterval < 1) args.fail(12, "growthInterval", "a positive integer");
  if (o.hysteresis < 1) args.fail(13, "hysteresis", "a positive integer");
  if (!(o.minScale >= 0) || !(o.maxScale >= o.minScale)) args.fail(15, "maxScale", "a number >= minScale >= 0");
  auto* s = static_cast<float*>(scale.data());
  auto* t = static_cast<int32_t*>(tracker.data());
  auto* h = static_cast<int32_t*>(hysteresisLeft.data());
  const auto* f = static_cast<const float*>(foundInf.data());
  auto* st = static_cast<int32_t*>(stats.data());
  if (device == kCpuDevice) {
    cpu::updateScale(s, t, h, f, st, o);
  } else {
    cuda::updateScale(device, s, t, h, f, st, o);
  }
  return cb.Env().Undefined();
}

}  // namespace

void registerAmpBindings(Napi::Env env, Napi::Object exports) {
  exportFunction<ampUnscale>(env, exports, "ampUnscale");
  exportFunction<ampUpdateScale>(env, exports, "ampUpdateScale");
}

}  // namespace mp::napi
