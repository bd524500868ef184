// The CUDA backend: every operation forwards to the entry point of the same name and parameters
// in cudaBackend.h (cudaRuntime.cu and the *Kernels.cu files), both generated from backend.h's lists.
#include "../core/backend.h"
#include "cudaBackend.h"

namespace mp::cuda {
namespace {

class CudaBackend final : public Backend {
 public:
  bool compiled() const override { return cuda::compiled(); }
  int deviceCount() override { return cuda::deviceCount(); }
  std::string unavailableReason() override { return cuda::unavailableReason(); }
  DriverReport driverReport() override { return cuda::driverReport(); }
  bool hostAccessible() const override { return false; }
  void deferFree(int device, void* ptr, size_t) override { cuda::deferFree(device, ptr); }
  int64_t firstIndexOutOfRange(int, const int32_t*, int64_t, int64_t) override { return -1; }
#define MP_CUDA_FORWARD(ret, name, params, args) \
  ret name params override { return cuda::name args; }
#define MP_CUDA_FORWARD_KERNEL(name, params, args) \
  void name(int device, MP_UNPAREN params) override { cuda::name(device, MP_UNPAREN args); }
  MP_BACKEND_DEVICE_OPS(MP_CUDA_FORWARD)
  MP_BACKEND_KERNELS(MP_CUDA_FORWARD_KERNEL)
#undef MP_CUDA_FORWARD
#undef MP_CUDA_FORWARD_KERNEL
};

}  // namespace
}  // namespace mp::cuda

namespace mp {
Backend& cudaBackend() {
  static cuda::CudaBackend backend;
  return backend;
}
}  // namespace mp
