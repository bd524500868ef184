// The backend of a device type whose toolkit was not compiled in: it sees no devices, frees
// nothing (it never allocated) and raises `code` with `message` on every other operation.
#pragma once
#include <string>
#include <utility>

#include "backend.h"
#include "errors.h"

namespace mp {

// The operations' parameters are generated from backend.h's lists and all go unused here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#define MP_BACKEND_UNAVAILABLE(ret, name, params, args) \
  ret name params override { unavailable(); }
#define MP_KERNEL_UNAVAILABLE(name, params, args) \
  void name(int device, MP_UNPAREN params) override { unavailable(); }

class UnavailableBackend final : public Backend {
 public:
  UnavailableBackend(const char* code, std::string reason, std::string message)
      : code_(code), reason_(std::move(reason)), message_(std::move(message)) {}
  bool compiled() const override { return false; }
  int deviceCount() override { return 0; }
  std::string unavailableReason() override { return reason_; }
  bool hostAccessible() const override { return false; }
  void deferFree(int, void*, size_t) override {}
  int64_t firstIndexOutOfRange(int, const int32_t*, int64_t, int64_t) override { unavailable(); }
  MP_BACKEND_DEVICE_OPS(MP_BACKEND_UNAVAILABLE)
  MP_BACKEND_KERNELS(MP_KERNEL_UNAVAILABLE)

 private:
  [[noreturn]] void unavailable() const { throwMixprecError(code_, message_); }
  const char* code_;
  std::string reason_;
  std::string message_;
};

#undef MP_BACKEND_UNAVAILABLE
#undef MP_KERNEL_UNAVAILABLE
#pragma GCC diagnostic pop

}  // namespace mp
