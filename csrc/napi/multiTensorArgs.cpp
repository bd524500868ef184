#include "multiTensorArgs.h"

#include <cmath>
#include <string>

#include "../core/errors.h"
#include "storageHandle.h"

namespace mp::napi {
namespace {

std::string where(const char* function, const ListSpec& spec, size_t i) {
  return std::string("mixprec native ") + function + ": " + spec.name + "[" + std::to_string(i) + "]";
}

Napi::Array listAt(const Value& lists, size_t l, size_t length) {
  const Napi::Value v = lists.raw().As<Napi::Array>().Get(uint32_t(l));
  if (!v.IsArray() || v.As<Napi::Array>().Length() != length) {
    lists.fail("an array of " + std::to_string(length) + "-element arrays (list " + std::to_string(l) + ")");
  }
  return v.As<Napi::Array>();
}

}  // namespace

MultiTensor readLists(const Fields& args, const char* function, std::initializer_list<ListSpec> specs) {
  const Fields f = args["lists"].object();
  MultiTensor m;
  m.dtype = f["dtype"].dtype();
  if (m.dtype != DType::Float32 && m.dtype != DType::Float16 && m.dtype != DType::BFloat16 && m.dtype != DType::Float64) {
    f.fail("dtype", "a floating dtype code");
  }
  m.t.numel = f["numels"].int64Array();
  for (int64_t n : m.t.numel) {
    if (n < 0) f.fail("numels", "an array of non-negative integers");
  }
  const Value handlesValue = f["handles"];
  const Value offsetsValue = f["offsets"];
  for (const Value& v : {handlesValue, offsetsValue}) {
    if (!v.raw().IsArray() || v.raw().As<Napi::Array>().Length() != specs.size()) {
      v.fail("an array of " + std::to_string(specs.size()) + " lists");
    }
  }
  const size_t count = m.t.numel.size();
  bool first = true;
  size_t l = 0;
  for (const ListSpec& spec : specs) {
    const size_t length = spec.used ? count : 0;
    const Napi::Array handles = listAt(handlesValue, l, length);
    const Napi::Array offsets = listAt(offsetsValue, l, length);
    std::vector<void*> ptrs(length);
    for (size_t i = 0; i < length; ++i) {
      Storage* s = unwrapStorage(handles.Env(), handles.Get(uint32_t(i)));
      if (!s) throwTypeError("ERR_INVALID_ARG", where(function, spec, i) + " must be a storage handle");
      if (s->released) {
        throwMixprecError("ERR_DISPOSED", where(function, spec, i) + " uses memory that was already released (a disposed tensor)");
      }
      const Napi::Value ov = offsets.Get(uint32_t(i));
      const double offset = ov.IsNumber() ? ov.As<Napi::Number>().DoubleValue() : -1;
      if (!(offset >= 0 && offset <= 9007199254740991.0 && std::floor(offset) == offset)) {
        throwTypeError("ERR_INVALID_ARG", where(function, spec, i) + ": offset must be a non-negative integer, got " + describeValue(ov));
      }
      const DType type = spec.counter ? DType::Float32 : m.dtype;
      const int64_t numel = spec.counter ? 1 : m.t.numel[i];
      if ((uint64_t(offset) + uint64_t(numel)) * elementSize(type) > s->bytes) {
        throwRangeError("ERR_OUT_OF_BOUNDS", where(function, spec, i) + " needs " + std::to_string(numel) + " " +
                                                 dtypeName(type) + " elements at offset " + std::to_string(int64_t(offset)) +
                                                 " but its storage holds " + std::to_string(s->bytes) + " bytes");
      }
      if (first) m.device = s->device;
      first = false;
      if (s->device != m.device) {
        throwMixprecError("ERR_DEVICE_MISMATCH", std::string("mixprec native ") + function + ": all tensors must be on one device");
      }
      ptrs[i] = static_cast<char*>(s->data) + int64_t(offset) * int64_t(elementSize(type));
    }
    m.t.lists.push_back(std::move(ptrs));
    ++l;
  }
  return m;
}

float* deviceScalar(const Fields& f, const char* function, const char* name, Device device, bool optional) {
  const Value field = f[name];
  if (optional && field.isNullish()) return nullptr;
  const View v = field.object().asView(1, DType::Float32);
  if (v.device() != device) {
    throwMixprecError("ERR_DEVICE_MISMATCH",
                      std::string("mixprec native ") + function + ": " + name + " must be on the tensors' device");
  }
  return static_cast<float*>(v.data());
}

Backend& backendOf(const MultiTensor& m, const char* function, bool reference) {
  return backendOf(function, m.device, reference, "the scalar reference runs on cpu storages only");
}

}  // namespace mp::napi
