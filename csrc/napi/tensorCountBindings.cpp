// Tensor counts that stay exact when tensors are garbage-collected instead of disposed.
//
// Each JS tensor holds a token: a type-tagged external whose basic finalizer runs during GC
// itself and moves the tensor from the live count to the collected count (a leak the safety net
// caught). A JS FinalizationRegistry did this job before, but V8 runs those callbacks as tasks of
// their own whenever it likes (CI once saw 1,500 collected tensors still counted after 500 forced
// collections), while basic finalizers run in the collection that frees the object, exactly like
// the storages' own memory accounting.
#include <cstdint>
#include <memory>

#include "args.h"
#include "bindings.h"
#include "envData.h"
#include "guarded.h"

namespace mp::napi {
namespace {

const napi_type_tag kTensorTokenTag = {0x6d69787072656331ULL, 0x74656e736f72746bULL};

// A token's state: the counts it belongs to (shared, so a finalizer running at environment
// teardown never touches freed counts) and whether the tensor still counts as live.
struct TensorToken {
  std::shared_ptr<TensorCounts> counts;
  uint32_t key;
  bool live;
};

void finalizeToken(node_api_basic_env, void* data, void*) {
  auto* token = static_cast<TensorToken*>(data);
  if (token->live) {
    token->counts->live[token->key] -= 1;
    token->counts->collected[token->key] += 1;
  }
  delete token;
}

// newCountKey(): a fresh key, never handed out before in this environment.
Napi::Value newCountKey(const Napi::CallbackInfo& cb) {
  TensorCounts& counts = *envData(cb.Env()).tensorCounts;
  counts.live.push_back(0);
  counts.collected.push_back(0);
  return Napi::Number::New(cb.Env(), double(counts.live.size() - 1));
}

// trackTensor(key): a token counting one live tensor under `key` (from newCountKey).
Napi::Value trackTensor(const Napi::CallbackInfo& cb) {
  Args args(cb, "trackTensor", 1);
  const std::shared_ptr<TensorCounts>& counts = envData(cb.Env()).tensorCounts;
  const int64_t key = args.count(0, "key");
  if (size_t(key) >= counts->live.size()) args.fail(0, "key", "a key from newCountKey");
  auto* token = new TensorToken{counts, uint32_t(key), true};
  napi_value value;
  if (napi_create_external(cb.Env(), token, finalizeToken, nullptr, &value) != napi_ok) {
    delete token;
    throwMixprecError("ERR_NAPI", "trackTensor: napi_create_external failed");
  }
  // From here the finalizer owns the token; counting it live is what the finalizer undoes.
  counts->live[size_t(key)] += 1;
  if (napi_type_tag_object(cb.Env(), value, &kTensorTokenTag) != napi_ok) {
    throwMixprecError("ERR_NAPI", "trackTensor: napi_type_tag_object failed");
  }
  return Napi::Value(cb.Env(), value);
}

// untrackTensor(token): the tensor was disposed; idempotent.
Napi::Value untrackTensor(const Napi::CallbackInfo& cb) {
  Args args(cb, "untrackTensor", 1);
  bool tagged = false;
  void* data = nullptr;
  if (cb[0].Type() != napi_external || napi_check_object_type_tag(cb.Env(), cb[0], &kTensorTokenTag, &tagged) != napi_ok ||
      !tagged || napi_get_value_external(cb.Env(), cb[0], &data) != napi_ok) {
    args.fail(0, "token", "a tensor token from trackTensor");
  }
  auto* token = static_cast<TensorToken*>(data);
  if (token->live) {
    token->live = false;
    token->counts->live[token->key] -= 1;
  }
  return cb.Env().Undefined();
}

Napi::Array toArray(Napi::Env env, const std::vector<int64_t>& v) {
  Napi::Array out = Napi::Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); ++i) out.Set(uint32_t(i), double(v[i]));
  return out;
}

// tensorCounts(): {live, collected}, each indexed by key.
Napi::Value tensorCounts(const Napi::CallbackInfo& cb) {
  const TensorCounts& counts = *envData(cb.Env()).tensorCounts;
  Napi::Object out = Napi::Object::New(cb.Env());
  out.Set("live", toArray(cb.Env(), counts.live));
  out.Set("collected", toArray(cb.Env(), counts.collected));
  return out;
}

}  // namespace

void registerTensorCountBindings(Napi::Env env, Napi::Object exports) {
  exportFunction<newCountKey>(env, exports, "newCountKey");
  exportFunction<trackTensor>(env, exports, "trackTensor");
  exportFunction<untrackTensor>(env, exports, "untrackTensor");
  exportFunction<tensorCounts>(env, exports, "tensorCounts");
}

}  // namespace mp::napi
