// What was built and chosen: SIMD level, threads, CUDA.
#include "../core/errors.h"
#include "../core/threadPool.h"
#include "../cpu/cpuFeatures.h"
#include "../cuda/cudaBackend.h"
#include "args.h"
#include "bindings.h"
#include "guarded.h"

namespace mp::napi {
namespace {

Napi::Value info(const Napi::CallbackInfo& cb) {
  Napi::Env env = cb.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("simdDetected", simdLevelName(detectedSimdLevel()));
  o.Set("simdActive", simdLevelName(activeSimdLevel()));
  o.Set("numThreads", numThreads());
  o.Set("cudaCompiled", cuda::compiled());
  o.Set("cudaDeviceCount", cuda::deviceCount());
  o.Set("cudaUnavailableReason", cuda::unavailableReason());
  return o;
}

Napi::Value setSimd(const Napi::CallbackInfo& cb) {
  Args args(cb, "setSimdLevel", 1);
  if (!cb[0].IsString()) args.fail(0, "level", "'scalar', 'f16c', 'avx512' or 'avx512bf16'");
  const std::string name = cb[0].As<Napi::String>().Utf8Value();
  SimdLevel level;
  if (name == "scalar") level = SimdLevel::Scalar;
  else if (name == "f16c") level = SimdLevel::F16c;
  else if (name == "avx512") level = SimdLevel::Avx512;
  else if (name == "avx512bf16") level = SimdLevel::Avx512Bf16;
  else args.fail(0, "level", "'scalar', 'f16c', 'avx512' or 'avx512bf16'");
  return Napi::Boolean::New(cb.Env(), setSimdLevel(level));
}

Napi::Value cudaSynchronize(const Napi::CallbackInfo& cb) {
  Args args(cb, "cudaSynchronize", 1);
  cuda::synchronize(args.int32(0, "device"));
  return cb.Env().Undefined();
}

Napi::Value cudaCapability(const Napi::CallbackInfo& cb) {
  Args args(cb, "cudaCapability", 1);
  return Napi::Number::New(cb.Env(), cuda::computeCapability(args.int32(0, "device")));
}

}  // namespace

void registerInfoBindings(Napi::Env env, Napi::Object exports) {
  exportFunction<info>(env, exports, "info");
  exportFunction<setSimd>(env, exports, "setSimdLevel");
  exportFunction<cudaSynchronize>(env, exports, "cudaSynchronize");
  exportFunction<cudaCapability>(env, exports, "cudaCapability");
}

}  // namespace mp::napi
