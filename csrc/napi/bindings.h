// The groups of exported functions. Test hooks (scalar references, the peak probe) go on `test`,
// exported as `_test`: the library never calls them.
#pragma once
#include <napi.h>

namespace mp::napi {

void registerInfoBindings(Napi::Env env, Napi::Object exports);
void registerMemoryBindings(Napi::Env env, Napi::Object exports);
void registerTensorCountBindings(Napi::Env env, Napi::Object exports);
void registerKernelBindings(Napi::Env env, Napi::Object exports, Napi::Object test);
void registerIndexingBindings(Napi::Env env, Napi::Object exports);
void registerOptimizerBindings(Napi::Env env, Napi::Object exports, Napi::Object test);
void registerAmpBindings(Napi::Env env, Napi::Object exports, Napi::Object test);
void registerEnumBindings(Napi::Env env, Napi::Object exports);
void registerDistBindings(Napi::Env env, Napi::Object exports);
void registerTestBindings(Napi::Env env, Napi::Object test);
void registerAttentionBindings(Napi::Env env, Napi::Object exports);
void registerFusedBindings(Napi::Env env, Napi::Object exports);

}  // namespace mp::napi
