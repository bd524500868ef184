#include "args.h"

#include <cmath>
#include <cstring>

#include "../core/errors.h"
#include "envData.h"
#include "storageHandle.h"

namespace mp::napi {

namespace {

// The JS string of a property name, made once per environment and kept by a reference.
// napi_get_named_property makes and interns a new V8 string on every read: about 0.2 µs a field,
// several µs for a kernel call's argument object, more than a small kernel itself takes.
napi_value propertyKey(Napi::Env env, PropertyKeys& keys, const char* name) {
  auto it = keys.find(name);
  if (it == keys.end()) {
    napi_value key;
    if (node_api_create_property_key_utf8(env, name, NAPI_AUTO_LENGTH, &key) != napi_ok) {
      throw Napi::Error::New(env, std::string("mixprec: cannot create the property key ") + name);
    }
    it = keys.emplace(name, Napi::Reference<Napi::Value>::New(Napi::Value(env, key), 1)).first;
  }
  return it->second.Value();
}

}  // namespace

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
    throwTypeError("ERR_INVALID_ARG", std::string("mixprec native ") + function_ + ": expected " + std::to_string(count) +
                                          " arguments, got " + std::to_string(info.Length()));
  }
}

Value Fields::operator[](const char* name) const {
  return Value(object_.Get(propertyKey(object_.Env(), *keys_, name)), function_, path_.child(name), keys_);
}

ArgPath ArgPath::child(const char* field) const {
  ArgPath p = *this;
  if (p.depth_ < kMaxDepth) p.fields_[p.depth_++] = field;
  return p;
}

std::string ArgPath::str() const {
  std::string s;
  if (index_ >= 0) {
    s = "argument " + std::to_string(index_);
    if (name_) s += std::string(" (") + name_ + ")";
  }
  for (int d = 0; d < depth_; ++d) {
    if (!s.empty()) s += ".";
    s += fields_[d];
  }
  return s;
}

Value Args::operator[](size_t i) const { return Value(info_[i], function_, ArgPath(int(i), nullptr)); }

Value Args::at(size_t i, const char* name) const { return Value(info_[i], function_, ArgPath(int(i), name)); }

Fields Args::fields(size_t i) const {
  if (!info_[i].IsObject() || info_[i].IsArray()) (*this)[i].fail("an object of named arguments");
  return Fields(info_[i].As<Napi::Object>(), function_, ArgPath(), envData(info_.Env()).propertyKeys);
}

namespace {

// `label()` names the range in errors; it is called only when the check fails.
template <typename Label>
View checkedView(const Value& handle, int64_t offset, const Label& label, int64_t numel, DType dtype) {
  Storage* s = handle.storage();
  const uint64_t end = (uint64_t(offset) + uint64_t(numel)) * elementSize(dtype);
  if (end > s->bytes) {
    throwRangeError("ERR_OUT_OF_BOUNDS", handle.prefix() + label() + " needs " + std::to_string(numel) + " " +
                                             dtypeName(dtype) + " elements at offset " + std::to_string(offset) +
                                             " but its storage holds " + std::to_string(s->bytes) + " bytes");
  }
  return View{s, static_cast<char*>(s->data) + offset * int64_t(elementSize(dtype)), numel, dtype};
}

}  // namespace

View Args::view(size_t i, const char* name, int64_t numel, DType dtype) const {
  return checkedView(at(i, name), count(i + 1, "offset"), [name] { return std::string(name); }, numel, dtype);
}

View Fields::asView(int64_t numel, DType dtype) const {
  return checkedView((*this)["storage"], (*this)["offset"].count(), [this] { return path_.str(); }, numel, dtype);
}

void Value::fail(const std::string& expected) const {
  throwTypeError("ERR_INVALID_ARG", prefix() + label() + " must be " + expected + ", got " + describeValue(value_));
}

Storage* Value::storage() const {
  Storage* s = unwrapStorage(value_.Env(), value_);
  if (!s) fail("a storage handle");
  if (s->released) {
    throwMixprecError("ERR_DISPOSED", prefix() + label() + " uses memory that was already released (a disposed tensor)");
  }
  return s;
}

DType Value::dtype() const {
  return DType(enumValue([](int32_t c) { return isValidDType(c); }));
}

int32_t Value::enumValue(bool (*valid)(int32_t)) const {
  const int32_t v = int32();
  if (!valid(v)) fail("a known code");
  return v;
}

int64_t Value::count() const {
  if (!value_.IsNumber()) fail("a non-negative integer");
  const double d = value_.As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d > 9007199254740991.0 || std::floor(d) != d) fail("a non-negative integer");
  return int64_t(d);
}

int32_t Value::int32() const {
  if (!value_.IsNumber()) fail("an integer");
  const double d = value_.As<Napi::Number>().DoubleValue();
  if (!(d >= -2147483648.0 && d <= 2147483647.0) || std::floor(d) != d) fail("a 32-bit integer");
  return int32_t(d);
}

double Value::number() const {
  if (!value_.IsNumber()) fail("a number");
  return value_.As<Napi::Number>().DoubleValue();
}

bool Value::boolean() const {
  if (!value_.IsBoolean()) fail("a boolean");
  return value_.As<Napi::Boolean>().Value();
}

uint64_t Value::uint64() const {
  if (!value_.IsBigInt()) fail("a bigint");
  bool lossless = false;
  const uint64_t v = value_.As<Napi::BigInt>().Uint64Value(&lossless);
  if (!lossless) fail("a bigint in [0, 2^64)");
  return v;
}

PropertyKeys& Value::keys() const { return keys_ ? *keys_ : envData(value_.Env()).propertyKeys; }

Device Value::device() const {
  const auto failDevice = [this] {
    std::string types;
    for (int t = 0; t < kNumDeviceTypes; ++t) types += std::string(t ? " | '" : "'") + deviceTypeName(DeviceType(t)) + "'";
    fail("a device {type: " + types + ", index}");
  };
  if (!value_.IsObject()) failDevice();
  const Napi::Object o = value_.As<Napi::Object>();
  const Napi::Value type = o.Get(propertyKey(o.Env(), keys(), "type"));
  const Napi::Value index = o.Get(propertyKey(o.Env(), keys(), "index"));
  if (!type.IsString() || !index.IsNumber()) failDevice();
  // Device type names are short ASCII: compare in a stack buffer, no std::string per call.
  char name[16];
  size_t length = 0;
  if (napi_get_value_string_utf8(value_.Env(), type, name, sizeof name, &length) != napi_ok) failDevice();
  int t = 0;
  while (t < kNumDeviceTypes && std::strcmp(name, deviceTypeName(DeviceType(t))) != 0) ++t;
  if (t == kNumDeviceTypes) failDevice();
  const double k = index.As<Napi::Number>().DoubleValue();
  if (!(k >= 0 && k < kMaxDevicesPerType) || std::floor(k) != k) {
    throwRangeError("ERR_INVALID_DEVICE", prefix() + label() + ": device index " + describeValue(index) +
                                              " is out of range (an integer below " +
                                              std::to_string(kMaxDevicesPerType) + ")");
  }
  return Device{DeviceType(t), int(k)};
}

std::vector<int64_t> Value::int64Array() const {
  if (!value_.IsArray()) fail("an array of integers");
  const Napi::Array arr = value_.As<Napi::Array>();
  std::vector<int64_t> out(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); ++k) {
    const Napi::Value v = arr.Get(k);
    if (!v.IsNumber()) fail("an array of integers");
    const double d = v.As<Napi::Number>().DoubleValue();
    if (!(std::fabs(d) <= 9007199254740991.0) || std::floor(d) != d) fail("an array of integers");
    out[k] = int64_t(d);
  }
  return out;
}

Fields Value::object() const {
  if (!value_.IsObject() || value_.IsArray()) fail("an object");
  return Fields(value_.As<Napi::Object>(), function_, path_, keys());
}

void requireSameDevice(const char* function, std::initializer_list<View> views) {
  const Device device = views.begin()->device();
  for (const View& v : views) {
    if (v.device() != device) {
      throwMixprecError("ERR_DEVICE_MISMATCH", std::string("mixprec native ") + function +
                                                   ": all operands must be on one device");
    }
  }
}

Backend& backendOf(const char* function, Device device, bool reference, const char* refusal) {
  if (!reference) return backendFor(device);
  if (device.type != DeviceType::Cpu) throwTypeError("ERR_INVALID_ARG", std::string("mixprec native ") + function + ": " + refusal);
  return cpuReferenceBackend();
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

int64_t spanOf(const Value& strides, const std::vector<int64_t>& shape, const std::vector<int64_t>& values) {
  if (values.size() != shape.size()) strides.fail("one stride per output dimension");
  int64_t last = 0;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 0) return 0;
    if (values[d] < 0) strides.fail("non-negative strides");
    last += (shape[d] - 1) * values[d];
  }
  return last + 1;
}

}  // namespace mp::napi
