// Per-environment state (main thread and each worker have their own): memory accounting and the
// JS function that builds error objects in the caller's realm.
#pragma once
#include <napi.h>

#include <memory>

#include "../core/storage.h"

namespace mp::napi {

struct EnvData {
  std::shared_ptr<MemoryStats> stats = std::make_shared<MemoryStats>();
  Napi::FunctionReference errorFactory;
};

EnvData& envData(Napi::Env env);

}  // namespace mp::napi
