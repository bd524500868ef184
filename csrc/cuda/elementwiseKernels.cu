// Elementwise ops on CUDA, with the CPU's arithmetic (core/binaryMath.h).
#include "../core/binaryMath.h"
#include "../core/opSwitch.h"
#include "../core/elementTypes.h"
#include "cudaBackend.h"
#include "cudaCheck.h"

namespace mp::cuda {
namespace {

template <class Tag, BinaryOp Op>
__global__ void binaryKernel(const typename Tag::Storage* a, const typename Tag::Storage* b,
                             typename Tag::Storage* out, BroadcastGeometry g, int64_t n) {
  MP_GRID_LOOP(i, n) {
    int64_t offA, offB;
    broadcastOffsets(g, i, offA, offB);
    out[i] = binaryStored<Tag, Op>(a[offA], b[offB]);
  }
}

template <class Tag, BinaryOp Op>
__global__ void binaryScalarKernel(const typename Tag::Storage* a, OpMath<Tag> s, bool scalarFirst,
                                   typename Tag::Storage* out, int64_t n) {
  MP_GRID_LOOP(i, n) { out[i] = binaryScalarStored<Tag, Op>(a[i], s, scalarFirst); }
}

template <class Tag>
__global__ void unaryKernel(UnaryOp op, const typename Tag::Storage* a, typename Tag::Storage* out, int64_t n,
                            OpMath<Tag> p0, OpMath<Tag> p1) {
  MP_GRID_LOOP(i, n) { out[i] = unaryStored<Tag>(op, a[i], p0, p1); }
}

template <class Tag, CompareOp Op>
__global__ void compareKernel(const typename Tag::Storage* a, const typename Tag::Storage* b, uint8_t* out,
                              BroadcastGeometry g, int64_t n) {
  using M = OpMath<Tag>;
  MP_GRID_LOOP(i, n) {
    int64_t offA, offB;
    broadcastOffsets(g, i, offA, offB);
    out[i] = applyCompare<Op, M>(M(Tag::load(a[offA])), M(Tag::load(b[offB])));
  }
}

template <class Tag, CompareOp Op>
__global__ void compareScalarKernel(const typename Tag::Storage* a, OpMath<Tag> s, uint8_t* out, int64_t n) {
  using M = OpMath<Tag>;
  MP_GRID_LOOP(i, n) { out[i] = applyCompare<Op, M>(M(Tag::load(a[i])), s); }
}

template <class Bits>
__global__ void stridedCopyKernel(const Bits* src, Bits* dst, BroadcastGeometry g, int64_t n) {
  MP_GRID_LOOP(i, n) {
    int64_t offS, offD;
    broadcastOffsets(g, i, offS, offD);
    dst[offD] = src[offS];
  }
}

template <class Bits>
void launchStridedCopy(cudaStream_t stream, const void* src, void* dst, const BroadcastGeometry& g) {
  const BroadcastGeometry c = coalesce(g);
  int64_t n = 1;
  for (int d = 0; d < c.ndim; ++d) n *= c.shape[d];
  stridedCopyKernel<Bits><<<blocksFor(n), kThreads, 0, stream>>>(static_cast<const Bits*>(src), static_cast<Bits*>(dst), c, n);
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
#define MP_CALL(OP) launchBinary<Tag, OP>(stream, a, b, out, g)
  MP_DISPATCH_DTYPE(dtype, MP_SWITCH_BINARY(op, MP_CALL));
#undef MP_CALL
  check(cudaGetLastError(), "binary kernel launch");
}

void binaryScalar(int device, BinaryOp op, DType dtype, const void* a, double scalar, bool scalarFirst, void* out,
                  int64_t n) {
  if (n == 0) return;
  cudaStream_t stream = enter(device);
#define MP_CALL(OP) launchScalar<Tag, OP>(stream, a, scalar, scalarFirst, out, n)
  MP_DISPATCH_DTYPE(dtype, MP_SWITCH_BINARY(op, MP_CALL));
#undef MP_CALL
  check(cudaGetLastError(), "scalar kernel launch");
}

void unary(int device, UnaryOp op, DType dtype, const void* a, void* out, int64_t n, double p0, double p1) {
  if (n == 0) return;
  cudaStream_t stream = enter(device);
  MP_DISPATCH_DTYPE(dtype, unaryKernel<Tag><<<blocksFor(n), kThreads, 0, stream>>>(
                               op, static_cast<const typename Tag::Storage*>(a), static_cast<typename Tag::Storage*>(out), n,
                               OpMath<Tag>(p0), OpMath<Tag>(p1)));
  check(cudaGetLastError(), "unary kernel launch");
}

template <class Tag, CompareOp Op>
void launchCompare(cudaStream_t stream, const void* a, const void* b, void* out, const BroadcastGeometry& g) {
  using S = typename Tag::Storage;
  const BroadcastGeometry c = coalesce(g);
  int64_t n = 1;
  for (int d = 0; d < c.ndim; ++d) n *= c.shape[d];
  compareKernel<Tag, Op><<<blocksFor(n), kThreads, 0, stream>>>(static_cast<const S*>(a), static_cast<const S*>(b),
                                                                  static_cast<uint8_t*>(out), c, n);
}

void compare(int device, CompareOp op, DType dtype, const void* a, const void* b, void* out,
             const BroadcastGeometry& g) {
  cudaStream_t stream = enter(device);
#define MP_CALL(OP) launchCompare<Tag, OP>(stream, a, b, out, g)
  MP_DISPATCH_DTYPE(dtype, MP_SWITCH_COMPARE(op, MP_CALL));
#undef MP_CALL
  check(cudaGetLastError(), "compare kernel launch");
}

void compareScalar(int device, CompareOp op, DType dtype, const void* a, double scalar, void* out, int64_t n) {
  if (n == 0) return;
  cudaStream_t stream = enter(device);
#define MP_CALL(OP)                                                                                     \
  compareScalarKernel<Tag, OP><<<blocksFor(n), kThreads, 0, stream>>>(                                  \
      static_cast<const typename Tag::Storage*>(a), OpMath<Tag>(Tag::load(Tag::fromDouble(scalar))), \
      static_cast<uint8_t*>(out), n)
  MP_DISPATCH_DTYPE(dtype, MP_SWITCH_COMPARE(op, MP_CALL));
#undef MP_CALL
  check(cudaGetLastError(), "compare kernel launch");
}

void stridedCopy(int device, DType dtype, const void* src, void* dst, const BroadcastGeometry& g) {
  cudaStream_t stream = enter(device);
  MP_DISPATCH_WIDTH(dtype, launchStridedCopy<Bits>(stream, src, dst, g));
  check(cudaGetLastError(), "strided copy kernel launch");
}

void fill(int device, DType dtype, void* out, int64_t n, double value) {
  if (n == 0) return;
  cudaStream_t stream = enter(device);
  MP_DISPATCH_DTYPE(dtype, fillKernel<Tag><<<blocksFor(n), kThreads, 0, stream>>>(
                               static_cast<typename Tag::Storage*>(out), Tag::fromDouble(value), n));
  check(cudaGetLastError(), "fill kernel launch");
}

}  // namespace mp::cuda
