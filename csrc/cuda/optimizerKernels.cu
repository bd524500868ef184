// Multi-tensor optimizer steps and gradient-clipping passes on CUDA, with the CPU's arithmetic
// (core/optimizerMath.h). Tensors go to the kernels in batches of pointers passed by value
// (blockIdx.y picks the tensor); step counters, gradScale and foundInf are read on the device,
// so no call waits for the GPU.
#include <algorithm>

#include "../core/optimizerMath.h"
#include "cudaBackend.h"
#include "cudaCheck.h"
#include "multiTensor.cuh"

namespace mp::cuda {
namespace {

// As the CPU's (cpu/multiTensor.h): overflowed gradients, or a scale whose inverse is not finite.
__device__ bool skipped(const float* foundInf, const float* gradScale) {
  return (foundInf != nullptr && *foundInf != 0) || (gradScale != nullptr && !usableScale(*gradScale));
}
__device__ float scaleOf(const float* gradScale) { return gradScale ? *gradScale : 1.0f; }

template <class Tag>
__global__ void sgdKernel(Batch b, const float* gradScale, const float* foundInf, SgdOptions o) {
  using S = typename Tag::Storage;
  using M = typename Tag::Compute;
  if (skipped(foundInf, gradScale)) return;
  const int i = blockIdx.y;
  auto* p = static_cast<S*>(b.ptr[kSgdParams][i]);
  const auto* g = static_cast<const S*>(b.ptr[kSgdGrads][i]);
  auto* buf = static_cast<S*>(b.ptr[kSgdMomentum][i]);
  const bool first = buf != nullptr && *static_cast<const float*>(b.ptr[kSgdSteps][i]) == 0;
  const M scale = M(scaleOf(gradScale));
  MP_TENSOR_LOOP(k, b) {
    M param = Tag::load(p[k]);
    M m = buf ? Tag::load(buf[k]) : M(0);
    sgdUpdate<M>(param, Tag::load(g[k]) / scale, m, first, o);
    p[k] = Tag::store(param);
    if (buf) buf[k] = Tag::store(m);
  }
}

template <class Tag>
__global__ void adamKernel(Batch b, const float* gradScale, const float* foundInf, AdamOptions o) {
  using S = typename Tag::Storage;
  using M = typename Tag::Compute;
  if (skipped(foundInf, gradScale)) return;
  const int i = blockIdx.y;
  auto* p = static_cast<S*>(b.ptr[kAdamParams][i]);
  const auto* g = static_cast<const S*>(b.ptr[kAdamGrads][i]);
  auto* m = static_cast<S*>(b.ptr[kAdamExpAvg][i]);
  auto* v = static_cast<S*>(b.ptr[kAdamExpAvgSq][i]);
  auto* vmax = static_cast<S*>(b.ptr[kAdamMaxExpAvgSq][i]);
  const AdamStepFactors<M> f = adamStepFactors<M>(o, double(*static_cast<const float*>(b.ptr[kAdamSteps][i])) + 1);
  const M scale = M(scaleOf(gradScale));
  MP_TENSOR_LOOP(k, b) {
    M param = Tag::load(p[k]), expAvg = Tag::load(m[k]), expAvgSq = Tag::load(v[k]);
    M maxSq = vmax ? Tag::load(vmax[k]) : M(0);
    adamUpdate<M>(param, Tag::load(g[k]) / scale, expAvg, expAvgSq, maxSq, o, f);
    p[k] = Tag::store(param);
    m[k] = Tag::store(expAvg);
    v[k] = Tag::store(expAvgSq);
    if (vmax) vmax[k] = Tag::store(maxSq);
  }
}

// Runs after the update kernel on the same stream, so every block has read the old count.
__global__ void incrementSteps(Batch b, int list, const float* gradScale, const float* foundInf) {
  const int i = threadIdx.x;
  if (i < b.count && b.ptr[list][i] != nullptr && !skipped(foundInf, gradScale)) *static_cast<float*>(b.ptr[list][i]) += 1;
}

template <class Tag>
__global__ void normPartialKernel(Batch b, double p, double* partial) {
  __shared__ double acc[kThreads];
  const auto* x = static_cast<const typename Tag::Storage*>(b.ptr[0][blockIdx.y]);
  double a = 0;
  MP_TENSOR_LOOP(k, b) { a = normCombine(a, normTerm(double(Tag::load(x[k])), p), p); }
  acc[threadIdx.x] = a;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (int(threadIdx.x) < stride) acc[threadIdx.x] = normCombine(acc[threadIdx.x], acc[threadIdx.x + stride], p);
    __syncthreads();
  }
  if (threadIdx.x == 0) partial[blockIdx.y * gridDim.x + blockIdx.x] = acc[0];
}

__global__ void normFinishKernel(const double* partial, int64_t n, double p, float* out) {
  __shared__ double acc[kThreads];
  double a = 0;
  for (int64_t k = threadIdx.x; k < n; k += blockDim.x) a = normCombine(a, partial[k], p);
  acc[threadIdx.x] = a;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (int(threadIdx.x) < stride) acc[threadIdx.x] = normCombine(acc[threadIdx.x], acc[threadIdx.x + stride], p);
    __syncthreads();
  }
  if (threadIdx.x == 0) *out = float(normFinish(acc[0], p));
}

template <class Tag>
__global__ void scaleKernel(Batch b, const float* scale) {
  using M = typename Tag::Compute;
  auto* x = static_cast<typename Tag::Storage*>(b.ptr[0][blockIdx.y]);
  const M s = M(*scale);
  MP_TENSOR_LOOP(k, b) { x[k] = Tag::store(Tag::load(x[k]) * s); }
}

template <class Tag>
__global__ void clampKernel(Batch b, double lo, double hi) {
  using M = typename Tag::Compute;
  auto* x = static_cast<typename Tag::Storage*>(b.ptr[0][blockIdx.y]);
  MP_TENSOR_LOOP(k, b) { x[k] = Tag::store(clampValue<M>(Tag::load(x[k]), M(lo), M(hi))); }
}

}  // namespace

void sgdStep(int device, DType dtype, const TensorLists& t, const float* gradScale, const float* foundInf,
             const SgdOptions& o) {
  if (t.numel.empty()) return;
  cudaStream_t stream = enter(device);
  forEachBatch(t, [&](const Batch& b, unsigned blocks) {
    MP_DISPATCH_FLOATING(dtype, sgdKernel<Tag><<<dim3(blocks, b.count), kThreads, 0, stream>>>(b, gradScale, foundInf, o));
    if (o.momentum != 0) incrementSteps<<<1, kBatchTensors, 0, stream>>>(b, kSgdSteps, gradScale, foundInf);
  });
  check(cudaGetLastError(), "sgdStep kernel launch");
}

void adamStep(int device, DType dtype, const TensorLists& t, const float* gradScale, const float* foundInf,
              const AdamOptions& o) {
  if (t.numel.empty()) return;
  cudaStream_t stream = enter(device);
  forEachBatch(t, [&](const Batch& b, unsigned blocks) {
    MP_DISPATCH_FLOATING(dtype, adamKernel<Tag><<<dim3(blocks, b.count), kThreads, 0, stream>>>(b, gradScale, foundInf, o));
    incrementSteps<<<1, kBatchTensors, 0, stream>>>(b, kAdamSteps, gradScale, foundInf);
  });
  check(cudaGetLastError(), "adamStep kernel launch");
}

void multiTensorNorm(int device, DType dtype, const TensorLists& t, double p, float* out) {
  cudaStream_t stream = enter(device);
  int64_t slots = 0;
  forEachBatch(t, [&](const Batch& b, unsigned blocks) { slots += int64_t(b.count) * blocks; });
  auto* partial = static_cast<double*>(allocate(device, size_t(std::max<int64_t>(slots, 1)) * sizeof(double), true));
  int64_t used = 0;
  forEachBatch(t, [&](const Batch& b, unsigned blocks) {
    MP_DISPATCH_FLOATING(dtype, normPartialKernel<Tag><<<dim3(blocks, b.count), kThreads, 0, stream>>>(b, p, partial + used));
    used += int64_t(b.count) * blocks;
  });
  normFinishKernel<<<1, kThreads, 0, stream>>>(partial, slots, p, out);
  // The stream runs the kernels before the deferred free takes effect (frees wait for the device).
  deferFree(device, partial);
  check(cudaGetLastError(), "multiTensorNorm kernel launch");
}

void multiTensorScale(int device, DType dtype, const TensorLists& t, const float* scale) {
  if (t.numel.empty()) return;
  cudaStream_t stream = enter(device);
  forEachBatch(t, [&](const Batch& b, unsigned blocks) {
    MP_DISPATCH_FLOATING(dtype, scaleKernel<Tag><<<dim3(blocks, b.count), kThreads, 0, stream>>>(b, scale));
  });
  check(cudaGetLastError(), "multiTensorScale kernel launch");
}

void multiTensorClamp(int device, DType dtype, const TensorLists& t, double lo, double hi) {
  if (t.numel.empty()) return;
  cudaStream_t stream = enter(device);
  forEachBatch(t, [&](const Batch& b, unsigned blocks) {
    MP_DISPATCH_FLOATING(dtype, clampKernel<Tag><<<dim3(blocks, b.count), kThreads, 0, stream>>>(b, lo, hi));
  });
  check(cudaGetLastError(), "multiTensorClamp kernel launch");
}

}  // namespace mp::cuda
