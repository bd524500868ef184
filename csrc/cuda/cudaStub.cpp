// The CUDA entry points of a build without the CUDA toolkit: CUDA reports as unavailable and every
// device operation raises ERR_CUDA_UNAVAILABLE.
#include "../core/errors.h"
#include "cudaBackend.h"

namespace mp::cuda {
namespace {
[[noreturn]] void unavailable() {
  throwMixprecError("ERR_CUDA_UNAVAILABLE",
                    "CUDA is not available: mixprec was built without the CUDA toolkit (rebuild with nvcc on PATH, "
                    "or MIXPREC_CUDA=1 to require it)");
}
}  // namespace

bool compiled() { return false; }
int deviceCount() { return 0; }
std::string unavailableReason() { return "mixprec was built without the CUDA toolkit"; }
void requireDevice(int) { unavailable(); }
int computeCapability(int) { unavailable(); }
void* allocate(int, size_t, bool) { unavailable(); }
void deferFree(int, void*) {}
void copyHostToDevice(int, void*, const void*, size_t) { unavailable(); }
void copyDeviceToHost(int, void*, const void*, size_t) { unavailable(); }
void copyDeviceToDevice(int, void*, int, const void*, size_t) { unavailable(); }
void synchronize(int) { unavailable(); }
void cast(int, const void*, DType, void*, DType, int64_t) { unavailable(); }
void binary(int, BinaryOp, DType, const void*, const void*, void*, const BroadcastGeometry&) { unavailable(); }
void binaryScalar(int, BinaryOp, DType, const void*, double, bool, void*, int64_t) { unavailable(); }
void unary(int, UnaryOp, DType, const void*, void*, int64_t, double, double) { unavailable(); }
void compare(int, CompareOp, DType, const void*, const void*, void*, const BroadcastGeometry&) { unavailable(); }
void compareScalar(int, CompareOp, DType, const void*, double, void*, int64_t) { unavailable(); }
void stridedCopy(int, DType, const void*, void*, const BroadcastGeometry&) { unavailable(); }
void fill(int, DType, void*, int64_t, double) { unavailable(); }
void reduceSum(int, DType, const void*, DType, void*, int64_t, int64_t, int64_t, bool) { unavailable(); }
void reduceAlong(int, ReduceKind, DType, const void*, DType, void*, int64_t, int64_t, int64_t, double) { unavailable(); }
void softmax(int, bool, DType, const void*, void*, int64_t, int64_t, int64_t) { unavailable(); }
void matmul(int, DType, const void*, const void*, void*, const MatmulShape&) { unavailable(); }
void random(int, RandomKind, DType, void*, int64_t, const RandomState&, double, double) { unavailable(); }
void arange(int, DType, void*, int64_t, double, double) { unavailable(); }
void linspace(int, DType, void*, int64_t, double, double) { unavailable(); }
void eye(int, DType, void*, int64_t, int64_t) { unavailable(); }
void where(int, DType, const uint8_t*, const void*, const void*, void*, const WhereGeometry&) { unavailable(); }
void gather(int, DType, const void*, const int32_t*, void*, const ScatterGeometry&) { unavailable(); }
void scatterAdd(int, DType, const void*, const int32_t*, const void*, void*, int64_t, const ScatterGeometry&) {
  unavailable();
}
void indexSelect(int, DType, const void*, const int32_t*, void*, const IndexShape&) { unavailable(); }
void indexAdd(int, DType, const void*, const int32_t*, const void*, void*, const IndexShape&) { unavailable(); }
void unfold(int, DType, const void*, void*, const WindowShape&, double) { unavailable(); }
void fold(int, DType, const void*, void*, const WindowShape&) { unavailable(); }
void sgdStep(int, DType, const TensorLists&, const float*, const float*, const SgdOptions&) { unavailable(); }
void adamStep(int, DType, const TensorLists&, const float*, const float*, const AdamOptions&) { unavailable(); }
void multiTensorNorm(int, DType, const TensorLists&, double, float*) { unavailable(); }
void unscaleAndCheck(int, DType, const TensorLists&, const float*, float*, float*) { unavailable(); }
void updateScale(int, float*, int32_t*, int32_t*, const float*, int32_t*, const ScaleUpdateOptions&) { unavailable(); }
void multiTensorScale(int, DType, const TensorLists&, const float*) { unavailable(); }
void multiTensorClamp(int, DType, const TensorLists&, double, double) { unavailable(); }

}  // namespace mp::cuda
