// Multi-tensor optimizer and gradient-clipping entry points: check every list, tensor and device
// scalar, pick the backend, run. No math, no policy.
//
// Every function takes one object: `lists` (see multiTensorArgs.h), device scalars and options.
// Lists the options leave unused must be empty. Each has a `<name>Reference` twin on the test
// surface that runs the scalar CPU reference the tests compare the fast paths against.
#include "args.h"
#include "bindings.h"
#include "guarded.h"
#include "multiTensorArgs.h"

namespace mp::napi {
namespace {

// sgdStep({lists, gradScale, foundInf, options: {lr, momentum, dampening, weightDecay, nesterov, maximize}})
// lists: params, grads, steps, momentumBuffers (the last two only with momentum)
template <bool Reference>
Napi::Value sgdStep(const Napi::CallbackInfo& cb) {
  const char* name = Reference ? "sgdStepReference" : "sgdStep";
  const Fields f = Args(cb, name, 1).fields(0);
  const Fields opts = f["options"].object();
  const SgdOptions o{opts["lr"].number(),          opts["momentum"].number(), opts["dampening"].number(),
                     opts["weightDecay"].number(), opts["nesterov"].boolean(), opts["maximize"].boolean()};
  const bool momentum = o.momentum != 0;
  const MultiTensor m = readLists(f, name,
                                  {{"params", false, true}, {"grads", false, true}, {"steps", true, momentum},
                                   {"momentumBuffers", false, momentum}});
  const float* gradScale = deviceScalar(f, name, "gradScale", m.device, true);
  const float* foundInf = deviceScalar(f, name, "foundInf", m.device, true);
  Backend& backend = backendOf(m, name, Reference);
  if (m.t.numel.empty()) return cb.Env().Undefined();
  backend.sgdStep(m.device.index, m.dtype, m.t, gradScale, foundInf, o);
  return cb.Env().Undefined();
}

// adamStep({lists, gradScale, foundInf, options: {lr, beta1, beta2, eps, weightDecay, decoupled, amsgrad, maximize}})
// lists: params, grads, steps, expAvgs, expAvgSqs, maxExpAvgSqs (the last only with amsgrad)
template <bool Reference>
Napi::Value adamStep(const Napi::CallbackInfo& cb) {
  const char* name = Reference ? "adamStepReference" : "adamStep";
  const Fields f = Args(cb, name, 1).fields(0);
  const Fields opts = f["options"].object();
  const AdamOptions o{opts["lr"].number(),          opts["beta1"].number(),      opts["beta2"].number(),
                      opts["eps"].number(),         opts["weightDecay"].number(), opts["decoupled"].boolean(),
                      opts["amsgrad"].boolean(),    opts["maximize"].boolean()};
  const MultiTensor m = readLists(f, name,
                                  {{"params", false, true}, {"grads", false, true}, {"steps", true, true},
                                   {"expAvgs", false, true}, {"expAvgSqs", false, true},
                                   {"maxExpAvgSqs", false, o.amsgrad}});
  const float* gradScale = deviceScalar(f, name, "gradScale", m.device, true);
  const float* foundInf = deviceScalar(f, name, "foundInf", m.device, true);
  Backend& backend = backendOf(m, name, Reference);
  if (m.t.numel.empty()) return cb.Env().Undefined();
  backend.adamStep(m.device.index, m.dtype, m.t, gradScale, foundInf, o);
  return cb.Env().Undefined();
}

// multiTensorNorm({lists, normType, out: {storage, offset}}): out (float32) = the normType-norm
// of all elements of the one list together.
template <bool Reference>
Napi::Value multiTensorNorm(const Napi::CallbackInfo& cb) {
  const char* name = Reference ? "multiTensorNormReference" : "multiTensorNorm";
  const Fields f = Args(cb, name, 1).fields(0);
  const double p = f["normType"].number();
  if (!(p > 0)) f.fail("normType", "a positive number or Infinity");
  const MultiTensor m = readLists(f, name, {{"tensors", false, true}});
  if (m.t.numel.empty()) f["lists"].object().fail("numels", "a non-empty array");
  float* out = deviceScalar(f, name, "out", m.device, false);
  Backend& backend = backendOf(m, name, Reference);
  backend.multiTensorNorm(m.device.index, m.dtype, m.t, p, out);
  return cb.Env().Undefined();
}

// multiTensorScale({lists, scale: {storage, offset}}): multiplies every element by the float32 scale.
template <bool Reference>
Napi::Value multiTensorScale(const Napi::CallbackInfo& cb) {
  const char* name = Reference ? "multiTensorScaleReference" : "multiTensorScale";
  const Fields f = Args(cb, name, 1).fields(0);
  const MultiTensor m = readLists(f, name, {{"tensors", false, true}});
  const float* scale = m.t.numel.empty() ? nullptr : deviceScalar(f, name, "scale", m.device, false);
  Backend& backend = backendOf(m, name, Reference);
  if (m.t.numel.empty()) return cb.Env().Undefined();
  backend.multiTensorScale(m.device.index, m.dtype, m.t, scale);
  return cb.Env().Undefined();
}

// multiTensorClamp({lists, min, max}): clamps every element to [min, max].
template <bool Reference>
Napi::Value multiTensorClamp(const Napi::CallbackInfo& cb) {
  const char* name = Reference ? "multiTensorClampReference" : "multiTensorClamp";
  const Fields f = Args(cb, name, 1).fields(0);
  const double lo = f["min"].number();
  const double hi = f["max"].number();
  const MultiTensor m = readLists(f, name, {{"tensors", false, true}});
  Backend& backend = backendOf(m, name, Reference);
  if (m.t.numel.empty()) return cb.Env().Undefined();
  backend.multiTensorClamp(m.device.index, m.dtype, m.t, lo, hi);
  return cb.Env().Undefined();
}

}  // namespace

void registerOptimizerBindings(Napi::Env env, Napi::Object exports, Napi::Object test) {
  exportFunction<sgdStep<false>>(env, exports, "sgdStep");
  exportFunction<adamStep<false>>(env, exports, "adamStep");
  exportFunction<multiTensorNorm<false>>(env, exports, "multiTensorNorm");
  exportFunction<multiTensorScale<false>>(env, exports, "multiTensorScale");
  exportFunction<multiTensorClamp<false>>(env, exports, "multiTensorClamp");
  exportFunction<sgdStep<true>>(env, test, "sgdStepReference");
  exportFunction<adamStep<true>>(env, test, "adamStepReference");
  exportFunction<multiTensorNorm<true>>(env, test, "multiTensorNormReference");
  exportFunction<multiTensorScale<true>>(env, test, "multiTensorScaleReference");
  exportFunction<multiTensorClamp<true>>(env, test, "multiTensorClampReference");
}

}  // namespace mp::napi
