// Argument checks for the bindings. Every failure is a clear JS error naming the native function
// and the argument (by position, or by its path inside an argument object: `a.rowStride`); the
// TypeScript layer validates first, these keep misuse from ever reaching a kernel with a bad
// pointer.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "../core/backend.h"
#include "../core/dtype.h"
#include "../core/kernelArgs.h"
#include "../core/storage.h"
#include "envData.h"

namespace mp::napi {

// A range of elements inside a storage, already bounds-checked.
struct View {
  Storage* storage;
  char* ptr;  // first element of the range
  int64_t numel;
  DType dtype;
  void* data() const { return ptr; }
  Device device() const { return storage->device; }
  // The backend of the storage's device, and the device's index within that backend.
  Backend& backend() const { return backendFor(storage->device); }
  int index() const { return storage->device.index; }
};

class Fields;

// Where an argument sits, for error messages: a positional argument (`argument 2 (a)`) and/or a
// path of field names (`a.rowStride`). Names are string literals and the path is kept as
// pointers, so reading an argument allocates nothing; the text is built only when a check fails.
class ArgPath {
 public:
  static constexpr int kMaxDepth = 4;
  ArgPath() = default;
  ArgPath(int index, const char* name) : index_(index), name_(name) {}
  ArgPath child(const char* field) const;
  std::string str() const;

 private:
  int index_ = -1;
  const char* name_ = nullptr;
  const char* fields_[kMaxDepth] = {};
  int depth_ = 0;
};

// One argument or field, with the path errors name it by.
class Value {
 public:
  // `keys`: the environment's property-key cache when the reader already has it (fields of an
  // object); positional arguments look it up only if they turn out to be objects.
  Value(Napi::Value value, const char* function, const ArgPath& path, PropertyKeys* keys = nullptr)
      : value_(value), function_(function), path_(path), keys_(keys) {}

  bool isNullish() const { return value_.IsNull() || value_.IsUndefined(); }
  const Napi::Value& raw() const { return value_; }
  Storage* storage() const;
  DType dtype() const;
  int32_t enumValue(bool (*valid)(int32_t)) const;
  int64_t count() const;  // a non-negative integer below 2^53
  int32_t int32() const;
  double number() const;
  bool boolean() const;
  uint64_t uint64() const;  // a BigInt
  Device device() const;    // {type: a deviceTypeName, index}
  std::vector<int64_t> int64Array() const;
  Fields object() const;

  [[noreturn]] void fail(const std::string& expected) const;
  // Errors about this argument that are not type errors (bounds, released memory).
  std::string prefix() const { return std::string("mixprec native ") + function_ + ": "; }
  std::string label() const { return path_.str(); }

 private:
  Napi::Value value_;
  const char* function_;  // a string literal: argument readers outlive the Args they came from
  ArgPath path_;
  PropertyKeys* keys_;
  PropertyKeys& keys() const;
};

// An argument that is an object of named fields; nested objects extend the path (`a.storage`).
class Fields {
 public:
  Fields(Napi::Object object, const char* function, const ArgPath& path, PropertyKeys& keys)
      : object_(object), function_(function), path_(path), keys_(&keys) {}
  // `name` must be a string literal: its address keys the environment's cache of JS strings.
  Value operator[](const char* name) const;
  // {storage, offset} at `name`, checked to hold `numel` elements of `dtype`.
  View view(const char* name, int64_t numel, DType dtype) const { return (*this)[name].object().asView(numel, dtype); }
  // This object's own {storage, offset}, checked likewise.
  View asView(int64_t numel, DType dtype) const;
  [[noreturn]] void fail(const char* name, const std::string& expected) const { (*this)[name].fail(expected); }

 private:
  Napi::Object object_;
  const char* function_;
  ArgPath path_;
  PropertyKeys* keys_;  // looked up once per argument object, not once per field
};

class Args {
 public:
  Args(const Napi::CallbackInfo& info, const char* function, size_t count);

  Value operator[](size_t i) const;
  Value at(size_t i, const char* name) const;
  // The argument object at i (the only argument of most kernel calls).
  Fields fields(size_t i) const;
  // Storage handle at i, element offset at i+1, checked to hold `numel` elements of `dtype`.
  View view(size_t i, const char* name, int64_t numel, DType dtype) const;
  DType dtype(size_t i, const char* name) const { return at(i, name).dtype(); }
  int32_t enumValue(size_t i, const char* name, bool (*valid)(int32_t)) const { return at(i, name).enumValue(valid); }
  int64_t count(size_t i, const char* name) const { return at(i, name).count(); }
  double number(size_t i, const char* name) const { return at(i, name).number(); }
  bool boolean(size_t i, const char* name) const { return at(i, name).boolean(); }
  uint64_t uint64(size_t i, const char* name) const { return at(i, name).uint64(); }
  Device device(size_t i, const char* name) const { return at(i, name).device(); }

  [[noreturn]] void fail(size_t i, const char* name, const std::string& expected) const { at(i, name).fail(expected); }

 private:
  const Napi::CallbackInfo& info_;
  const char* function_;
};

std::string describeValue(const Napi::Value& v);
void requireSameDevice(const char* function, std::initializer_list<View> views);
// The backend a binding runs on: the device's, or for a test-surface *Reference twin the CPU's
// scalar references, which run on host memory only (`refusal` says so otherwise).
Backend& backendOf(const char* function, Device device, bool reference, const char* refusal);
// The product of element counts; ERR_INVALID_ARG when it overflows or exceeds 2^53.
int64_t checkedProduct(const char* function, std::initializer_list<int64_t> factors);
// Elements an input spans when read along `shape` with `strides` (0 for an empty shape); the
// strides must be non-negative, one per dimension.
int64_t spanOf(const Value& strides, const std::vector<int64_t>& shape, const std::vector<int64_t>& values);

}  // namespace mp::napi
