// Per-environment state (main thread and each worker have their own): memory accounting, the
// JS function that builds error objects in the caller's realm, and cached property keys.
#pragma once
#include <napi.h>

#include <memory>
#include <unordered_map>

#include "../core/storage.h"

namespace mp::napi {

// Property names of the argument objects as JS strings, by the address of their C literal (see
// propertyKey in args.cpp).
using PropertyKeys = std::unordered_map<const char*, Napi::Reference<Napi::Value>>;

struct EnvData {
  std::shared_ptr<MemoryStats> stats = std::make_shared<MemoryStats>();
  Napi::FunctionReference errorFactory;
  PropertyKeys propertyKeys;
};

EnvData& envData(Napi::Env env);

}  // namespace mp::napi
