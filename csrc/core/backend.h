// The one interface every device type implements. The operations are listed once, in
// MP_BACKEND_DEVICE_OPS and MP_BACKEND_KERNELS, and the abstract class, each concrete backend's
// declarations, the CPU and CUDA kernels' declarations, the kernel forwarders and the
// unavailable backend are all generated from those lists, so a backend missing an operation does
// not build. Bindings pick a backend with backendFor() and never name a device type's kernels.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "ampMath.h"
#include "attentionMath.h"
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

// The device and memory operations, which each backend writes by hand:
// X(returnType, name, (parameters), (arguments)), `device` being the index within the backend's
// type. These and the kernels raise ERR_CUDA_UNAVAILABLE-style errors on an unavailable backend.
#define MP_BACKEND_DEVICE_OPS(X)                                                                                       \
  X(void, requireDevice, (int device), (device))                                                                       \
  X(int, computeCapability, (int device), (device))                                                                    \
  X(void*, allocate, (int device, size_t bytes, bool zeroed), (device, bytes, zeroed))                                \
  X(void, copyHostToDevice, (int device, void* dst, const void* src, size_t bytes), (device, dst, src, bytes))        \
  X(void, copyDeviceToHost, (int device, void* dst, const void* src, size_t bytes), (device, dst, src, bytes))        \
  X(void, copyDeviceToDevice, (int dstDevice, void* dst, int srcDevice, const void* src, size_t bytes),                \
    (dstDevice, dst, srcDevice, src, bytes))                                                                           \
  X(void, synchronize, (int device), (device))

// The kernels: X(name, (parameters), (arguments)), without the device, which every backend's
// method takes first. Each device type defines them in its kernel files, `cpu::name(parameters)`
// and `cuda::name(int device, parameters)`; their declarations (cpu/cpuKernels.h,
// cuda/cudaBackend.h), Backend's methods and the forwarders are all generated from this list, so
// a kernel whose definition does not match its line does not build. The contract every device
// type keeps (type promotion is decided in TypeScript; 16-bit values compute in float32 or wider
// and are rounded once when stored):
// - binary / compare: out = a (op) b broadcast by g (compare writes bool); binaryScalar: out =
//   a (op) scalar, or scalar (op) a when scalarFirst; compareScalar: the scalar is first rounded
//   into dtype. unary: p0 / p1 are the op's parameters (core/unaryMath.h); integer dtypes take
//   integer ops only.
// - stridedCopy: dst[index . strideB] = src[index . strideA] over g.shape (broadcast, permute,
//   slice, cat), bit patterns unchanged.
// - reduceSum / reduceAlong / softmax: input viewed as [outer, size, inner], output [outer, inner]
//   (softmax: the input's shape and dtype). reduceSum accumulates floats in double and integers
//   in 64 bits, written as outType (divided by size first with mean); reduceAlong is prod, max,
//   min, argmax/argmin (int32 indices), logsumexp, var/std (p0 = correction) in double
//   (core/reduceMath.h), size >= 1 for max..argmin.
// - matmul: out[batch] = A[batch] (m x k) @ B[batch] (k x n), operands addressed by strides,
//   batch dims broadcast; accumulates in float32 (16-bit and float32), double (float64) or 64-bit
//   integers (int32).
// - random: uniform [a, b), normal (mean a, std b), integer [a, b) with b - a <= 2^32, from the
//   counter-based Philox generator. arange / linspace / eye compute in double and round once;
//   linspace is PyTorch's symmetric form (both ends exact).
// - where: out = cond ? a : b (a bit copy). gather / indexSelect read along g.dim / the middle of
//   [outer, size, inner]; scatterAdd / indexAdd copy input to out, then add src / source at the
//   indices. unfold (im2col, padding reads padValue) and fold (col2im, columns over the padding
//   dropped). Index tensors are int32; the CPU checks them first with firstIndexOutOfRange,
//   devices that cannot check without a sync skip out-of-range indices (gather and indexSelect
//   write 0 there).
// - conv2dForward / conv2dBackwardInput / conv2dBackwardWeight: a 2-d convolution over
//   ConvShape for the float dtypes without materialising the whole batch's im2col: forward
//   y = weight * x (+ bias), backward dx and dweight, products and sums in float32 (float64 for
//   float64) and 16-bit results rounded once. The CPU implements them; CUDA refuses (lib runs CUDA
//   convolutions as unfold + matmul).
// - maxPool2dForward / maxPool2dBackward: max pooling of each of w.planes images over the
//   window (padding reads -inf) for the float dtypes: forward writes each window's first maximum
//   (NaN wins; the element's bits as stored) and its slot ki * kw + kj in the window (int32);
//   backward writes dx = the gradients summed at the pixels the slots name, slot by slot in
//   output order, in the op-math type (float64 for float64, else float32), rounded once: the
//   bits of gather's backward (scatterAdd) then fold. The CPU implements them; CUDA refuses (lib
//   runs CUDA pooling as unfold, argmax and gather).
// - sgdStep / adamStep: one multi-tensor step over every tensor of one dtype; gradScale (grads
//   are divided by it) and foundInf (non-zero: change nothing) are float32 device scalars or
//   nullptr. multiTensorNorm: out = the p-norm (p may be INFINITY) of all of lists[0], float32.
//   multiTensorScale / multiTensorClamp: lists[0] times *scale / clamped to [lo, hi], in place.
// - unscaleAndCheck: a non-finite element of lists[0] sets *foundInf (and flags[i] for tensor i,
//   when flags is given) to 1; values are multiplied by 1 / *scale in place unless scale is
//   nullptr (check only) or the inverse is exactly 1; never writes 0 (the caller zeroes the
//   flags). updateScale: GradScaler's scale update (core/ampMath.h).
// - attentionForward / attentionBackward: fused softmax(q k^T * scale + mask) v over
//   core/attentionMath.h's AttentionShape, softmax statistics and accumulators in float32 (float64
//   for float64) whatever the dtype; forward writes out and the row logsumexp, backward recomputes
//   the weights from it and writes gradQ, gradK, gradV (dropout regenerated from its counters).
// The fused kernels (core/fusedMath.h), over contiguous rows x [rows, cols]; weight, bias, mean,
// rstd, losses, lse, scale, dweight and dbias are of the op-math type (float32, or float64 for
// float64 data) and may be nullptr where optional:
// - normForward / normBackward: LayerNorm (rms false) or RMSNorm over each row, saving mean and
//   rstd; backward writes dx and, when given, the column sums dweight and dbias.
// - biasGelu: y = gelu(x + bias[col]) (bias of x's dtype, optional); geluBackward: dx = dy *
//   gelu'(x + bias[col]).
// - crossEntropyForward: per-row loss and logsumexp of logits against int32 class indices (0 and
//   lse 0 for ignoreIndex rows); the CPU sets *firstBad to the first row whose target is out of
//   range (-1 if none) and writes nothing else then; CUDA writes NaN losses for such rows.
//   crossEntropyBackward: dlogits = scale[row] * (softmax - (1 - s) onehot - s / cols).
#define MP_BACKEND_FUSED_KERNELS(X)                                                                                    \
  X(normForward, (bool rms, DType dtype, const void* x, const void* weight, const void* bias, void* y, void* mean,     \
    void* rstd, int64_t rows, int64_t cols, double eps),                                                               \
    (rms, dtype, x, weight, bias, y, mean, rstd, rows, cols, eps))                                                     \
  X(normBackward, (bool rms, DType dtype, const void* dy, const void* x, const void* weight, const void* mean,         \
    const void* rstd, void* dx, void* dweight, void* dbias, int64_t rows, int64_t cols),                              \
    (rms, dtype, dy, x, weight, mean, rstd, dx, dweight, dbias, rows, cols))                                          \
  X(biasGelu, (bool tanhForm, DType dtype, const void* x, const void* bias, void* y, int64_t rows, int64_t cols),     \
    (tanhForm, dtype, x, bias, y, rows, cols))                                                                         \
  X(geluBackward, (bool tanhForm, DType dtype, const void* x, const void* bias, const void* dy, void* dx,             \
    int64_t rows, int64_t cols),                                                                                       \
    (tanhForm, dtype, x, bias, dy, dx, rows, cols))                                                                    \
  X(crossEntropyForward, (DType dtype, const void* logits, const int32_t* target, void* losses, void* lse,            \
    int64_t rows, int64_t cols, int32_t ignoreIndex, double smoothing, int64_t* firstBad),                            \
    (dtype, logits, target, losses, lse, rows, cols, ignoreIndex, smoothing, firstBad))                               \
  X(crossEntropyBackward, (DType dtype, const void* logits, const int32_t* target, const void* lse,                  \
    const void* scale, void* dlogits, int64_t rows, int64_t cols, int32_t ignoreIndex, double smoothing),             \
    (dtype, logits, target, lse, scale, dlogits, rows, cols, ignoreIndex, smoothing))

#define MP_BACKEND_KERNELS(X)                                                                                          \
  X(cast, (const void* src, DType srcType, void* dst, DType dstType, int64_t n), (src, srcType, dst, dstType, n))      \
  X(binary, (BinaryOp op, DType dtype, const void* a, const void* b, void* out, const BroadcastGeometry& g),           \
    (op, dtype, a, b, out, g))                                                                                         \
  X(binaryScalar, (BinaryOp op, DType dtype, const void* a, double scalar, bool scalarFirst, void* out, int64_t n),    \
    (op, dtype, a, scalar, scalarFirst, out, n))                                                                       \
  X(unary, (UnaryOp op, DType dtype, const void* a, void* out, int64_t n, double p0, double p1),                       \
    (op, dtype, a, out, n, p0, p1))                                                                                    \
  X(compare, (CompareOp op, DType dtype, const void* a, const void* b, void* out, const BroadcastGeometry& g),         \
    (op, dtype, a, b, out, g))                                                                                         \
  X(compareScalar, (CompareOp op, DType dtype, const void* a, double scalar, void* out, int64_t n),                    \
    (op, dtype, a, scalar, out, n))                                                                                    \
  X(stridedCopy, (DType dtype, const void* src, void* dst, const BroadcastGeometry& g), (dtype, src, dst, g))          \
  X(fill, (DType dtype, void* out, int64_t n, double value), (dtype, out, n, value))                                   \
  X(reduceSum, (DType inType, const void* in, DType outType, void* out, int64_t outer, int64_t size,                   \
    int64_t inner, bool mean),                                                                                         \
    (inType, in, outType, out, outer, size, inner, mean))                                                              \
  X(reduceAlong, (ReduceKind kind, DType inType, const void* in, DType outType, void* out, int64_t outer,              \
    int64_t size, int64_t inner, double p0),                                                                           \
    (kind, inType, in, outType, out, outer, size, inner, p0))                                                          \
  X(softmax, (bool log, DType dtype, const void* in, void* out, int64_t outer, int64_t size, int64_t inner),           \
    (log, dtype, in, out, outer, size, inner))                                                                         \
  X(matmul, (DType dtype, const void* a, const void* b, void* out, const MatmulShape& shape),                          \
    (dtype, a, b, out, shape))                                                                                         \
  X(random, (RandomKind kind, DType dtype, void* out, int64_t n, const RandomState& state, double a, double b),        \
    (kind, dtype, out, n, state, a, b))                                                                                \
  X(arange, (DType dtype, void* out, int64_t n, double start, double step), (dtype, out, n, start, step))              \
  X(linspace, (DType dtype, void* out, int64_t n, double start, double end), (dtype, out, n, start, end))              \
  X(eye, (DType dtype, void* out, int64_t rows, int64_t cols), (dtype, out, rows, cols))                               \
  X(where, (DType dtype, const uint8_t* cond, const void* a, const void* b, void* out, const WhereGeometry& g),        \
    (dtype, cond, a, b, out, g))                                                                                       \
  X(gather, (DType dtype, const void* self, const int32_t* index, void* out, const ScatterGeometry& g),                \
    (dtype, self, index, out, g))                                                                                      \
  X(scatterAdd, (DType dtype, const void* input, const int32_t* index, const void* src, void* out,                     \
    int64_t selfNumel, const ScatterGeometry& g),                                                                      \
    (dtype, input, index, src, out, selfNumel, g))                                                                     \
  X(indexSelect, (DType dtype, const void* self, const int32_t* index, void* out, const IndexShape& s),                \
    (dtype, self, index, out, s))                                                                                      \
  X(indexAdd, (DType dtype, const void* input, const int32_t* index, const void* source, void* out,                    \
    const IndexShape& s),                                                                                              \
    (dtype, input, index, source, out, s))                                                                             \
  X(unfold, (DType dtype, const void* in, void* out, const WindowShape& w, double padValue),                           \
    (dtype, in, out, w, padValue))                                                                                     \
  X(fold, (DType dtype, const void* in, void* out, const WindowShape& w), (dtype, in, out, w))                         \
  X(conv2dForward, (DType dtype, const void* x, const void* weight, const void* bias, void* y, const ConvShape& s),    \
    (dtype, x, weight, bias, y, s))                                                                                    \
  X(conv2dBackwardInput, (DType dtype, const void* dy, const void* weight, void* dx, const ConvShape& s),              \
    (dtype, dy, weight, dx, s))                                                                                        \
  X(conv2dBackwardWeight, (DType dtype, const void* x, const void* dy, void* dweight, const ConvShape& s),             \
    (dtype, x, dy, dweight, s))                                                                                        \
  X(maxPool2dForward, (DType dtype, const void* x, void* y, int32_t* slots, const WindowShape& w),                     \
    (dtype, x, y, slots, w))                                                                                           \
  X(maxPool2dBackward, (DType dtype, const void* dy, const int32_t* slots, void* dx, const WindowShape& w),            \
    (dtype, dy, slots, dx, w))                                                                                         \
  X(sgdStep, (DType dtype, const TensorLists& t, const float* gradScale, const float* foundInf, const SgdOptions& o),  \
    (dtype, t, gradScale, foundInf, o))                                                                                \
  X(adamStep, (DType dtype, const TensorLists& t, const float* gradScale, const float* foundInf,                       \
    const AdamOptions& o),                                                                                             \
    (dtype, t, gradScale, foundInf, o))                                                                                \
  X(multiTensorNorm, (DType dtype, const TensorLists& t, double p, float* out), (dtype, t, p, out))                    \
  X(unscaleAndCheck, (DType dtype, const TensorLists& t, const float* scale, float* foundInf, float* flags),           \
    (dtype, t, scale, foundInf, flags))                                                                                \
  X(updateScale, (float* scale, int32_t* tracker, int32_t* hysteresisLeft, const float* foundInf,                      \
    int32_t* stats, const ScaleUpdateOptions& o),                                                                      \
    (scale, tracker, hysteresisLeft, foundInf, stats, o))                                                              \
  X(multiTensorScale, (DType dtype, const TensorLists& t, const float* scale), (dtype, t, scale))                      \
  X(multiTensorClamp, (DType dtype, const TensorLists& t, double lo, double hi), (dtype, t, lo, hi))                  \
  X(attentionForward, (DType dtype, const void* q, const void* k, const void* v, const void* mask, void* out,         \
    void* lse, const AttentionShape& s),                                                                               \
    (dtype, q, k, v, mask, out, lse, s))                                                                               \
  X(attentionBackward, (DType dtype, const void* q, const void* k, const void* v, const void* mask, const void* out,  \
    const void* gradOut, const void* lse, void* gradQ, void* gradK, void* gradV, const AttentionShape& s),             \
    (dtype, q, k, v, mask, out, gradOut, lse, gradQ, gradK, gradV, s))                                                 \
  MP_BACKEND_FUSED_KERNELS(X)

// Expands a parenthesised parameter or argument list of the lists above without its parentheses.
#define MP_UNPAREN(...) __VA_ARGS__

#define MP_BACKEND_DEVICE_PURE(ret, name, params, args) virtual ret name params = 0;
#define MP_BACKEND_DEVICE_OVERRIDE(ret, name, params, args) ret name params override;
#define MP_BACKEND_KERNEL_PURE(name, params, args) virtual void name(int device, MP_UNPAREN params) = 0;

// What a backend's runtime says about its driver, for lib/cudaStatus.ts to explain an unusable
// backend: the runtime and driver versions (CUDA's 1000 * major + 10 * minor; the driver's is 0
// when none is installed) and the error name of the device-count query ("" when it succeeded).
struct DriverReport {
  int runtimeVersion = 0;
  int driverVersion = 0;
  std::string error;
};

class Backend {
 public:
  virtual ~Backend() = default;
  // Whether this backend was compiled in, and how many devices it sees (0: see unavailableReason).
  virtual bool compiled() const = 0;
  virtual int deviceCount() = 0;
  virtual std::string unavailableReason() = 0;
  // Backends without a separate driver (the CPU, a type not compiled in) report nothing.
  virtual DriverReport driverReport() { return {}; }
  // Whether the host can read and write this backend's memory through plain pointers.
  virtual bool hostAccessible() const = 0;
  // Frees `ptr` (an allocation of `bytes`) now or later but never blocks and never throws: GC
  // finalizers call it.
  virtual void deferFree(int device, void* ptr, size_t bytes) = 0;
  // The position of the first of `n` indices outside [0, bound), or -1: always -1 where checking
  // would wait on the device (the kernels then skip out-of-range indices).
  virtual int64_t firstIndexOutOfRange(int device, const int32_t* index, int64_t n, int64_t bound) = 0;
  MP_BACKEND_DEVICE_OPS(MP_BACKEND_DEVICE_PURE)
  MP_BACKEND_KERNELS(MP_BACKEND_KERNEL_PURE)
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
