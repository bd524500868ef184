// Argument checks for the bindings. Every failure is a clear JS error naming the native function
// and the argument; the TypeScript layer validates first, these keep misuse from ever reaching a
// kernel with a bad pointer.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "../core/dtype.h"
#include "../core/kernelArgs.h"
#include "../core/storage.h"

namespace mp::napi {

// A range of elements inside a storage, already bounds-checked.
struct View {
  Storage* storage;
  char* ptr;  // first element of the range
  int64_t numel;
  DType dtype;
  void* data() const { return ptr; }
  int device() const { return storage->device; }
};

class Args {
 public:
  Args(const Napi::CallbackInfo& info, const char* function, size_t count);

  Storage* storage(size_t i, const char* name) const;
  // Storage handle at i, element offset at i+1, checked to hold `numel` elements of `dtype`.
  View view(size_t i, const char* name, int64_t numel, DType dtype) const;
  DType dtype(size_t i, const char* name) const;
  int32_t enumValue(size_t i, const char* name, bool (*valid)(int32_t)) const;
  int64_t count(size_t i, const char* name) const;  // a non-negative integer below 2^53
  int32_t int32(size_t i, const char* name) const;
  double number(size_t i, const char* name) const;
  bool boolean(size_t i, const char* name) const;
  uint64_t uint64(size_t i, const char* name) const;  // a BigInt
  std::vector<int64_t> int64Array(size_t i, const char* name) const;

  [[noreturn]] void fail(size_t i, const char* name, const std::string& expected) const;

 private:
  const Napi::CallbackInfo& info_;
  std::string function_;
};

std::string describeValue(const Napi::Value& v);
void requireSameDevice(const char* function, std::initializer_list<View> views);
inline bool onCpu(const View& v) { return v.device() == kCpuDevice; }
// The product of element counts; ERR_INVALID_ARG when it overflows or exceeds 2^53.
int64_t checkedProduct(const char* function, std::initializer_list<int64_t> factors);
// Elements an input spans when read along `shape` with `strides` (0 for an empty shape); the
// strides (argument `index`) must be non-negative, one per dimension.
int64_t spanOf(const Args& args, size_t index, const std::vector<int64_t>& shape, const std::vector<int64_t>& strides);

}  // namespace mp::napi
