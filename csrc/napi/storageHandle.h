// Storages as JS values: type-tagged externals whose basic finalizer frees forgotten memory
// during GC, with the bytes reported to V8 so the GC feels the pressure.
#pragma once
#include <napi.h>

#include "../core/storage.h"

namespace mp::napi {

Napi::Value wrapStorage(Napi::Env env, Storage* storage);
// The storage behind `value`, or nullptr when it is not one of our handles.
Storage* unwrapStorage(Napi::Env env, Napi::Value value);
// Frees the memory now (dispose); the handle stays valid and reports released.
void releaseNow(Napi::Env env, Storage* storage);

}  // namespace mp::napi
