// Allocation, release, host <-> storage copies and memory statistics.
#include <cstring>
#include <string>
#include <vector>

#include "../core/cpuBlockCache.h"
#include "../core/errors.h"
#include "args.h"
#include "bindings.h"
#include "envData.h"
#include "guarded.h"
#include "storageHandle.h"

namespace mp::napi {
namespace {

Napi::Value alloc(const Napi::CallbackInfo& cb) {
  Args args(cb, "alloc", 4);
  const Device device = args.device(0, "device");
  const DType dtype = args.dtype(1, "dtype");
  const int64_t numel = args.count(2, "numel");
  const bool zeroed = args.boolean(3, "zeroed");
  const uint64_t bytes = uint64_t(numel) * elementSize(dtype);
  Storage* s = allocateStorage(envData(cb.Env()).stats, device, dtype, size_t(bytes), zeroed);
  return wrapStorage(cb.Env(), s);
}

Napi::Value release(const Napi::CallbackInfo& cb) {
  Args args(cb, "release", 1);
  Storage* s = unwrapStorage(cb.Env(), cb[0]);
  if (!s) args.fail(0, "storage", "a storage handle");
  releaseNow(cb.Env(), s);
  return cb.Env().Undefined();
}

Napi::Value isReleased(const Napi::CallbackInfo& cb) {
  Args args(cb, "isReleased", 1);
  Storage* s = unwrapStorage(cb.Env(), cb[0]);
  if (!s) args.fail(0, "storage", "a storage handle");
  return Napi::Boolean::New(cb.Env(), s->released);
}

// write(storage, offset, dtype, typedArray): copies the array's bytes in, unchanged.
Napi::Value write(const Napi::CallbackInfo& cb) {
  Args args(cb, "write", 4);
  const DType dtype = args.dtype(2, "dtype");
  if (!cb[3].IsTypedArray()) args.fail(3, "data", "a typed array");
  const Napi::TypedArray source = cb[3].As<Napi::TypedArray>();
  const size_t bytes = source.ByteLength();
  if (bytes % elementSize(dtype) != 0) args.fail(3, "data", std::string("a whole number of ") + dtypeName(dtype) + " elements");
  const int64_t numel = int64_t(bytes / elementSize(dtype));
  const View dst = args.view(0, "storage", numel, dtype);
  const char* src = static_cast<const char*>(source.ArrayBuffer().Data()) + source.ByteOffset();
  if (bytes > 0) dst.backend().copyHostToDevice(dst.index(), dst.data(), src, bytes);
  return cb.Env().Undefined();
}

// The dtype values are read back as: argument 4 when given, else the stored dtype.
DType readDtype(const Args& args, const Napi::CallbackInfo& cb, DType stored) {
  return cb.Length() > 4 && !cb[4].IsUndefined() ? args.dtype(4, "asDtype") : stored;
}

// Device memory holding `src` converted to `as`: src itself when no conversion is needed, else a
// temporary freed (deferred, never blocking) when this object goes away.
class DeviceSource {
 public:
  DeviceSource(const View& src, DType as)
      : backend_(src.backend()), device_(src.index()), ptr_(src.ptr), tempBytes_(size_t(src.numel) * elementSize(as)) {
    if (as == src.dtype) return;
    temp_ = backend_.allocate(device_, tempBytes_, false);
    ptr_ = static_cast<const char*>(temp_);
    backend_.cast(device_, src.ptr, src.dtype, temp_, as, src.numel);
  }
  ~DeviceSource() {
    if (temp_) backend_.deferFree(device_, temp_, tempBytes_);
  }
  DeviceSource(const DeviceSource&) = delete;
  DeviceSource& operator=(const DeviceSource&) = delete;
  const char* ptr() const { return ptr_; }

 private:
  Backend& backend_;
  int device_;
  const char* ptr_;
  size_t tempBytes_;
  void* temp_ = nullptr;
};

// Copies `src` converted to `as` into host memory at `dst` now (blocking on the device for CUDA
// storages).
void readNowInto(const View& src, DType as, void* dst) {
  if (src.numel == 0) return;
  Backend& backend = src.backend();
  if (backend.hostAccessible()) {
    backend.cast(src.index(), src.ptr, src.dtype, dst, as, src.numel);
  } else {
    const DeviceSource from(src, as);
    backend.copyDeviceToHost(src.index(), dst, from.ptr(), size_t(src.numel) * elementSize(as));
  }
}

// A new ArrayBuffer holding `src` converted to `as`, read now.
Napi::ArrayBuffer readNow(Napi::Env env, const View& src, DType as) {
  Napi::ArrayBuffer out = Napi::ArrayBuffer::New(env, size_t(src.numel) * elementSize(as));
  readNowInto(src, as, out.Data());
  return out;
}

// read(storage, offset, numel, dtype, asDtype?) -> ArrayBuffer holding a copy of the elements,
// converted to asDtype when given.
Napi::Value read(const Napi::CallbackInfo& cb) {
  Args args(cb, "read", 4);
  const View src = args.view(0, "storage", args.count(2, "numel"), args.dtype(3, "dtype"));
  return readNow(cb.Env(), src, readDtype(args, cb, src.dtype));
}

// readInto(storage, offset, numel, dtype, asDtype, typedArray): the same copy written into the
// caller's array, which must hold exactly numel asDtype elements, so a loop that reads a tensor
// every step allocates nothing.
Napi::Value readInto(const Napi::CallbackInfo& cb) {
  Args args(cb, "readInto", 6);
  const View src = args.view(0, "storage", args.count(2, "numel"), args.dtype(3, "dtype"));
  const DType as = args.dtype(4, "asDtype");
  if (!cb[5].IsTypedArray()) args.fail(5, "out", "a typed array");
  const Napi::TypedArray target = cb[5].As<Napi::TypedArray>();
  const size_t bytes = size_t(src.numel) * elementSize(as);
  if (target.ByteLength() != bytes) {
    args.fail(5, "out", "a typed array of " + std::to_string(bytes) + " bytes (" + std::to_string(src.numel) + " " + dtypeName(as) + " elements)");
  }
  readNowInto(src, as, static_cast<char*>(target.ArrayBuffer().Data()) + target.ByteOffset());
  return cb.Env().Undefined();
}

// Reads device memory on a libuv thread so the JS thread never blocks on the GPU.
class ReadWorker : public Napi::AsyncWorker {
 public:
  ReadWorker(Napi::Env env, Napi::Value handle, const View& src, DType as)
      : Napi::AsyncWorker(env, "mixprec.read"), deferred_(Napi::Promise::Deferred::New(env)), backend_(src.backend()),
        device_(src.index()), from_(src, as), bytes_(size_t(src.numel) * elementSize(as)), host_(bytes_) {
    keepAlive_ = Napi::Persistent(handle.As<Napi::Object>());
  }
  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      backend_.copyDeviceToHost(device_, host_.data(), from_.ptr(), bytes_);
    } catch (const Error& e) {
      code_ = e.code();
      SetError(e.what());
    }
  }
  void OnOK() override {
    Napi::ArrayBuffer out = Napi::ArrayBuffer::New(Env(), bytes_);
    if (bytes_ > 0) memcpy(out.Data(), host_.data(), bytes_);
    deferred_.Resolve(out);
  }
  void OnError(const Napi::Error& e) override {
    Napi::Error error = Napi::Error::New(Env(), e.Message());
    error.Set("code", Napi::String::New(Env(), code_.empty() ? "ERR_CUDA" : code_));
    deferred_.Reject(error.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference keepAlive_;
  Backend& backend_;
  int device_;
  DeviceSource from_;
  size_t bytes_;
  std::string code_;
  std::vector<char> host_;
};

// readAsync(storage, offset, numel, dtype, asDtype?) -> Promise<ArrayBuffer>
Napi::Value readAsync(const Napi::CallbackInfo& cb) {
  Args args(cb, "readAsync", 4);
  const View src = args.view(0, "storage", args.count(2, "numel"), args.dtype(3, "dtype"));
  const DType as = readDtype(args, cb, src.dtype);
  if (src.backend().hostAccessible() || src.numel == 0) {
    Napi::Promise::Deferred done = Napi::Promise::Deferred::New(cb.Env());
    done.Resolve(readNow(cb.Env(), src, as));
    return done.Promise();
  }
  auto* worker = new ReadWorker(cb.Env(), cb[0], src, as);
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

// copy(dst, dstOffset, src, srcOffset, numel, dtype): same dtype, any pair of devices.
Napi::Value copy(const Napi::CallbackInfo& cb) {
  Args args(cb, "copy", 6);
  const int64_t numel = args.count(4, "numel");
  const DType dtype = args.dtype(5, "dtype");
  const View dst = args.view(0, "dst", numel, dtype);
  const View src = args.view(2, "src", numel, dtype);
  char* d = dst.ptr;
  const char* s = src.ptr;
  const size_t bytes = size_t(numel) * elementSize(dtype);
  if (bytes == 0) return cb.Env().Undefined();
  if (dst.device().type == src.device().type) {
    dst.backend().copyDeviceToDevice(dst.index(), d, src.index(), s, bytes);
  } else if (src.backend().hostAccessible()) {
    dst.backend().copyHostToDevice(dst.index(), d, s, bytes);
  } else if (dst.backend().hostAccessible()) {
    src.backend().copyDeviceToHost(src.index(), d, s, bytes);
  } else {
    throwMixprecError("ERR_DEVICE_MISMATCH", "mixprec native copy: copies between two kinds of device go through the cpu");
  }
  return cb.Env().Undefined();
}

Napi::Object deviceStats(Napi::Env env, const MemoryStats& stats, Device device) {
  Napi::Object d = Napi::Object::New(env);
  d.Set("type", deviceTypeName(device.type));
  d.Set("index", device.index);
  d.Set("bytes", double(stats.deviceBytes(device)));
  d.Set("peakBytes", double(stats.devicePeak(device)));
  Napi::Array perDtype = Napi::Array::New(env, kNumDTypes);
  for (int t = 0; t < kNumDTypes; ++t) {
    Napi::Object slot = Napi::Object::New(env);
    slot.Set("storages", double(stats.slot(device, DType(t)).count));
    slot.Set("bytes", double(stats.slot(device, DType(t)).bytes));
    perDtype.Set(uint32_t(t), slot);
  }
  d.Set("dtypes", perDtype);
  return d;
}

Napi::Value memoryStats(const Napi::CallbackInfo& cb) {
  Napi::Env env = cb.Env();
  const MemoryStats& stats = *envData(env).stats;
  Napi::Object o = Napi::Object::New(env);
  o.Set("bytes", double(stats.totalBytes()));
  o.Set("peakBytes", double(stats.totalPeak()));
  Napi::Array devices = Napi::Array::New(env);
  uint32_t k = 0;
  for (int type = 0; type < kNumDeviceTypes; ++type) {
    for (int index = 0; index < kMaxDevicesPerType; ++index) {
      const Device device{DeviceType(type), index};
      // The cpu is always listed; other devices once they held memory.
      if (device != Device{} && stats.devicePeak(device) == 0) continue;
      devices.Set(k++, deviceStats(env, stats, device));
    }
  }
  o.Set("devices", devices);
  return o;
}

Napi::Value resetPeakMemory(const Napi::CallbackInfo& cb) {
  envData(cb.Env()).stats->resetPeak();
  return cb.Env().Undefined();
}

Napi::Value cpuCacheInfo(const Napi::CallbackInfo& cb) {
  Napi::Env env = cb.Env();
  const cpuBlockCache::Info info = cpuBlockCache::info();
  Napi::Object o = Napi::Object::New(env);
  o.Set("cachedBytes", double(info.cachedBytes));
  o.Set("limitBytes", double(info.limitBytes));
  o.Set("hits", double(info.hits));
  o.Set("misses", double(info.misses));
  return o;
}

Napi::Value emptyCpuCache(const Napi::CallbackInfo& cb) { return Napi::Number::New(cb.Env(), double(cpuBlockCache::empty())); }

}  // namespace

void registerMemoryBindings(Napi::Env env, Napi::Object exports) {
  exportFunction<alloc>(env, exports, "alloc");
  exportFunction<release>(env, exports, "release");
  exportFunction<isReleased>(env, exports, "isReleased");
  exportFunction<write>(env, exports, "write");
  exportFunction<read>(env, exports, "read");
  exportFunction<readInto>(env, exports, "readInto");
  exportFunction<readAsync>(env, exports, "readAsync");
  exportFunction<copy>(env, exports, "copy");
  exportFunction<memoryStats>(env, exports, "memoryStats");
  exportFunction<resetPeakMemory>(env, exports, "resetPeakMemory");
  exportFunction<cpuCacheInfo>(env, exports, "cpuCacheInfo");
  exportFunction<emptyCpuCache>(env, exports, "emptyCpuCache");
}

}  // namespace mp::napi
