// Module entry: per-environment data, the error factory hook and the export table.
#include <napi.h>

#include <new>

#include "../core/errors.h"
#include "bindings.h"
#include "envData.h"
#include "guarded.h"

namespace mp::napi {

EnvData& envData(Napi::Env env) { return *env.GetInstanceData<EnvData>(); }

namespace {

const char* kindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::Type: return "TypeError";
    case ErrorKind::Range: return "RangeError";
    case ErrorKind::Mixprec: return "MixprecError";
  }
  return "MixprecError";
}

Napi::Error makeError(Napi::Env env, ErrorKind kind, const std::string& code, const std::string& message) {
  EnvData& data = envData(env);
  if (!data.errorFactory.IsEmpty()) {
    const Napi::Value made = data.errorFactory.Call(
        {Napi::String::New(env, kindName(kind)), Napi::String::New(env, code), Napi::String::New(env, message)});
    if (made.IsObject()) return Napi::Error(env, made);
  }
  Napi::Error error = kind == ErrorKind::Type    ? Napi::TypeError::New(env, message)
                      : kind == ErrorKind::Range ? Napi::Error(Napi::RangeError::New(env, message))
                                                 : Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  return error;
}

Napi::Value setErrorFactory(const Napi::CallbackInfo& info) {
  if (!info[0].IsFunction()) throwTypeError("ERR_INVALID_ARG", "setErrorFactory: argument 0 must be a function");
  envData(info.Env()).errorFactory = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

}  // namespace

Napi::Value runGuarded(const Napi::CallbackInfo& info, Binding binding) {
  Napi::Env env = info.Env();
  try {
    return binding(info);
  } catch (const Error& e) {
    throw makeError(env, e.kind(), e.code(), e.what());
  } catch (const std::bad_alloc&) {
    throw makeError(env, ErrorKind::Mixprec, "ERR_OUT_OF_MEMORY", "out of memory (host allocation failed)");
  }
}

Napi::Object init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData<EnvData>(new EnvData());
  exportFunction<setErrorFactory>(env, exports, "setErrorFactory");
  registerInfoBindings(env, exports);
  registerMemoryBindings(env, exports);
  registerTensorCountBindings(env, exports);
  Napi::Object test = Napi::Object::New(env);
  registerKernelBindings(env, exports, test);
  registerIndexingBindings(env, exports);
  registerOptimizerBindings(env, exports, test);
  registerAmpBindings(env, exports, test);
  registerEnumBindings(env, exports);
  registerDistBindings(env, exports);
  registerTestBindings(env, test);
  registerAttentionBindings(env, exports);
  registerFusedBindings(env, exports);
  exports.Set("_test", test);
  return exports;
}

}  // namespace mp::napi

static Napi::Object initMixprec(Napi::Env env, Napi::Object exports) { return mp::napi::init(env, exports); }

NODE_API_MODULE(mixprec, initMixprec)
