// Runs a binding and turns C++ failures into JS errors built by the TypeScript error factory
// (so `instanceof` works in the caller's realm) with the error's code.
#pragma once
#include <napi.h>

namespace mp::napi {

using Binding = Napi::Value (*)(const Napi::CallbackInfo&);

Napi::Value runGuarded(const Napi::CallbackInfo& info, Binding binding);

template <Binding B>
Napi::Value guarded(const Napi::CallbackInfo& info) {
  return runGuarded(info, B);
}

template <Binding B>
void exportFunction(Napi::Env env, Napi::Object exports, const char* name) {
  exports.Set(name, Napi::Function::New(env, guarded<B>, name));
}

}  // namespace mp::napi
