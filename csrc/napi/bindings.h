// The groups of exported functions.
#pragma once
#include <napi.h>

namespace mp::napi {

void registerInfoBindings(Napi::Env env, Napi::Object exports);
void registerMemoryBindings(Napi::Env env, Napi::Object exports);
void registerKernelBindings(Napi::Env env, Napi::Object exports);
void registerIndexingBindings(Napi::Env env, Napi::Object exports);
void registerOptimizerBindings(Napi::Env env, Napi::Object exports);
void registerAmpBindings(Napi::Env env, Napi::Object exports);
void registerEnumBindings(Napi::Env env, Napi::Object exports);

}  // namespace mp::napi
