#include "storageHandle.h"

#include "../core/errors.h"

namespace mp::napi {
namespace {

const napi_type_tag kStorageTag = {0x6d69787072656331ULL, 0x73746f7261676531ULL};

void adjustExternal(node_api_basic_env env, int64_t delta) {
  int64_t ignored = 0;
  napi_adjust_external_memory(env, delta, &ignored);
}

// A basic finalizer: it runs during GC itself (ordinary finalizers wait for a later event-loop
// turn, so a synchronous training loop would never free anything) and may not touch JS.
void finalizeStorage(node_api_basic_env env, void* data, void*) {
  auto* s = static_cast<Storage*>(data);
  if (!s->released) {
    const int64_t bytes = int64_t(s->bytes);
    releaseStorage(s);
    adjustExternal(env, -bytes);
  }
  delete s;
}

void check(napi_status status, const char* what) {
  if (status != napi_ok) throwMixprecError("ERR_NAPI", std::string("N-API call failed: ") + what);
}

}  // namespace

Napi::Value wrapStorage(Napi::Env env, Storage* storage) {
  napi_value value;
  const napi_status status = napi_create_external(env, storage, finalizeStorage, nullptr, &value);
  if (status != napi_ok) {
    releaseStorage(storage);
    delete storage;
    check(status, "napi_create_external");
  }
  check(napi_type_tag_object(env, value, &kStorageTag), "napi_type_tag_object");
  adjustExternal(env, int64_t(storage->bytes));
  return Napi::Value(env, value);
}

Storage* unwrapStorage(Napi::Env env, Napi::Value value) {
  if (value.Type() != napi_external) return nullptr;
  bool tagged = false;
  if (napi_check_object_type_tag(env, value, &kStorageTag, &tagged) != napi_ok || !tagged) return nullptr;
  void* data = nullptr;
  if (napi_get_value_external(env, value, &data) != napi_ok) return nullptr;
  return static_cast<Storage*>(data);
}

void releaseNow(Napi::Env env, Storage* storage) {
  if (storage->released) return;
  const int64_t bytes = int64_t(storage->bytes);
  releaseStorage(storage);
  adjustExternal(env, -bytes);
}

}  // namespace mp::napi
