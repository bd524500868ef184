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

// Tensor counts by key (tensorCountBindings.cpp): a key is one (device, dtype) pair of one JS
// module instance, so every realm (a jest test file, a vm context) counts its own tensors.
struct TensorCounts {
  std::vector<int64_t> live;       // neither disposed nor collected
  std::vector<int64_t> collected;  // freed by the garbage collector without dispose
};

// Property names of the argument objects as JS strings, by the address of their C literal (see
// propertyKey in args.cpp).
using PropertyKeys = std::unordered_map<const char*, Napi::Reference<Napi::Value>>;

struct EnvData {
  std::shared_ptr<MemoryStats> stats = std::make_shared<MemoryStats>();
  Napi::FunctionReference errorFactory;
  PropertyKeys propertyKeys;
  std::shared_ptr<TensorCounts> tensorCounts = std::make_shared<TensorCounts>();
};

EnvData& envData(Napi::Env env);

}  // namespace mp::napi
