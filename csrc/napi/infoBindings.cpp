// What was built and chosen: SIMD level, threads, CUDA.
#include "../core/backend.h"
#include "../core/errors.h"
#include "../core/threadPool.h"
#include "../cpu/cpuFeatures.h"
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
  Backend& cuda = backendFor(DeviceType::Cuda);
  o.Set("cudaCompiled", cuda.compiled());
  o.Set("cudaDeviceCount", cuda.deviceCount());
  o.Set("cudaUnavailableReason", cuda.unavailableReason());
  const DriverReport report = cuda.driverReport();
  o.Set("cudaRuntimeVersion", report.runtimeVersion);
  o.Set("cudaDriverVersion", report.driverVersion);
  o.Set("cudaError", report.error);
  return o;
}

Napi::Value setSimd(const Napi::CallbackInfo& cb) {
  Args args(cb, "setSimdLevel", 1);
  constexpr const char* kExpected = "'scalar', 'f16c', 'avx512', 'avx512bf16' or 'amx'";
  if (!cb[0].IsString()) args.fail(0, "level", kExpected);
  const std::string name = cb[0].As<Napi::String>().Utf8Value();
  for (int32_t level = 0; level < kNumSimdLevels; ++level) {
    if (name == kSimdLevelNames[level]) return Napi::Boolean::New(cb.Env(), setSimdLevel(SimdLevel(level)));
  }
  args.fail(0, "level", kExpected);
}

// synchronize(device): waits for the device's queued work.
Napi::Value synchronize(const Napi::CallbackInfo& cb) {
  Args args(cb, "synchronize", 1);
  const Device device = args.device(0, "device");
  backendFor(device).synchronize(device.index);
  return cb.Env().Undefined();
}

// computeCapability(device): major * 10 + minor for a CUDA device.
Napi::Value computeCapability(const Napi::CallbackInfo& cb) {
  Args args(cb, "computeCapability", 1);
  const Device device = args.device(0, "device");
  return Napi::Number::New(cb.Env(), backendFor(device).computeCapability(device.index));
}

}  // namespace

void registerInfoBindings(Napi::Env env, Napi::Object exports) {
  exportFunction<info>(env, exports, "info");
  exportFunction<setSimd>(env, exports, "setSimdLevel");
  exportFunction<synchronize>(env, exports, "synchronize");
  exportFunction<computeCapability>(env, exports, "computeCapability");
}

}  // namespace mp::napi
