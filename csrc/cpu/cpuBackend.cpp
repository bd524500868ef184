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
#include "creationKernels.h"
#include "elementwiseKernels.h"
#include "indexingKernels.h"
#include "matmulKernels.h"
#include "optimizerKernels.h"
#include "randomKernels.h"
#include "reduceKernels.h"

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
  MP_BACKEND_OPS(MP_BACKEND_OVERRIDE)
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

void CpuBackend::cast(int, const void* src, DType srcType, void* dst, DType dstType, int64_t n) {
  cpu::cast(src, srcType, dst, dstType, n);
}
void CpuBackend::binary(int, BinaryOp op, DType dtype, const void* a, const void* b, void* out,
                        const BroadcastGeometry& g) {
  cpu::binary(op, dtype, a, b, out, g);
}
void CpuBackend::binaryScalar(int, BinaryOp op, DType dtype, const void* a, double scalar, bool scalarFirst, void* out,
                              int64_t n) {
  cpu::binaryScalar(op, dtype, a, scalar, scalarFirst, out, n);
}
void CpuBackend::unary(int, UnaryOp op, DType dtype, const void* a, void* out, int64_t n, double p0, double p1) {
  cpu::unary(op, dtype, a, out, n, p0, p1);
}
void CpuBackend::compare(int, CompareOp op, DType dtype, const void* a, const void* b, void* out,
                         const BroadcastGeometry& g) {
  cpu::compare(op, dtype, a, b, out, g);
}
void CpuBackend::compareScalar(int, CompareOp op, DType dtype, const void* a, double scalar, void* out, int64_t n) {
  cpu::compareScalar(op, dtype, a, scalar, out, n);
}
void CpuBackend::stridedCopy(int, DType dtype, const void* src, void* dst, const BroadcastGeometry& g) {
  cpu::stridedCopy(dtype, src, dst, g);
}
void CpuBackend::fill(int, DType dtype, void* out, int64_t n, double value) { cpu::fill(dtype, out, n, value); }
void CpuBackend::reduceSum(int, DType inType, const void* in, DType outType, void* out, int64_t outer, int64_t size,
                           int64_t inner, bool mean) {
  cpu::reduceSum(inType, in, outType, out, outer, size, inner, mean);
}
void CpuBackend::reduceAlong(int, ReduceKind kind, DType inType, const void* in, DType outType, void* out,
                             int64_t outer, int64_t size, int64_t inner, double p0) {
  cpu::reduceAlong(kind, inType, in, outType, out, outer, size, inner, p0);
}
void CpuBackend::softmax(int, bool log, DType dtype, const void* in, void* out, int64_t outer, int64_t size,
                         int64_t inner) {
  cpu::softmax(log, dtype, in, out, outer, size, inner);
}
void CpuBackend::matmul(int, DType dtype, const void* a, const void* b, void* out, const MatmulShape& shape) {
  cpu::matmul(dtype, a, b, out, shape);
}
void CpuBackend::random(int, RandomKind kind, DType dtype, void* out, int64_t n, const RandomState& state, double a,
                        double b) {
  cpu::random(kind, dtype, out, n, state, a, b);
}
void CpuBackend::arange(int, DType dtype, void* out, int64_t n, double start, double step) {
  cpu::arange(dtype, out, n, start, step);
}
void CpuBackend::linspace(int, DType dtype, void* out, int64_t n, double start, double end) {
  cpu::linspace(dtype, out, n, start, end);
}
void CpuBackend::eye(int, DType dtype, void* out, int64_t rows, int64_t cols) { cpu::eye(dtype, out, rows, cols); }
void CpuBackend::where(int, DType dtype, const uint8_t* cond, const void* a, const void* b, void* out,
                       const WhereGeometry& g) {
  cpu::where(dtype, cond, a, b, out, g);
}
void CpuBackend::gather(int, DType dtype, const void* self, const int32_t* index, void* out, const ScatterGeometry& g) {
  cpu::gather(dtype, self, index, out, g);
}
void CpuBackend::scatterAdd(int, DType dtype, const void* input, const int32_t* index, const void* src, void* out,
                            int64_t selfNumel, const ScatterGeometry& g) {
  cpu::scatterAdd(dtype, input, index, src, out, selfNumel, g);
}
void CpuBackend::indexSelect(int, DType dtype, const void* self, const int32_t* index, void* out, const IndexShape& s) {
  cpu::indexSelect(dtype, self, index, out, s);
}
void CpuBackend::indexAdd(int, DType dtype, const void* input, const int32_t* index, const void* source, void* out,
                          const IndexShape& s) {
  cpu::indexAdd(dtype, input, index, source, out, s);
}
void CpuBackend::unfold(int, DType dtype, const void* in, void* out, const WindowShape& w, double padValue) {
  cpu::unfold(dtype, in, out, w, padValue);
}
void CpuBackend::fold(int, DType dtype, const void* in, void* out, const WindowShape& w) { cpu::fold(dtype, in, out, w); }
void CpuBackend::sgdStep(int, DType dtype, const TensorLists& t, const float* gradScale, const float* foundInf,
                         const SgdOptions& o) {
  cpu::sgdStep(dtype, t, gradScale, foundInf, o, false);
}
void CpuBackend::adamStep(int, DType dtype, const TensorLists& t, const float* gradScale, const float* foundInf,
                          const AdamOptions& o) {
  cpu::adamStep(dtype, t, gradScale, foundInf, o, false);
}
void CpuBackend::multiTensorNorm(int, DType dtype, const TensorLists& t, double p, float* out) {
  cpu::multiTensorNorm(dtype, t, p, out, false);
}
void CpuBackend::unscaleAndCheck(int, DType dtype, const TensorLists& t, const float* scale, float* foundInf,
                                 float* flags) {
  cpu::unscaleAndCheck(dtype, t, scale, foundInf, flags, false);
}
void CpuBackend::updateScale(int, float* scale, int32_t* tracker, int32_t* hysteresisLeft, const float* foundInf,
                             int32_t* stats, const ScaleUpdateOptions& o) {
  cpu::updateScale(scale, tracker, hysteresisLeft, foundInf, stats, o);
}
void CpuBackend::multiTensorScale(int, DType dtype, const TensorLists& t, const float* scale) {
  cpu::multiTensorScale(dtype, t, scale, false);
}
void CpuBackend::multiTensorClamp(int, DType dtype, const TensorLists& t, double lo, double hi) {
  cpu::multiTensorClamp(dtype, t, lo, hi, false);
}

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
    cpu::sgdStep(dtype, t, gradScale, foundInf, o, true);
  }
  void adamStep(int, DType dtype, const TensorLists& t, const float* gradScale, const float* foundInf,
                const AdamOptions& o) override {
    cpu::adamStep(dtype, t, gradScale, foundInf, o, true);
  }
  void multiTensorNorm(int, DType dtype, const TensorLists& t, double p, float* out) override {
    cpu::multiTensorNorm(dtype, t, p, out, true);
  }
  void unscaleAndCheck(int, DType dtype, const TensorLists& t, const float* scale, float* foundInf,
                       float* flags) override {
    cpu::unscaleAndCheck(dtype, t, scale, foundInf, flags, true);
  }
  void multiTensorScale(int, DType dtype, const TensorLists& t, const float* scale) override {
    cpu::multiTensorScale(dtype, t, scale, true);
  }
  void multiTensorClamp(int, DType dtype, const TensorLists& t, double lo, double hi) override {
    cpu::multiTensorClamp(dtype, t, lo, hi, true);
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
