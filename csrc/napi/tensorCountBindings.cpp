// Live tensor counts that stay exact when tensors are garbage-collected instead of disposed.
//
// Each JS tensor holds a token: a type-tagged external whose basic finalizer runs during GC
// itself and takes the tensor off its count. A JS FinalizationRegistry did this job before, but
// V8 runs those callbacks as tasks of their own whenever it likes (CI once saw 1,500 collected
// tensors still counted after 500 forced collections), while basic finalizers run in the
// collection that frees the object, exactly like the storages' own memory accounting.
#include <cstdint>
#include <memory>
#include <vector>

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
  std::shared_ptr<LiveTensorCounts> counts;
  uint32_t key;
  bool live;
};

void untrack(TensorToken* token) {
  if (!token->live) return;
  token->live = false;
  token->counts->at(token->key) -= 1;
}

void finalizeToken(node_api_basic_env, void* data, void*) {
  auto* token = static_cast<TensorToken*>(data);
  untrack(token);
  delete token;
}

// trackTensor(key): a token counting one live tensor under `key` (a small integer naming a
// device and dtype, chosen by JS).
Napi::Value trackTensor(const Napi::CallbackInfo& cb) {
  Args args(cb, "trackTensor", 1);
  const int64_t key = args.count(0, "key");
  if (key > 0xffff) args.fail(0, "key", "an integer in [0, 65535]");
  auto& counts = envData(cb.Env()).liveTensors;
  if (counts->size() <= size_t(key)) counts->resize(size_t(key) + 1, 0);
  (*counts)[size_t(key)] += 1;
  auto* token = new TensorToken{counts, uint32_t(key), true};
  napi_value value;
  if (napi_create_external(cb.Env(), token, finalizeToken, nullptr, &value) != napi_ok) {
    untrack(token);
    delete token;
    throwMixprecError("ERR_NAPI", "trackTensor: napi_create_external failed");
  }
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
  untrack(static_cast<TensorToken*>(data));
  return cb.Env().Undefined();
}

// liveTensorCounts(): live tensors by key, index = key.
Napi::Value liveTensorCounts(const Napi::CallbackInfo& cb) {
  const auto& counts = *envData(cb.Env()).liveTensors;
  Napi::Array out = Napi::Array::New(cb.Env(), counts.size());
  for (size_t i = 0; i < counts.size(); ++i) out.Set(uint32_t(i), double(counts[i]));
  return out;
}

}  // namespace

void registerTensorCountBindings(Napi::Env env, Napi::Object exports) {
  exportFunction<trackTensor>(env, exports, "trackTensor");
  exportFunction<untrackTensor>(env, exports, "untrackTensor");
  exportFunction<liveTensorCounts>(env, exports, "liveTensorCounts");
}

}  // namespace mp::napi
