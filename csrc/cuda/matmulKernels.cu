// Batched matrix multiply on CUDA: 16x16 shared-memory tiles, float32 accumulation (double for
// float64). A first, correct kernel; tensor-core GEMMs are a later issue.
#include "../core/binaryMath.h"
#include "../core/elementTypes.h"
#include "cudaBackend.h"
#include "cudaCheck.h"

namespace mp::cuda {
namespace {

constexpr int kTile = 16;

template <class Tag>
__global__ void matmulKernel(const typename Tag::Storage* a, const typename Tag::Storage* b, typename Tag::Storage* out,
                             MatmulShape s) {
  using Acc = OpMath<Tag>;
  __shared__ Acc ta[kTile][kTile];
  __shared__ Acc tb[kTile][kTile];
  int64_t offA, offB;
  broadcastOffsets(s.batch, blockIdx.z, offA, offB);
  const int64_t row = int64_t(blockIdx.y) * kTile + threadIdx.y;
  const int64_t col = int64_t(blockIdx.x) * kTile + threadIdx.x;
  Acc acc = 0;
  for (int64_t k0 = 0; k0 < s.k; k0 += kTile) {
    const int64_t ka = k0 + threadIdx.x, kb = k0 + threadIdx.y;
    ta[threadIdx.y][threadIdx.x] =
        row < s.m && ka < s.k ? Acc(Tag::load(a[offA + row * s.a.rowStride + ka * s.a.colStride])) : Acc(0);
    tb[threadIdx.y][threadIdx.x] =
        kb < s.k && col < s.n ? Acc(Tag::load(b[offB + kb * s.b.rowStride + col * s.b.colStride])) : Acc(0);
    __syncthreads();
    for (int kk = 0; kk < kTile; ++kk) acc += ta[threadIdx.y][kk] * tb[kk][threadIdx.x];
    __syncthreads();
  }
  if (row < s.m && col < s.n) {
    out[int64_t(blockIdx.z) * s.m * s.n + row * s.n + col] = Tag::store(typename Tag::Compute(acc));
  }
}

}  // namespace

void matmul(int device, DType dtype, const void* a, const void* b, void* out, const MatmulShape& shape) {
  int64_t batches = 1;
  for (int d = 0; d < shape.batch.ndim; ++d) batches *= shape.batch.shape[d];
  if (batches == 0 || shape.m == 0 || shape.n == 0) return;
  if (batches > 65535) throwRangeError("ERR_INVALID_SHAPE", "matmul on cuda: at most 65535 batches");
  if (shape.castFused()) {
    throwTypeError("ERR_INVALID_DTYPE", "matmul on cuda: float32 operands or outputs of a 16-bit product (cast fusion) are CPU only; cast them first");
  }
  cudaStream_t stream = enter(device);
  const dim3 grid(unsigned((shape.n + kTile - 1) / kTile), unsigned((shape.m + kTile - 1) / kTile), unsigned(batches));
  const dim3 block(kTile, kTile);
  MP_DISPATCH_DTYPE(dtype, matmulKernel<Tag><<<grid, block, 0, stream>>>(
                               static_cast<const typename Tag::Storage*>(a), static_cast<const typename Tag::Storage*>(b),
                               static_cast<typename Tag::Storage*>(out), shape));
  check(cudaGetLastError(), "matmul kernel launch");
}

}  // namespace mp::cuda
