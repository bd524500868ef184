#include "args.h"

#include <cmath>

#include "../core/errors.h"
#include "storageHandle.h"

namespace mp::napi {

std::string describeValue(const Napi::Value& v) {
  switch (v.Type()) {
    case napi_undefined: return "undefined";
    case napi_null: return "null";
    case napi_boolean: return v.As<Napi::Boolean>().Value() ? "true" : "false";
    case napi_number: {
      const double d = v.As<Napi::Number>().DoubleValue();
      if (std::isnan(d)) return "NaN";
      char buf[64];
      snprintf(buf, sizeof buf, "%.17g", d);
      return buf;
    }
    case napi_string: return "a string";
    case napi_symbol: return "a symbol";
    case napi_object: return v.IsArray() ? "an array" : v.IsTypedArray() ? "a typed array" : "an object";
    case napi_function: return "a function";
    case napi_external: return "an external";
    case napi_bigint: return "a bigint";
  }
  return "a value";
}

Args::Args(const Napi::CallbackInfo& info, const char* function, size_t count) : info_(info), function_(function) {
  if (info.Length() < count) {
    throwTypeError("ERR_INVALID_ARG", "mixprec native " + function_ + ": expected " + std::to_string(count) +
                                          " arguments, got " + std::to_string(info.Length()));
  }
}

void Args::fail(size_t i, const char* name, const std::string& expected) const {
  throwTypeError("ERR_INVALID_ARG", "mixprec native " + function_ + ": argument " + std::to_string(i) + " (" + name +
                                        ") must be " + expected + ", got " + describeValue(info_[i]));
}

Storage* Args::storage(size_t i, const char* name) const {
  Storage* s = unwrapStorage(info_.Env(), info_[i]);
  if (!s) fail(i, name, "a storage handle");
  if (s->released) {
    throwMixprecError("ERR_DISPOSED", "mixprec native " + function_ + ": argument " + std::to_string(i) + " (" + name +
                                          ") uses memory that was already released (a disposed tensor)");
  }
  return s;
}

View Args::view(size_t i, const char* name, int64_t numel, DType dtype) const {
  Storage* s = storage(i, name);
  const int64_t offset = count(i + 1, "offset");
  const uint64_t end = (uint64_t(offset) + uint64_t(numel)) * elementSize(dtype);
  if (end > s->bytes) {
    throwRangeError("ERR_OUT_OF_BOUNDS", "mixprec native " + function_ + ": " + name + " needs " + std::to_string(numel) +
                                             " " + dtypeName(dtype) + " elements at offset " + std::to_string(offset) +
                                             " but its storage holds " + std::to_string(s->bytes) + " bytes");
  }
  return View{s, static_cast<char*>(s->data) + offset * int64_t(elementSize(dtype)), numel, dtype};
}

DType Args::dtype(size_t i, const char* name) const {
  return DType(enumValue(i, name, [](int32_t c) { return isValidDType(c); }));
}

int32_t Args::enumValue(size_t i, const char* name, bool (*valid)(int32_t)) const {
  const int32_t v = int32(i, name);
  if (!valid(v)) fail(i, name, "a known code");
  return v;
}

int64_t Args::count(size_t i, const char* name) const {
  if (!info_[i].IsNumber()) fail(i, name, "a non-negative integer");
  const double d = info_[i].As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d > 9007199254740991.0 || std::floor(d) != d) fail(i, name, "a non-negative integer");
  return int64_t(d);
}

int32_t Args::int32(size_t i, const char* name) const {
  if (!info_[i].IsNumber()) fail(i, name, "an integer");
  const double d = info_[i].As<Napi::Number>().DoubleValue();
  if (!(d >= -2147483648.0 && d <= 2147483647.0) || std::floor(d) != d) fail(i, name, "a 32-bit integer");
  return int32_t(d);
}

double Args::number(size_t i, const char* name) const {
  if (!info_[i].IsNumber()) fail(i, name, "a number");
  return info_[i].As<Napi::Number>().DoubleValue();
}

bool Args::boolean(size_t i, const char* name) const {
  if (!info_[i].IsBoolean()) fail(i, name, "a boolean");
  return info_[i].As<Napi::Boolean>().Value();
}

uint64_t Args::uint64(size_t i, const char* name) const {
  if (!info_[i].IsBigInt()) fail(i, name, "a bigint");
  bool lossless = false;
  const uint64_t v = info_[i].As<Napi::BigInt>().Uint64Value(&lossless);
  if (!lossless) fail(i, name, "a bigint in [0, 2^64)");
  return v;
}

std::vector<int64_t> Args::int64Array(size_t i, const char* name) const {
  if (!info_[i].IsArray()) fail(i, name, "an array of integers");
  const Napi::Array arr = info_[i].As<Napi::Array>();
  std::vector<int64_t> out(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); ++k) {
    const Napi::Value v = arr.Get(k);
    if (!v.IsNumber()) fail(i, name, "an array of integers");
    const double d = v.As<Napi::Number>().DoubleValue();
    if (!(std::fabs(d) <= 9007199254740991.0) || std::floor(d) != d) fail(i, name, "an array of integers");
    out[k] = int64_t(d);
  }
  return out;
}

void requireSameDevice(const char* function, std::initializer_list<View> views) {
  const int device = views.begin()->device();
  for (const View& v : views) {
    if (v.device() != device) {
      throwMixprecError("ERR_DEVICE_MISMATCH", std::string("mixprec native ") + function +
                                                   ": all operands must be on one device");
    }
  }
}

int64_t checkedProduct(const char* function, std::initializer_list<int64_t> factors) {
  int64_t p = 1;
  for (int64_t f : factors) {
    if (__builtin_mul_overflow(p, f, &p) || p > (int64_t(1) << 53)) {
      throwRangeError("ERR_INVALID_ARG", std::string("mixprec native ") + function + ": element count overflows");
    }
  }
  return p;
}

int64_t spanOf(const Args& args, size_t index, const std::vector<int64_t>& shape, const std::vector<int64_t>& strides) {
  if (strides.size() != shape.size()) args.fail(index, "strides", "one stride per output dimension");
  int64_t last = 0;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 0) return 0;
    if (strides[d] < 0) args.fail(index, "strides", "non-negative strides");
    last += (shape[d] - 1) * strides[d];
  }
  return last + 1;
}

}  // namespace mp::napi
