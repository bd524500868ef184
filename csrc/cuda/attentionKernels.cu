// Fused scaled dot-product attention on CUDA: the same contract as the CPU kernels (online
// softmax, statistics and accumulators in float32, float64 for float64; the row logsumexp saved;
// the backward recomputes the weights and regenerates dropout from its Philox counters). A
// straightforward layout: one warp per query row (forward, dQ) or per key row (dK, dV), the lanes
// splitting the feature dimension, each row's accumulator in shared memory, no atomics, so the
// results do not depend on scheduling.
#include <cuda_runtime.h>

#include <cmath>
#include <string>
#include <type_traits>

#include "../core/attentionMath.h"
#include "../core/elementTypes.h"
#include "cudaBackend.h"
#include "cudaCheck.h"

namespace mp::cuda {
namespace {

constexpr int kWarps = 4;  // rows per block

template <class Tag>
using ComputeOf = std::conditional_t<std::is_same_v<Tag, F64Tag>, double, float>;

template <class C>
__device__ C warpSum(C x) {
  for (int d = 16; d > 0; d /= 2) x += __shfl_xor_sync(0xffffffffu, x, d);
  return x;
}

// dot(a[0..n), b[0..n)) over the warp, every lane getting the result.
template <class Tag>
__device__ ComputeOf<Tag> warpDot(const typename Tag::Storage* a, const typename Tag::Storage* b, int64_t n, int lane) {
  using C = ComputeOf<Tag>;
  C partial = 0;
  for (int64_t e = lane; e < n; e += 32) partial += C(Tag::load(a[e])) * C(Tag::load(b[e]));
  return warpSum(partial);
}

// The score of (b, i, j) after scale, causality and the mask (-inf: the key takes no part).
template <class Tag>
__device__ ComputeOf<Tag> score(const AttentionShape& s, const typename Tag::Storage* q, const typename Tag::Storage* k,
                                const void* mask, int64_t b, int64_t i, int64_t j, int lane) {
  using C = ComputeOf<Tag>;
  const C dot = warpDot<Tag>(q + (b * s.L + i) * s.E, k + (b * s.S + j) * s.E, s.E, lane);
  if (s.causal && j > i) return -INFINITY;
  C v = dot * C(s.scale);
  const int64_t at = s.mask == AttentionMask::None ? 0 : attentionMaskIndex(s, b, i, j);
  if (s.mask == AttentionMask::Bool && !static_cast<const uint8_t*>(mask)[at]) return -INFINITY;
  if (s.mask == AttentionMask::Additive) v += C(Tag::load(static_cast<const typename Tag::Storage*>(mask)[at]));
  return v;
}

template <class C>
__device__ C dropoutFactor(const AttentionShape& s, int64_t b, int64_t i, int64_t j) {
  if (!(s.dropoutP > 0)) return C(1);
  return attentionKeeps(s, b, i, j) ? C(1.0 / (1.0 - s.dropoutP)) : C(0);
}

template <class Tag>
__global__ void forwardKernel(AttentionShape s, const typename Tag::Storage* q, const typename Tag::Storage* k,
                              const typename Tag::Storage* v, const void* mask, typename Tag::Storage* out,
                              ComputeOf<Tag>* lse) {
  using C = ComputeOf<Tag>;
  extern __shared__ unsigned char shared[];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int64_t row = int64_t(blockIdx.x) * kWarps + warp;
  if (row >= s.batch * s.L) return;
  const int64_t b = row / s.L, i = row % s.L;
  C* acc = reinterpret_cast<C*>(shared) + warp * s.Ev;
  for (int64_t c = lane; c < s.Ev; c += 32) acc[c] = 0;
  C m = -INFINITY, l = 0;
  const int64_t end = s.causal ? (i + 1 < s.S ? i + 1 : s.S) : s.S;
  for (int64_t j = 0; j < end; ++j) {
    const C x = score<Tag>(s, q, k, mask, b, i, j, lane);
    if (x == C(-INFINITY)) continue;
    const C mNew = x > m ? x : m;
    const C alpha = exp(m - mNew), p = exp(x - mNew);
    l = l * alpha + p;
    m = mNew;
    const C pz = p * dropoutFactor<C>(s, b, i, j);
    const typename Tag::Storage* vj = v + (b * s.S + j) * s.Ev;
    for (int64_t c = lane; c < s.Ev; c += 32) acc[c] = acc[c] * alpha + pz * C(Tag::load(vj[c]));
  }
  typename Tag::Storage* o = out + row * s.Ev;
  for (int64_t c = lane; c < s.Ev; c += 32) o[c] = Tag::store(l == C(0) ? C(NAN) : acc[c] / l);
  if (lane == 0) lse[row] = m + log(l);
}

// D[row] = rowsum(dO * O).
template <class Tag>
__global__ void rowDotKernel(AttentionShape s, const typename Tag::Storage* out, const typename Tag::Storage* gradOut,
                             ComputeOf<Tag>* d) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int64_t row = int64_t(blockIdx.x) * kWarps + warp;
  if (row >= s.batch * s.L) return;
  const ComputeOf<Tag> x = warpDot<Tag>(out + row * s.Ev, gradOut + row * s.Ev, s.Ev, lane);
  if (lane == 0) d[row] = x;
}

// P, dP and dS of (b, i, j): dS carries the scale; pz is the dropped-out weight.
template <class Tag>
__device__ void weightGrads(const AttentionShape& s, const typename Tag::Storage* q, const typename Tag::Storage* k,
                            const typename Tag::Storage* v, const void* mask, const typename Tag::Storage* gradOut,
                            const ComputeOf<Tag>* lse, const ComputeOf<Tag>* d, int64_t b, int64_t i, int64_t j,
                            int lane, ComputeOf<Tag>& pz, ComputeOf<Tag>& ds) {
  using C = ComputeOf<Tag>;
  const C x = score<Tag>(s, q, k, mask, b, i, j, lane);
  const C dp = warpDot<Tag>(gradOut + (b * s.L + i) * s.Ev, v + (b * s.S + j) * s.Ev, s.Ev, lane);
  const C p = x == C(-INFINITY) ? C(0) : exp(x - lse[b * s.L + i]);
  const C z = dropoutFactor<C>(s, b, i, j);
  pz = p * z;
  ds = p * (dp * z - d[b * s.L + i]) * C(s.scale);
}

template <class Tag>
__global__ void gradQKernel(AttentionShape s, const typename Tag::Storage* q, const typename Tag::Storage* k,
                            const typename Tag::Storage* v, const void* mask, const typename Tag::Storage* gradOut,
                            const ComputeOf<Tag>* lse, const ComputeOf<Tag>* d, typename Tag::Storage* gradQ) {
  using C = ComputeOf<Tag>;
  extern __shared__ unsigned char shared[];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int64_t row = int64_t(blockIdx.x) * kWarps + warp;
  if (row >= s.batch * s.L) return;
  const int64_t b = row / s.L, i = row % s.L;
  C* acc = reinterpret_cast<C*>(shared) + warp * s.E;
  for (int64_t c = lane; c < s.E; c += 32) acc[c] = 0;
  const int64_t end = s.causal ? (i + 1 < s.S ? i + 1 : s.S) : s.S;
  for (int64_t j = 0; j < end; ++j) {
    C pz, ds;
    weightGrads<Tag>(s, q, k, v, mask, gradOut, lse, d, b, i, j, lane, pz, ds);
    const typename Tag::Storage* kj = k + (b * s.S + j) * s.E;
    for (int64_t c = lane; c < s.E; c += 32) acc[c] += ds * C(Tag::load(kj[c]));
  }
  for (int64_t c = lane; c < s.E; c += 32) gradQ[row * s.E + c] = Tag::store(acc[c]);
}

template <class Tag>
__global__ void gradKVKernel(AttentionShape s, const typename Tag::Storage* q, const typename Tag::Storage* k,
                             const typename Tag::Storage* v, const void* mask, const typename Tag::Storage* gradOut,
                             const ComputeOf<Tag>* lse, const ComputeOf<Tag>* d, typename Tag::Storage* gradK,
                             typename Tag::Storage* gradV) {
  using C = ComputeOf<Tag>;
  extern __shared__ unsigned char shared[];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int64_t row = int64_t(blockIdx.x) * kWarps + warp;
  if (row >= s.batch * s.S) return;
  const int64_t b = row / s.S, j = row % s.S;
  C* dk = reinterpret_cast<C*>(shared) + warp * (s.E + s.Ev);
  C* dv = dk + s.E;
  for (int64_t c = lane; c < s.E; c += 32) dk[c] = 0;
  for (int64_t c = lane; c < s.Ev; c += 32) dv[c] = 0;
  for (int64_t i = s.causal ? j : 0; i < s.L; ++i) {
    C pz, ds;
    weightGrads<Tag>(s, q, k, v, mask, gradOut, lse, d, b, i, j, lane, pz, ds);
    const typename Tag::Storage* qi = q + (b * s.L + i) * s.E;
    const typename Tag::Storage* doi = gradOut + (b * s.L + i) * s.Ev;
    for (int64_t c = lane; c < s.E; c += 32) dk[c] += ds * C(Tag::load(qi[c]));
    for (int64_t c = lane; c < s.Ev; c += 32) dv[c] += pz * C(Tag::load(doi[c]));
  }
  for (int64_t c = lane; c < s.E; c += 32) gradK[row * s.E + c] = Tag::store(dk[c]);
  for (int64_t c = lane; c < s.Ev; c += 32) gradV[row * s.Ev + c] = Tag::store(dv[c]);
}

unsigned blocksOf(int64_t rows) { return unsigned((rows + kWarps - 1) / kWarps); }

// Shared memory per block for `perRow` accumulators of each of kWarps rows, refused past 48 KiB.
template <class C>
size_t sharedFor(int64_t perRow) {
  const size_t bytes = size_t(kWarps) * size_t(perRow) * sizeof(C);
  if (bytes > 48 * 1024) {
    throwRangeError("ERR_INVALID_SHAPE", "scaledDotProductAttention on cuda: the head dimensions are too large for "
                                         "this kernel (E + Ev must be at most " +
                                             std::to_string(48 * 1024 / kWarps / sizeof(C)) + ")");
  }
  return bytes;
}

template <class Tag>
void launchForward(cudaStream_t stream, const AttentionShape& s, const void* q, const void* k, const void* v,
                   const void* mask, void* out, void* lse) {
  using T = typename Tag::Storage;
  using C = ComputeOf<Tag>;
  forwardKernel<Tag><<<blocksOf(s.batch * s.L), kWarps * 32, sharedFor<C>(s.Ev), stream>>>(
      s, static_cast<const T*>(q), static_cast<const T*>(k), static_cast<const T*>(v), mask, static_cast<T*>(out),
      static_cast<C*>(lse));
}

template <class Tag>
void launchBackward(int device, cudaStream_t stream, const AttentionShape& s, const void* q, const void* k,
                    const void* v, const void* mask, const void* out, const void* gradOut, const void* lse,
                    void* gradQ, void* gradK, void* gradV) {
  using T = typename Tag::Storage;
  using C = ComputeOf<Tag>;
  const size_t qShared = sharedFor<C>(s.E), kvShared = sharedFor<C>(s.E + s.Ev);
  const size_t dBytes = size_t(s.batch * s.L) * sizeof(C);
  C* d = static_cast<C*>(allocate(device, dBytes, false));
  const T* qt = static_cast<const T*>(q);
  const T* kt = static_cast<const T*>(k);
  const T* vt = static_cast<const T*>(v);
  const T* g = static_cast<const T*>(gradOut);
  const C* l = static_cast<const C*>(lse);
  rowDotKernel<Tag><<<blocksOf(s.batch * s.L), kWarps * 32, 0, stream>>>(s, static_cast<const T*>(out), g, d);
  gradQKernel<Tag><<<blocksOf(s.batch * s.L), kWarps * 32, qShared, stream>>>(s, qt, kt, vt, mask, g, l, d,
                                                                                 static_cast<T*>(gradQ));
  gradKVKernel<Tag><<<blocksOf(s.batch * s.S), kWarps * 32, kvShared, stream>>>(
      s, qt, kt, vt, mask, g, l, d, static_cast<T*>(gradK), static_cast<T*>(gradV));
  // The stream runs the kernels before the deferred free takes effect (frees wait for the device).
  deferFree(device, d);
  check(cudaGetLastError(), "attention backward kernel launch");
}

}  // namespace

void attentionForward(int device, DType dtype, const void* q, const void* k, const void* v, const void* mask,
                      void* out, void* lse, const AttentionShape& s) {
  if (s.batch * s.L == 0) return;
  cudaStream_t stream = enter(device);
  switch (dtype) {
    case DType::Float32: launchForward<F32Tag>(stream, s, q, k, v, mask, out, lse); break;
    case DType::Float16: launchForward<F16Tag>(stream, s, q, k, v, mask, out, lse); break;
    case DType::BFloat16: launchForward<BF16Tag>(stream, s, q, k, v, mask, out, lse); break;
    case DType::Float64: launchForward<F64Tag>(stream, s, q, k, v, mask, out, lse); break;
    default: throwTypeError("ERR_INVALID_DTYPE", "scaledDotProductAttention: needs a floating-point dtype");
  }
  check(cudaGetLastError(), "attention forward kernel launch");
}

void attentionBackward(int device, DType dtype, const void* q, const void* k, const void* v, const void* mask,
                       const void* out, const void* gradOut, const void* lse, void* gradQ, void* gradK, void* gradV,
                       const AttentionShape& s) {
  if (s.batch == 0 || s.L == 0 || s.S == 0) return;
  cudaStream_t stream = enter(device);
  switch (dtype) {
    case DType::Float32: launchBackward<F32Tag>(device, stream, s, q, k, v, mask, out, gradOut, lse, gradQ, gradK, gradV); break;
    case DType::Float16: launchBackward<F16Tag>(device, stream, s, q, k, v, mask, out, gradOut, lse, gradQ, gradK, gradV); break;
    case DType::BFloat16: launchBackward<BF16Tag>(device, stream, s, q, k, v, mask, out, gradOut, lse, gradQ, gradK, gradV); break;
    case DType::Float64: launchBackward<F64Tag>(device, stream, s, q, k, v, mask, out, gradOut, lse, gradQ, gradK, gradV); break;
    default: throwTypeError("ERR_INVALID_DTYPE", "scaledDotProductAttention: needs a floating-point dtype");
  }
}

}  // namespace mp::cuda
