// The CUDA backend's entry points, implemented by cudaRuntime.cu and the *Kernels.cu files and
// reached through the Backend of cudaDeviceBackend.cpp (core/backend.h), which lists them.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "../core/ampMath.h"
#include "../core/dtype.h"
#include "../core/indexingArgs.h"
#include "../core/kernelArgs.h"
#include "../core/optimizerMath.h"
#include "../core/reduceMath.h"

namespace mp::cuda {

bool compiled();
// Visible devices; 0 when there is no GPU or no driver (see unavailableReason()).
int deviceCount();
std::string unavailableReason();
// Compute capability (major * 10 + minor) of `device`; throws like requireDevice.
int computeCapability(int device);
// Throws ERR_CUDA_UNAVAILABLE / ERR_INVALID_DEVICE unless `device` can be used.
void requireDevice(int device);

void* allocate(int device, size_t bytes, bool zeroed);
// Frees later, on the next allocation or synchronize: a GC finalizer must not block on the GPU.
void deferFree(int device, void* ptr);
void copyHostToDevice(int device, void* dst, const void* src, size_t bytes);
void copyDeviceToHost(int device, void* dst, const void* src, size_t bytes);
void copyDeviceToDevice(int dstDevice, void* dst, int srcDevice, const void* src, size_t bytes);
void synchronize(int device);

void cast(int device, const void* src, DType srcType, void* dst, DType dstType, int64_t n);
void binary(int device, BinaryOp op, DType dtype, const void* a, const void* b, void* out, const BroadcastGeometry& g);
void binaryScalar(int device, BinaryOp op, DType dtype, const void* a, double scalar, bool scalarFirst, void* out,
                  int64_t n);
void unary(int device, UnaryOp op, DType dtype, const void* a, void* out, int64_t n, double p0, double p1);
void compare(int device, CompareOp op, DType dtype, const void* a, const void* b, void* out, const BroadcastGeometry& g);
void compareScalar(int device, CompareOp op, DType dtype, const void* a, double scalar, void* out, int64_t n);
void stridedCopy(int device, DType dtype, const void* src, void* dst, const BroadcastGeometry& g);
void fill(int device, DType dtype, void* out, int64_t n, double value);
void reduceSum(int device, DType inType, const void* in, DType outType, void* out, int64_t outer, int64_t size,
               int64_t inner, bool mean);
void reduceAlong(int device, ReduceKind kind, DType inType, const void* in, DType outType, void* out, int64_t outer,
                 int64_t size, int64_t inner, double p0);
void softmax(int device, bool log, DType dtype, const void* in, void* out, int64_t outer, int64_t size, int64_t inner);
void matmul(int device, DType dtype, const void* a, const void* b, void* out, const MatmulShape& shape);
void random(int device, RandomKind kind, DType dtype, void* out, int64_t n, const RandomState& state, double a,
            double b);
void arange(int device, DType dtype, void* out, int64_t n, double start, double step);
void linspace(int device, DType dtype, void* out, int64_t n, double start, double end);
void eye(int device, DType dtype, void* out, int64_t rows, int64_t cols);
// The indexing kernels of cpu/indexingKernels.h. Indices outside [0, size) are skipped (gather
// and indexSelect write 0 there): checking them would need a host sync. scatterAdd and indexAdd
// accumulate with atomics, so float sums depend on thread timing.
void where(int device, DType dtype, const uint8_t* cond, const void* a, const void* b, void* out, const WhereGeometry& g);
void gather(int device, DType dtype, const void* self, const int32_t* index, void* out, const ScatterGeometry& g);
void scatterAdd(int device, DType dtype, const void* input, const int32_t* index, const void* src, void* out,
                int64_t selfNumel, const ScatterGeometry& g);
void indexSelect(int device, DType dtype, const void* self, const int32_t* index, void* out, const IndexShape& s);
void indexAdd(int device, DType dtype, const void* input, const int32_t* index, const void* source, void* out,
              const IndexShape& s);
void unfold(int device, DType dtype, const void* in, void* out, const WindowShape& w, double padValue);
void fold(int device, DType dtype, const void* in, void* out, const WindowShape& w);
// Multi-tensor optimizer steps and clipping passes (see cpu/optimizerKernels.h); the device
// scalars are device pointers.
void sgdStep(int device, DType dtype, const TensorLists& t, const float* gradScale, const float* foundInf,
             const SgdOptions& o);
void adamStep(int device, DType dtype, const TensorLists& t, const float* gradScale, const float* foundInf,
              const AdamOptions& o);
void multiTensorNorm(int device, DType dtype, const TensorLists& t, double p, float* out);
// GradScaler (core/ampMath.h): see cpu/ampKernels.h.
void unscaleAndCheck(int device, DType dtype, const TensorLists& t, const float* scale, float* foundInf, float* flags);
void updateScale(int device, float* scale, int32_t* tracker, int32_t* hysteresisLeft, const float* foundInf,
                 int32_t* stats, const ScaleUpdateOptions& o);
void multiTensorScale(int device, DType dtype, const TensorLists& t, const float* scale);
void multiTensorClamp(int device, DType dtype, const TensorLists& t, double lo, double hi);

}  // namespace mp::cuda
