// Sum / mean along one axis on CUDA: one block per output for a contiguous axis, one thread per
// output otherwise. Accumulation types match the CPU (double for floats, 64-bit integers).
#include <type_traits>

#include "../core/elementTypes.h"
#include "../core/reduceMath.h"
#include "cudaBackend.h"
#include "cudaCheck.h"

namespace mp::cuda {
namespace {

template <class Tag>
using Wide = std::conditional_t<std::is_integral_v<typename Tag::Compute>, long long, double>;

template <class In, class Out>
__global__ void reduceContiguous(const typename In::Storage* in, typename Out::Storage* out, int64_t size, bool mean) {
  __shared__ Wide<In> partial[kThreads];
  const typename In::Storage* row = in + blockIdx.x * size;
  Wide<In> acc = 0;
  for (int64_t i = threadIdx.x; i < size; i += blockDim.x) acc += Wide<In>(In::load(row[i]));
  partial[threadIdx.x] = acc;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (int(threadIdx.x) < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    out[blockIdx.x] = sumResult<Out>(partial[0], mean, size);
  }
}

template <class In, class Out>
__global__ void reduceStrided(const typename In::Storage* in, typename Out::Storage* out, int64_t outer, int64_t size,
                              int64_t inner, bool mean) {
  MP_GRID_LOOP(t, outer * inner) {
    const int64_t o = t / inner, i = t % inner;
    Wide<In> acc = 0;
    for (int64_t r = 0; r < size; ++r) acc += Wide<In>(In::load(in[(o * size + r) * inner + i]));
    out[t] = sumResult<Out>(acc, mean, size);
  }
}

template <class In, class Out>
void launch(cudaStream_t stream, const void* in, void* out, int64_t outer, int64_t size, int64_t inner, bool mean) {
  const auto* src = static_cast<const typename In::Storage*>(in);
  auto* dst = static_cast<typename Out::Storage*>(out);
  if (inner == 1 && outer <= 2147483647) {
    reduceContiguous<In, Out><<<unsigned(outer), kThreads, 0, stream>>>(src, dst, size, mean);
  } else {
    reduceStrided<In, Out><<<blocksFor(outer * inner), kThreads, 0, stream>>>(src, dst, outer, size, inner, mean);
  }
}

template <class In>
void launchFrom(cudaStream_t stream, const void* in, DType outType, void* out, int64_t outer, int64_t size,
                int64_t inner, bool mean) {
  MP_DISPATCH_DTYPE(outType, launch<In, Tag>(stream, in, out, outer, size, inner, mean));
}

template <class In, class Out>
__global__ void reduceAlongKernel(ReduceKind kind, const typename In::Storage* in, typename Out::Storage* out,
                                  int64_t outer, int64_t size, int64_t inner, double p0) {
  MP_GRID_LOOP(t, outer * inner) {
    out[t] = Out::fromDouble(reduceColumn<In>(kind, in + (t / inner) * size * inner + t % inner, size, inner, p0));
  }
}

template <class In>
void launchAlongFrom(cudaStream_t stream, ReduceKind kind, const void* in, DType outType, void* out, int64_t outer,
                     int64_t size, int64_t inner, double p0) {
  MP_DISPATCH_DTYPE(outType, reduceAlongKernel<In, Tag><<<blocksFor(outer * inner), kThreads, 0, stream>>>(
                                 kind, static_cast<const typename In::Storage*>(in),
                                 static_cast<typename Tag::Storage*>(out), outer, size, inner, p0));
}

template <class Tag>
__global__ void softmaxKernel(bool log, const typename Tag::Storage* in, typename Tag::Storage* out, int64_t outer,
                              int64_t size, int64_t inner) {
  MP_GRID_LOOP(t, outer * inner) {
    const int64_t base = (t / inner) * size * inner + t % inner;
    softmaxColumn<Tag>(in + base, out + base, size, inner, log);
  }
}

}  // namespace

void reduceAlong(int device, ReduceKind kind, DType inType, const void* in, DType outType, void* out, int64_t outer,
                 int64_t size, int64_t inner, double p0) {
  if (outer * inner == 0) return;
  cudaStream_t stream = enter(device);
  MP_DISPATCH_DTYPE(inType, launchAlongFrom<Tag>(stream, kind, in, outType, out, outer, size, inner, p0));
  check(cudaGetLastError(), "reduce kernel launch");
}

void softmax(int device, bool log, DType dtype, const void* in, void* out, int64_t outer, int64_t size,
             int64_t inner) {
  if (outer * inner == 0) return;
  cudaStream_t stream = enter(device);
  MP_DISPATCH_DTYPE(dtype, softmaxKernel<Tag><<<blocksFor(outer * inner), kThreads, 0, stream>>>(
                               log, static_cast<const typename Tag::Storage*>(in),
                               static_cast<typename Tag::Storage*>(out), outer, size, inner));
  check(cudaGetLastError(), "softmax kernel launch");
}

void reduceSum(int device, DType inType, const void* in, DType outType, void* out, int64_t outer, int64_t size,
               int64_t inner, bool mean) {
  if (outer * inner == 0) return;
  cudaStream_t stream = enter(device);
  MP_DISPATCH_DTYPE(inType, launchFrom<Tag>(stream, in, outType, out, outer, size, inner, mean));
  check(cudaGetLastError(), "reduce kernel launch");
}

}  // namespace mp::cuda
