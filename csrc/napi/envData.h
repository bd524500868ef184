// Per-environment state (main thread and each worker have their own): memory accounting, live
// tensor counts, the JS function that builds error objects in the caller's realm, and cached
// property keys.
#pragma once
#include <napi.h>

#include <memory>
#include <unordered_map>
#include <vector>

#include "../core/storage.h"

namespace mp::napi {

// Live JS tensors by the key JS gives each (device, dtype) pair (tensorCountBindings.cpp).
using LiveTensorCounts = std::vector<int64_t>;

// Property names of the argument objects as JS strings, by the address of their C literal (see
// propertyKey in args.cpp).
using PropertyKeys = std::unordered_map<const char*, Napi::Reference<Napi::Value>>;

struct EnvData {
  std::shared_ptr<MemoryStats> stats = std::make_shared<MemoryStats>();
  Napi::FunctionReference errorFactory;
  PropertyKeys propertyKeys;
  std::shared_ptr<LiveTensorCounts> liveTensors = std::make_shared<LiveTensorCounts>();
};

EnvData& envData(Napi::Env env);

}  // namespace mp::napi
