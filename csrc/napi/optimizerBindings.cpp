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
#include "storageHandle.h"

namespace mp::napi {
namespace {

struct ListSpec {
  const char* name;
  bool counter;  // float32 step counters, one element each
  bool used;     // whether these options read the list
};

struct MultiTensor {
  TensorLists t;
  int device = kCpuDevice;
};

std::string where(const char* function, const ListSpec& spec, size_t i) {
  return std::string("mixprec native ") + function + ": " + spec.name + "[" + std::to_string(i) + "]";
}

Napi::Array listAt(const Args& args, const Napi::Value& lists, size_t index, const char* name, size_t l, size_t length) {
  const Napi::Value v = lists.As<Napi::Array>().Get(uint32_t(l));
  if (!v.IsArray() || v.As<Napi::Array>().Length() != length) {
    args.fail(index, name, "an array of " + std::to_string(length) + "-element arrays (list " + std::to_string(l) + ")");
  }
  return v.As<Napi::Array>();
}

MultiTensor readLists(const Napi::CallbackInfo& cb, const Args& args, const char* function, DType dtype,
                      std::initializer_list<ListSpec> specs) {
  if (dtype != DType::Float32 && dtype != DType::Float16 && dtype != DType::BFloat16 && dtype != DType::Float64) {
    args.fail(0, "dtype", "a floating dtype code");
  }
  MultiTensor m;
  m.t.numel = args.int64Array(1, "numels");
  for (int64_t n : m.t.numel) {
    if (n < 0) args.fail(1, "numels", "an array of non-negative integers");
  }
  for (size_t k : {size_t(2), size_t(3)}) {
    if (!cb[k].IsArray() || cb[k].As<Napi::Array>().Length() != specs.size()) {
      args.fail(k, k == 2 ? "handles" : "offsets", "an array of " + std::to_string(specs.size()) + " lists");
    }
  }
  const size_t count = m.t.numel.size();
  bool first = true;
  size_t l = 0;
  for (const ListSpec& spec : specs) {
    const size_t length = spec.used ? count : 0;
    const Napi::Array handles = listAt(args, cb[2], 2, "handles", l, length);
    const Napi::Array offsets = listAt(args, cb[3], 3, "offsets", l, length);
    std::vector<void*> ptrs(length);
    for (size_t i = 0; i < length; ++i) {
      Storage* s = unwrapStorage(cb.Env(), handles.Get(uint32_t(i)));
      if (!s) throwTypeError("ERR_INVALID_ARG", where(function, spec, i) + " must be a storage handle");
      if (s->released) {
        throwMixprecError("ERR_DISPOSED", where(function, spec, i) + " uses memory that was already released (a disposed tensor)");
      }
      const Napi::Value ov = offsets.Get(uint32_t(i));
      const double offset = ov.IsNumber() ? ov.As<Napi::Number>().DoubleValue() : -1;
      if (!(offset >= 0 && offset <= 9007199254740991.0 && std::floor(offset) == offset)) {
        throwTypeError("ERR_INVALID_ARG", where(function, spec, i) + ": offset must be a non-negative integer, got " + describeValue(ov));
      }
      const DType type = spec.counter ? DType::Float32 : dtype;
      const int64_t numel = spec.counter ? 1 : m.t.numel[i];
      if ((uint64_t(offset) + uint64_t(numel)) * elementSize(type) > s->bytes) {
        throwRangeError("ERR_OUT_OF_BOUNDS", where(function, spec, i) + " needs " + std::to_string(numel) + " " +
                                                 dtypeName(type) + " elements at offset " + std::to_string(int64_t(offset)) +
                                                 " but its storage holds " + std::to_string(s->bytes) + " bytes");
      }
      if (first) m.device = s->device;
      first = false;
      if (s->device != m.device) {
        throwMixprecError("ERR_DEVICE_MISMATCH", std::string("mixprec native ") + function + ": all tensors must be on one device");
      }
      ptrs[i] = static_cast<char*>(s->data) + int64_t(offset) * int64_t(elementSize(type));
    }
    m.t.lists.push_back(std::move(ptrs));
    ++l;
  }
  return m;
}

// A float32 one-element tensor on the lists' device at (index, index + 1), or nullptr when the
// handle is null and the scalar is optional.
float* deviceScalar(const Napi::CallbackInfo& cb, const Args& args, const char* function, size_t index,
                    const char* name, int device, bool optional) {
  if (optional && (cb[index].IsNull() || cb[index].IsUndefined())) return nullptr;
  const View v = args.view(index, name, 1, DType::Float32);
  if (v.device() != device) {
    throwMixprecError("ERR_DEVICE_MISMATCH",
                      std::string("mixprec native ") + function + ": " + name + " must be on the tensors' device");
  }
  return static_cast<float*>(v.data());
}

bool reference(const Args& args, size_t index, const MultiTensor& m, const char* function) {
  const bool r = args.boolean(index, "reference");
  if (r && m.device != kCpuDevice) {
    throwTypeError("ERR_INVALID_ARG", std::string("mixprec native ") + function + ": the scalar reference runs on cpu storages only");
  }
  return r;
}

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
