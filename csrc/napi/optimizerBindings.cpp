// Multi-tensor optimizer and gradient-clipping entry points: check every list, tensor and device
// scalar, pick the backend, run. No math, no policy.
//
// Every function takes (dtype, numels, handles, offsets, ...): handles[l][i] and offsets[l][i]
// locate tensor i of list l, which holds numels[i] elements of dtype (a step counter: one
// float32). Lists the options leave unused must be empty.
#include <cmath>
#include <string>

#include "../core/errors.h"
#include "../cpu/optimizerKernels.h"
#include "../cuda/cudaBackend.h"
#include "args.h"
#include "bindings.h"
#include "guarded.h"
#include "multiTensorArgs.h"
#include "storageHandle.h"

namespace mp::napi {
namespace {

// sgdStep(dtype, numels, handles, offsets, gradScale, gradScaleOffset, foundInf, foundInfOffset,
//         lr, momentum, dampening, weightDecay, nesterov, maximize, reference)
// lists: params, grads, steps, momentumBuffers (the last two only with momentum)
Napi::Value sgdStep(const Napi::CallbackInfo& cb) {
  Args args(cb, "sgdStep", 15);
  SgdOptions o{args.number(8, "lr"), args.number(9, "momentum"), args.number(10, "dampening"),
               args.number(11, "weightDecay"), args.boolean(12, "nesterov"), args.boolean(13, "maximize")};
  const bool momentum = o.momentum != 0;
  const MultiTensor m = readLists(cb, args, "sgdStep", args.dtype(0, "dtype"),
                                  {{"params", false, true}, {"grads", false, true}, {"steps", true, momentum},
                                   {"momentumBuffers", false, momentum}});
  const float* gradScale = deviceScalar(cb, args, "sgdStep", 4, "gradScale", m.device, true);
  const float* foundInf = deviceScalar(cb, args, "sgdStep", 6, "foundInf", m.device, true);
  const bool ref = reference(args, 14, m, "sgdStep");
  if (m.t.numel.empty()) return cb.Env().Undefined();
  const DType dtype = args.dtype(0, "dtype");
  if (m.device == kCpuDevice) {
    cpu::sgdStep(dtype, m.t, gradScale, foundInf, o, ref);
  } else {
    cuda::sgdStep(m.device, dtype, m.t, gradScale, foundInf, o);
  }
  return cb.Env().Undefined();
}

// adamStep(dtype, numels, handles, offsets, gradScale, gradScaleOffset, foundInf, foundInfOffset,
//          lr, beta1, beta2, eps, weightDecay, decoupled, amsgrad, maximize, reference)
// lists: params, grads, steps, expAvgs, expAvgSqs, maxExpAvgSqs (the last only with amsgrad)
Napi::Value adamStep(const Napi::CallbackInfo& cb) {
  Args args(cb, "adamStep", 17);
  AdamOptions o{args.number(8, "lr"),          args.number(9, "beta1"),      args.number(10, "beta2"),
                args.number(11, "eps"),        args.number(12, "weightDecay"), args.boolean(13, "decoupled"),
                args.boolean(14, "amsgrad"),   args.boolean(15, "maximize")};
  const MultiTensor m = readLists(cb, args, "adamStep", args.dtype(0, "dtype"),
                                  {{"params", false, true}, {"grads", false, true}, {"steps", true, true},
                                   {"expAvgs", false, true}, {"expAvgSqs", false, true},
                                   {"maxExpAvgSqs", false, o.amsgrad}});
  const float* gradScale = deviceScalar(cb, args, "adamStep", 4, "gradScale", m.device, true);
  const float* foundInf = deviceScalar(cb, args, "adamStep", 6, "foundInf", m.device, true);
  const bool ref = reference(args, 16, m, "adamStep");
  if (m.t.numel.empty()) return cb.Env().Undefined();
  const DType dtype = args.dtype(0, "dtype");
  if (m.device == kCpuDevice) {
    cpu::adamStep(dtype, m.t, gradScale, foundInf, o, ref);
  } else {
    cuda::adamStep(m.device, dtype, m.t, gradScale, foundInf, o);
  }
  return cb.Env().Undefined();
}

// multiTensorNorm(dtype, numels, handles, offsets, normType, out, outOffset, reference)
Napi::Value multiTensorNorm(const Napi::CallbackInfo& cb) {
  Args args(cb, "multiTensorNorm", 8);
  const double p = args.number(4, "normType");
  if (!(p > 0)) args.fail(4, "normType", "a positive number or Infinity");
  const MultiTensor m = readLists(cb, args, "multiTensorNorm", args.dtype(0, "dtype"), {{"tensors", false, true}});
  if (m.t.numel.empty()) args.fail(1, "numels", "a non-empty array");
  float* out = deviceScalar(cb, args, "multiTensorNorm", 5, "out", m.device, false);
  const bool ref = reference(args, 7, m, "multiTensorNorm");
  const DType dtype = args.dtype(0, "dtype");
  if (m.device == kCpuDevice) {
    cpu::multiTensorNorm(dtype, m.t, p, out, ref);
  } else {
    cuda::multiTensorNorm(m.device, dtype, m.t, p, out);
  }
  return cb.Env().Undefined();
}

// multiTensorScale(dtype, numels, handles, offsets, scale, scaleOffset, reference)
Napi::Value multiTensorScale(const Napi::CallbackInfo& cb) {
  Args args(cb, "multiTensorScale", 7);
  const MultiTensor m = readLists(cb, args, "multiTensorScale", args.dtype(0, "dtype"), {{"tensors", false, true}});
  const float* scale = m.t.numel.empty() ? nullptr : deviceScalar(cb, args, "multiTensorScale", 4, "scale", m.device, false);
  const bool ref = reference(args, 6, m, "multiTensorScale");
  if (m.t.numel.empty()) return cb.Env().Undefined();
  const DType dtype = args.dtype(0, "dtype");
  if (m.device == kCpuDevice) {
    cpu::multiTensorScale(dtype, m.t, scale, ref);
  } else {
    cuda::multiTensorScale(m.device, dtype, m.t, scale);
  }
  return cb.Env().Undefined();
}

// multiTensorClamp(dtype, numels, handles, offsets, min, max, reference)
Napi::Value multiTensorClamp(const Napi::CallbackInfo& cb) {
  Args args(cb, "multiTensorClamp", 7);
  const double lo = args.number(4, "min");
  const double hi = args.number(5, "max");
  const MultiTensor m = readLists(cb, args, "multiTensorClamp", args.dtype(0, "dtype"), {{"tensors", false, true}});
  const bool ref = reference(args, 6, m, "multiTensorClamp");
  if (m.t.numel.empty()) return cb.Env().Undefined();
  const DType dtype = args.dtype(0, "dtype");
  if (m.device == kCpuDevice) {
    cpu::multiTensorClamp(dtype, m.t, lo, hi, ref);
  } else {
    cuda::multiTensorClamp(m.device, dtype, m.t, lo, hi);
  }
  return cb.Env().Undefined();
}

}  // namespace

void registerOptimizerBindings(Napi::Env env, Napi::Object exports) {
  exportFunction<sgdStep>(env, exports, "sgdStep");
  exportFunction<adamStep>(env, exports, "adamStep");
  exportFunction<multiTensorNorm>(env, exports, "multiTensorNorm");
  exportFunction<multiTensorScale>(env, exports, "multiTensorScale");
  exportFunction<multiTensorClamp>(env, exports, "multiTensorClamp");
}

}  // namespace mp::napi
