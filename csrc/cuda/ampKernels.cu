// GradScaler's kernels on CUDA, with the CPU's arithmetic (core/ampMath.h): the scale, found-inf
// flags and counters are read and written on the device, so nothing waits for the GPU.
#include "../core/ampMath.h"
#include "cudaBackend.h"
#include "cudaCheck.h"
#include "multiTensor.cuh"

namespace mp::cuda {
namespace {

template <class Tag>
__global__ void unscaleKernel(Batch b, const float* scale, float* foundInf, float* flags) {
  using S = typename Tag::Storage;
  using M = typename Tag::Compute;
  // A scale whose inverse is not finite would make every gradient inf/NaN: the step overflows.
  if (scale && !usableScale(*scale)) {
    *foundInf = 1.0f;
    return;
  }
  const float inv = scale ? inverseScale(*scale) : 1.0f;
  const int i = blockIdx.y;
  auto* x = static_cast<S*>(b.ptr[0][i]);
  bool bad = false;
  MP_TENSOR_LOOP(k, b) {
    const M v = Tag::load(x[k]);
    bad |= !isFiniteValue(v);
    if (inv != 1.0f) x[k] = Tag::store(v * M(inv));
  }
  // Every writer stores the same 1.0f, so the race is benign (as in PyTorch's kernel).
  if (bad) {
    *foundInf = 1.0f;
    if (flags) flags[b.first + i] = 1.0f;
  }
}

__global__ void updateScaleKernel(float* scale, int32_t* tracker, int32_t* hysteresisLeft, const float* foundInf,
                                  int32_t* stats, ScaleUpdateOptions o) {
  updateScale(scale, tracker, hysteresisLeft, *foundInf, stats, o);
}

}  // namespace

void unscaleAndCheck(int device, DType dtype, const TensorLists& t, const float* scale, float* foundInf, float* flags) {
  cudaStream_t stream = enter(device);
  forEachBatch(t, [&](const Batch& b, unsigned blocks) {
    MP_DISPATCH_FLOATING(dtype, unscaleKernel<Tag><<<dim3(blocks, b.count), kThreads, 0, stream>>>(b, scale, foundInf, flags));
  });
  check(cudaGetLastError(), "unscaleAndCheck kernel launch");
}

void updateScale(int device, float* scale, int32_t* tracker, int32_t* hysteresisLeft, const float* foundInf,
                 int32_t* stats, const ScaleUpdateOptions& o) {
  cudaStream_t stream = enter(device);
  updateScaleKernel<<<1, 1, 0, stream>>>(scale, tracker, hysteresisLeft, foundInf, stats, o);
  check(cudaGetLastError(), "updateScale kernel launch");
}

}  // namespace mp::cuda
