// The CPU backend: host memory (through the block cache) and the kernels of csrc/cpu. There is
// one CPU device, index 0.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "../core/backend.h"
#include "../core/cpuBlockCache.h"
#include "../core/errors.h"
#include "ampKernels.h"
#include "castKernels.h"
#include "cpuKernels.h"
#include "indexingKernels.h"
#include "matmulKernels.h"
#include "optimizerKernels.h"

namespace mp::cpu {
namespace {

constexpr size_t kCpuAlignment = 64;

std::string formatBytes(size_t bytes) {
  const double gib = double(bytes) / (1024.0 * 1024.0 * 1024.0);
  if (gib < 1.0) return std::to_string(bytes) + " bytes";
  char buf[64];
  snprintf(buf, sizeof buf, "%zu bytes (%.1f GiB)", bytes, gib);
  return buf;
}

size_t physicalMemoryBytes() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long pageSize = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || pageSize <= 0) return SIZE_MAX;
  return size_t(pages) * size_t(pageSize);
}

class CpuBackend : public Backend {
 public:
  bool compiled() const override { return true; }
  int deviceCount() override { return 1; }
  std::string unavailableReason() override { return ""; }
  bool hostAccessible() const override { return true; }
  void deferFree(int, void* ptr, size_t bytes) override;
  int64_t firstIndexOutOfRange(int, const int32_t* index, int64_t n, int64_t bound) override {
    return cpu::firstIndexOutOfRange(index, n, bound);
  }
  MP_BACKEND_DEVICE_OPS(MP_BACKEND_DEVICE_OVERRIDE)
  // The kernels forward to cpu::name, whose declarations cpuKernels.h generates from the same list.
#define MP_CPU_FORWARD(name, params, args) \
  void name(int, MP_UNPAREN params) override { cpu::name args; }
  MP_BACKEND_KERNELS(MP_CPU_FORWARD)
#undef MP_CPU_FORWARD
};

void CpuBackend::deferFree(int, void* ptr, size_t bytes) {
  const size_t cached = cpuBlockCache::cachedSize(bytes);
  if (cached) {
    cpuBlockCache::give(ptr, cached);
  } else {
    free(ptr);
  }
}

void CpuBackend::requireDevice(int device) {
  if (device != 0) throwRangeError("ERR_INVALID_DEVICE", "cpu:" + std::to_string(device) + " does not exist: the cpu is device 0");
}

int CpuBackend::computeCapability(int device) {
  requireDevice(device);
  return 0;
}

void* CpuBackend::allocate(int, size_t bytes, bool zeroed) {
  // A request larger than the machine's RAM would pass malloc under overcommit and then get the
  // process killed when touched; refuse it up front so the caller gets an error instead.
  if (bytes > physicalMemoryBytes()) {
    throwMixprecError("ERR_OUT_OF_MEMORY", "out of memory: cannot allocate " + formatBytes(bytes) +
                                               " on cpu (the machine has " + formatBytes(physicalMemoryBytes()) + ")");
  }
  const size_t cached = cpuBlockCache::cachedSize(bytes);
  void* p = cached ? cpuBlockCache::take(cached) : nullptr;
  if (!p) {
    const size_t rounded = cached ? cached : (bytes + kCpuAlignment - 1) / kCpuAlignment * kCpuAlignment;
    if (posix_memalign(&p, kCpuAlignment, rounded == 0 ? kCpuAlignment : rounded) != 0 || p == nullptr) {
      throwMixprecError("ERR_OUT_OF_MEMORY", "out of memory: cannot allocate " + formatBytes(bytes) + " on cpu");
    }
  }
  if (zeroed) memset(p, 0, bytes);
  return p;
}

void CpuBackend::copyHostToDevice(int, void* dst, const void* src, size_t bytes) { memmove(dst, src, bytes); }
void CpuBackend::copyDeviceToHost(int, void* dst, const void* src, size_t bytes) { memmove(dst, src, bytes); }
void CpuBackend::copyDeviceToDevice(int, void* dst, int, const void* src, size_t bytes) { memmove(dst, src, bytes); }
void CpuBackend::synchronize(int) {}

class CpuReferenceBackend final : public CpuBackend {
 public:
  void cast(int, const void* src, DType srcType, void* dst, DType dstType, int64_t n) override {
    cpu::castReference(src, srcType, dst, dstType, n);
  }
  void matmul(int, DType dtype, const void* a, const void* b, void* out, const MatmulShape& shape) override {
    cpu::matmulReference(dtype, a, b, out, shape);
  }
  void sgdStep(int, DType dtype, const TensorLists& t, const float* gradScale, const float* foundInf,
               const SgdOptions& o) override {
    cpu::sgdStepReference(dtype, t, gradScale, foundInf, o);
  }
  void adamStep(int, DType dtype, const TensorLists& t, const float* gradScale, const float* foundInf,
                const AdamOptions& o) override {
    cpu::adamStepReference(dtype, t, gradScale, foundInf, o);
  }
  void multiTensorNorm(int, DType dtype, const TensorLists& t, double p, float* out) override {
    cpu::multiTensorNormReference(dtype, t, p, out);
  }
  void unscaleAndCheck(int, DType dtype, const TensorLists& t, const float* scale, float* foundInf,
                       float* flags) override {
    cpu::unscaleAndCheckReference(dtype, t, scale, foundInf, flags);
  }
  void multiTensorScale(int, DType dtype, const TensorLists& t, const float* scale) override {
    cpu::multiTensorScaleReference(dtype, t, scale);
  }
  void multiTensorClamp(int, DType dtype, const TensorLists& t, double lo, double hi) override {
    cpu::multiTensorClampReference(dtype, t, lo, hi);
  }
};

}  // namespace
}  // namespace mp::cpu

namespace mp {
Backend& cpuBackend() {
  static cpu::CpuBackend backend;
  return backend;
}

Backend& cpuReferenceBackend() {
  static cpu::CpuReferenceBackend backend;
  return backend;
}
}  // namespace mp
