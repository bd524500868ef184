// The one interface every device type implements. The operations are listed once, in
// MP_BACKEND_OPS, and the abstract class, each concrete backend's declarations and the
// unavailable backend are all generated from that list, so a backend missing an operation does
// not build. Bindings pick a backend with backendFor() and never name a device type's kernels.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "ampMath.h"
#include "dtype.h"
#include "indexingArgs.h"
#include "kernelArgs.h"
#include "optimizerMath.h"
#include "reduceMath.h"

namespace mp {

enum class DeviceType : int { Cpu, Cuda, Count };
constexpr int kNumDeviceTypes = int(DeviceType::Count);
// Devices of one type the memory statistics and CUDA streams have room for.
constexpr int kMaxDevicesPerType = 16;

struct Device {
  DeviceType type = DeviceType::Cpu;
  int index = 0;
  bool operator==(const Device& o) const { return type == o.type && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
};

// 'cpu' / 'cuda', as the JS side names device types.
const char* deviceTypeName(DeviceType type);

// X(returnType, name, (parameters), (arguments)). `device` is the index within the backend's type.
// Every operation here raises ERR_CUDA_UNAVAILABLE-style errors on an unavailable backend.
#define MP_BACKEND_OPS(X)                                                                                              \
  X(void, requireDevice, (int device), (device))                                                                       \
  X(int, computeCapability, (int device), (device))                                                                    \
  X(void*, allocate, (int device, size_t bytes, bool zeroed), (device, bytes, zeroed))                                \
  X(void, copyHostToDevice, (int device, void* dst, const void* src, size_t bytes), (device, dst, src, bytes))        \
  X(void, copyDeviceToHost, (int device, void* dst, const void* src, size_t bytes), (device, dst, src, bytes))        \
  X(void, copyDeviceToDevice, (int dstDevice, void* dst, int srcDevice, const void* src, size_t bytes),                \
    (dstDevice, dst, srcDevice, src, bytes))                                                                           \
  X(void, synchronize, (int device), (device))                                                                         \
  X(void, cast, (int device, const void* src, DType srcType, void* dst, DType dstType, int64_t n),                     \
    (device, src, srcType, dst, dstType, n))                                                                           \
  X(void, binary,                                                                                                      \
    (int device, BinaryOp op, DType dtype, const void* a, const void* b, void* out, const BroadcastGeometry& g),        \
    (device, op, dtype, a, b, out, g))                                                                                 \
  X(void, binaryScalar,                                                                                                \
    (int device, BinaryOp op, DType dtype, const void* a, double scalar, bool scalarFirst, void* out, int64_t n),      \
    (device, op, dtype, a, scalar, scalarFirst, out, n))                                                               \
  X(void, unary, (int device, UnaryOp op, DType dtype, const void* a, void* out, int64_t n, double p0, double p1),     \
    (device, op, dtype, a, out, n, p0, p1))                                                                            \
  X(void, compare,                                                                                                     \
    (int device, CompareOp op, DType dtype, const void* a, const void* b, void* out, const BroadcastGeometry& g),       \
    (device, op, dtype, a, b, out, g))                                                                                 \
  X(void, compareScalar, (int device, CompareOp op, DType dtype, const void* a, double scalar, void* out, int64_t n),   \
    (device, op, dtype, a, scalar, out, n))                                                                            \
  X(void, stridedCopy, (int device, DType dtype, const void* src, void* dst, const BroadcastGeometry& g),              \
    (device, dtype, src, dst, g))                                                                                      \
  X(void, fill, (int device, DType dtype, void* out, int64_t n, double value), (device, dtype, out, n, value))         \
  X(void, reduceSum,                                                                                                   \
    (int device, DType inType, const void* in, DType outType, void* out, int64_t outer, int64_t size, int64_t inner,  \
     bool mean),                                                                                                       \
    (device, inType, in, outType, out, outer, size, inner, mean))                                                      \
  X(void, reduceAlong,                                                                                                 \
    (int device, ReduceKind kind, DType inType, const void* in, DType outType, void* out, int64_t outer,              \
     int64_t size, int64_t inner, double p0),                                                                          \
    (device, kind, inType, in, outType, out, outer, size, inner, p0))                                                  \
  X(void, softmax,                                                                                                     \
    (int device, bool log, DType dtype, const void* in, void* out, int64_t outer, int64_t size, int64_t inner),       \
    (device, log, dtype, in, out, outer, size, inner))                                                                 \
  X(void, matmul, (int device, DType dtype, const void* a, const void* b, void* out, const MatmulShape& shape),        \
    (device, dtype, a, b, out, shape))                                                                                 \
  X(void, random,                                                                                                      \
    (int device, RandomKind kind, DType dtype, void* out, int64_t n, const RandomState& state, double a, double b),    \
    (device, kind, dtype, out, n, state, a, b))                                                                        \
  X(void, arange, (int device, DType dtype, void* out, int64_t n, double start, double step),                          \
    (device, dtype, out, n, start, step))                                                                              \
  X(void, linspace, (int device, DType dtype, void* out, int64_t n, double start, double end),                         \
    (device, dtype, out, n, start, end))                                                                               \
  X(void, eye, (int device, DType dtype, void* out, int64_t rows, int64_t cols), (device, dtype, out, rows, cols))     \
  X(void, where,                                                                                                       \
    (int device, DType dtype, const uint8_t* cond, const void* a, const void* b, void* out, const WhereGeometry& g),   \
    (device, dtype, cond, a, b, out, g))                                                                               \
  X(void, gather,                                                                                                      \
    (int device, DType dtype, const void* self, const int32_t* index, void* out, const ScatterGeometry& g),            \
    (device, dtype, self, index, out, g))                                                                              \
  X(void, scatterAdd,                                                                                                  \
    (int device, DType dtype, const void* input, const int32_t* index, const void* src, void* out, int64_t selfNumel,  \
     const ScatterGeometry& g),                                                                                        \
    (device, dtype, input, index, src, out, selfNumel, g))                                                             \
  X(void, indexSelect,                                                                                                 \
    (int device, DType dtype, const void* self, const int32_t* index, void* out, const IndexShape& s),                 \
    (device, dtype, self, index, out, s))                                                                              \
  X(void, indexAdd,                                                                                                    \
    (int device, DType dtype, const void* input, const int32_t* index, const void* source, void* out,                 \
     const IndexShape& s),                                                                                             \
    (device, dtype, input, index, source, out, s))                                                                     \
  X(void, unfold, (int device, DType dtype, const void* in, void* out, const WindowShape& w, double padValue),         \
    (device, dtype, in, out, w, padValue))                                                                             \
  X(void, fold, (int device, DType dtype, const void* in, void* out, const WindowShape& w),                            \
    (device, dtype, in, out, w))                                                                                       \
  X(void, sgdStep,                                                                                                     \
    (int device, DType dtype, const TensorLists& t, const float* gradScale, const float* foundInf,                    \
     const SgdOptions& o),                                                                                             \
    (device, dtype, t, gradScale, foundInf, o))                                                                        \
  X(void, adamStep,                                                                                                    \
    (int device, DType dtype, const TensorLists& t, const float* gradScale, const float* foundInf,                    \
     const AdamOptions& o),                                                                                            \
    (device, dtype, t, gradScale, foundInf, o))                                                                        \
  X(void, multiTensorNorm, (int device, DType dtype, const TensorLists& t, double p, float* out),                      \
    (device, dtype, t, p, out))                                                                                        \
  X(void, unscaleAndCheck,                                                                                             \
    (int device, DType dtype, const TensorLists& t, const float* scale, float* foundInf, float* flags),               \
    (device, dtype, t, scale, foundInf, flags))                                                                        \
  X(void, updateScale,                                                                                                 \
    (int device, float* scale, int32_t* tracker, int32_t* hysteresisLeft, const float* foundInf, int32_t* stats,      \
     const ScaleUpdateOptions& o),                                                                                     \
    (device, scale, tracker, hysteresisLeft, foundInf, stats, o))                                                      \
  X(void, multiTensorScale, (int device, DType dtype, const TensorLists& t, const float* scale),                       \
    (device, dtype, t, scale))                                                                                         \
  X(void, multiTensorClamp, (int device, DType dtype, const TensorLists& t, double lo, double hi),                     \
    (device, dtype, t, lo, hi))

#define MP_BACKEND_PURE(ret, name, params, args) virtual ret name params = 0;
#define MP_BACKEND_OVERRIDE(ret, name, params, args) ret name params override;

class Backend {
 public:
  virtual ~Backend() = default;
  // Whether this backend was compiled in, and how many devices it sees (0: see unavailableReason).
  virtual bool compiled() const = 0;
  virtual int deviceCount() = 0;
  virtual std::string unavailableReason() = 0;
  // Whether the host can read and write this backend's memory through plain pointers.
  virtual bool hostAccessible() const = 0;
  // Frees `ptr` (an allocation of `bytes`) now or later but never blocks and never throws: GC
  // finalizers call it.
  virtual void deferFree(int device, void* ptr, size_t bytes) = 0;
  // The position of the first of `n` indices outside [0, bound), or -1: always -1 where checking
  // would wait on the device (the kernels then skip out-of-range indices).
  virtual int64_t firstIndexOutOfRange(int device, const int32_t* index, int64_t n, int64_t bound) = 0;
  MP_BACKEND_OPS(MP_BACKEND_PURE)
};

// The backend of a device type; a type whose toolkit was not compiled in gets one that reports
// itself unavailable and raises on every operation.
Backend& backendFor(DeviceType type);
inline Backend& backendFor(const Device& device) { return backendFor(device.type); }

// Each device type's backend, defined next to its implementation; backend.cpp tables them.
Backend& cpuBackend();
Backend& cudaBackend();
// The CPU backend with the scalar references swapped in where a kernel has one (cast, matmul,
// the multi-tensor passes): what the test surface's *Reference functions run.
Backend& cpuReferenceBackend();

}  // namespace mp
