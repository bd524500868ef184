// dtype conversion on CUDA, bit-identical to the CPU (both use core/floatBits.h).
#include "../core/elementTypes.h"
#include "cudaBackend.h"
#include "cudaCheck.h"

namespace mp::cuda {
namespace {

template <class S, class D>
__global__ void castKernel(const typename S::Storage* src, typename D::Storage* dst, int64_t n) {
  MP_GRID_LOOP(i, n) {
    dst[i] = D::fromDouble(S::toDouble(src[i]));
  }
}

// float32 <-> 16-bit without going through double (double is slow on many GPUs).
template <class Half>
__global__ void fromFloatKernel(const float* src, uint16_t* dst, int64_t n) {
  MP_GRID_LOOP(i, n) {
    dst[i] = Half::store(src[i]);
  }
}
template <class Half>
__global__ void toFloatKernel(const uint16_t* src, float* dst, int64_t n) {
  MP_GRID_LOOP(i, n) {
    dst[i] = Half::load(src[i]);
  }
}

template <class S>
void castFrom(cudaStream_t stream, const void* src, void* dst, DType dstType, int64_t n) {
  MP_DISPATCH_DTYPE(dstType, castKernel<S, Tag><<<blocksFor(n), kThreads, 0, stream>>>(
                                 static_cast<const typename S::Storage*>(src), static_cast<typename Tag::Storage*>(dst), n));
}

}  // namespace

void cast(int device, const void* src, DType srcType, void* dst, DType dstType, int64_t n) {
  if (n == 0) return;
  cudaStream_t stream = enter(device);
  const auto* f = static_cast<const float*>(src);
  const auto* h = static_cast<const uint16_t*>(src);
  if (srcType == dstType) {
    check(cudaMemcpyAsync(dst, src, size_t(n) * elementSize(srcType), cudaMemcpyDeviceToDevice, stream), "cast copy");
    return;
  } else if (srcType == DType::Float32 && dstType == DType::Float16) {
    fromFloatKernel<F16Tag><<<blocksFor(n), kThreads, 0, stream>>>(f, static_cast<uint16_t*>(dst), n);
  } else if (srcType == DType::Float32 && dstType == DType::BFloat16) {
    fromFloatKernel<BF16Tag><<<blocksFor(n), kThreads, 0, stream>>>(f, static_cast<uint16_t*>(dst), n);
  } else if (srcType == DType::Float16 && dstType == DType::Float32) {
    toFloatKernel<F16Tag><<<blocksFor(n), kThreads, 0, stream>>>(h, static_cast<float*>(dst), n);
  } else if (srcType == DType::BFloat16 && dstType == DType::Float32) {
    toFloatKernel<BF16Tag><<<blocksFor(n), kThreads, 0, stream>>>(h, static_cast<float*>(dst), n);
  } else {
    MP_DISPATCH_DTYPE(srcType, castFrom<Tag>(stream, src, dst, dstType, n));
  }
  check(cudaGetLastError(), "cast kernel launch");
}

}  // namespace mp::cuda
