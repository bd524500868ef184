// Elementwise ops on CUDA, with the CPU's arithmetic (core/binaryMath.h).
#include "../core/binaryMath.h"
#include "../core/elementTypes.h"
#include "cudaBackend.h"
#include "cudaCheck.h"

namespace mp::cuda {
namespace {

#define MP_GRID_LOOP(i, n) \
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (n); i += int64_t(gridDim.x) * blockDim.x)

template <class Tag, BinaryOp Op>
__global__ void binaryKernel(const typename Tag::Storage* a, const typename Tag::Storage* b,
                             typename Tag::Storage* out, BroadcastGeometry g, int64_t n) {
  MP_GRID_LOOP(i, n) {
    int64_t rest = i, offA = 0, offB = 0;
    for (int d = g.ndim - 1; d >= 0; --d) {
      const int64_t idx = rest % g.shape[d];
      rest /= g.shape[d];
      offA += idx * g.strideA[d];
      offB += idx * g.strideB[d];
    }
    out[i] = binaryStored<Tag, Op>(a[offA], b[offB]);
  }
}

template <class Tag, BinaryOp Op>
__global__ void binaryScalarKernel(const typename Tag::Storage* a, OpMath<Tag> s, bool scalarFirst,
                                   typename Tag::Storage* out, int64_t n) {
  MP_GRID_LOOP(i, n) { out[i] = binaryScalarStored<Tag, Op>(a[i], s, scalarFirst); }
}

template <class Tag>
__global__ void negKernel(const typename Tag::Storage* a, typename Tag::Storage* out, int64_t n) {
  MP_GRID_LOOP(i, n) { out[i] = negStored<Tag>(a[i]); }
}

template <class Bits>
__global__ void expandKernel(const Bits* a, Bits* out, BroadcastGeometry g, int64_t n) {
  MP_GRID_LOOP(i, n) {
    int64_t rest = i, offA = 0;
    for (int d = g.ndim - 1; d >= 0; --d) {
      offA += (rest % g.shape[d]) * g.strideA[d];
      rest /= g.shape[d];
    }
    out[i] = a[offA];
  }
}

template <class Bits>
void launchExpand(cudaStream_t stream, const void* a, void* out, const BroadcastGeometry& g) {
  const BroadcastGeometry c = coalesce(g);
  int64_t n = 1;
  for (int d = 0; d < c.ndim; ++d) n *= c.shape[d];
  expandKernel<Bits><<<blocksFor(n), kThreads, 0, stream>>>(static_cast<const Bits*>(a), static_cast<Bits*>(out), c, n);
}

template <class Tag>
__global__ void fillKernel(typename Tag::Storage* out, typename Tag::Storage v, int64_t n) {
  MP_GRID_LOOP(i, n) { out[i] = v; }
}

template <class Tag, BinaryOp Op>
void launchBinary(cudaStream_t stream, const void* a, const void* b, void* out, const BroadcastGeometry& g) {
  using S = typename Tag::Storage;
  const BroadcastGeometry c = coalesce(g);
  int64_t n = 1;
  for (int d = 0; d < c.ndim; ++d) n *= c.shape[d];
  binaryKernel<Tag, Op><<<blocksFor(n), kThreads, 0, stream>>>(static_cast<const S*>(a), static_cast<const S*>(b),
                                                                 static_cast<S*>(out), c, n);
}

template <class Tag, BinaryOp Op>
void launchScalar(cudaStream_t stream, const void* a, double scalar, bool scalarFirst, void* out, int64_t n) {
  using S = typename Tag::Storage;
  binaryScalarKernel<Tag, Op><<<blocksFor(n), kThreads, 0, stream>>>(static_cast<const S*>(a), OpMath<Tag>(scalar),
                                                                       scalarFirst, static_cast<S*>(out), n);
}

}  // namespace

void binary(int device, BinaryOp op, DType dtype, const void* a, const void* b, void* out, const BroadcastGeometry& g) {
  cudaStream_t stream = enter(device);
  MP_DISPATCH_DTYPE(dtype, {
    switch (op) {
      case BinaryOp::Add: launchBinary<Tag, BinaryOp::Add>(stream, a, b, out, g); break;
      case BinaryOp::Sub: launchBinary<Tag, BinaryOp::Sub>(stream, a, b, out, g); break;
      case BinaryOp::Mul: launchBinary<Tag, BinaryOp::Mul>(stream, a, b, out, g); break;
      case BinaryOp::Div: launchBinary<Tag, BinaryOp::Div>(stream, a, b, out, g); break;
    }
  });
  check(cudaGetLastError(), "binary kernel launch");
}

void binaryScalar(int device, BinaryOp op, DType dtype, const void* a, double scalar, bool scalarFirst, void* out,
                  int64_t n) {
  if (n == 0) return;
  cudaStream_t stream = enter(device);
  MP_DISPATCH_DTYPE(dtype, {
    switch (op) {
      case BinaryOp::Add: launchScalar<Tag, BinaryOp::Add>(stream, a, scalar, scalarFirst, out, n); break;
      case BinaryOp::Sub: launchScalar<Tag, BinaryOp::Sub>(stream, a, scalar, scalarFirst, out, n); break;
      case BinaryOp::Mul: launchScalar<Tag, BinaryOp::Mul>(stream, a, scalar, scalarFirst, out, n); break;
      case BinaryOp::Div: launchScalar<Tag, BinaryOp::Div>(stream, a, scalar, scalarFirst, out, n); break;
    }
  });
  check(cudaGetLastError(), "scalar kernel launch");
}

void unary(int device, UnaryOp op, DType dtype, const void* a, void* out, int64_t n) {
  if (n == 0) return;
  cudaStream_t stream = enter(device);
  switch (op) {
    case UnaryOp::Neg:
      MP_DISPATCH_DTYPE(dtype, negKernel<Tag><<<blocksFor(n), kThreads, 0, stream>>>(
                                   static_cast<const typename Tag::Storage*>(a), static_cast<typename Tag::Storage*>(out), n));
      break;
  }
  check(cudaGetLastError(), "unary kernel launch");
}

void expand(int device, DType dtype, const void* a, void* out, const BroadcastGeometry& g) {
  cudaStream_t stream = enter(device);
  switch (elementSize(dtype)) {
    case 1: launchExpand<uint8_t>(stream, a, out, g); break;
    case 2: launchExpand<uint16_t>(stream, a, out, g); break;
    case 4: launchExpand<uint32_t>(stream, a, out, g); break;
    default: launchExpand<unsigned long long>(stream, a, out, g); break;
  }
  check(cudaGetLastError(), "expand kernel launch");
}

void fill(int device, DType dtype, void* out, int64_t n, double value) {
  if (n == 0) return;
  cudaStream_t stream = enter(device);
  MP_DISPATCH_DTYPE(dtype, fillKernel<Tag><<<blocksFor(n), kThreads, 0, stream>>>(
                               static_cast<typename Tag::Storage*>(out), Tag::fromDouble(value), n));
  check(cudaGetLastError(), "fill kernel launch");
}

}  // namespace mp::cuda
