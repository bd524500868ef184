// The fused ops on CUDA (core/fusedMath.h's contract): one block per row for the norms and
// cross-entropy, with block reductions in the op-math type (float32, double for float64); the
// norms' dweight / dbias are column sums over rows by one thread per column (deterministic, no
// atomics); bias + GELU and its backward are grid-stride elementwise loops.
#include <cstdint>

#include "../core/elementTypes.h"
#include "../core/fusedMath.h"
#include "cudaBackend.h"
#include "cudaCheck.h"

namespace mp::cuda {
namespace {

// The sum (or max) of every thread's value in the block; all threads get it.
template <class C, bool Max = false>
__device__ C blockReduce(C v, C* shared) {
  shared[threadIdx.x] = v;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (int(threadIdx.x) < stride) {
      const C a = shared[threadIdx.x], b = shared[threadIdx.x + stride];
      shared[threadIdx.x] = Max ? (b > a || b != b ? b : a) : a + b;
    }
    __syncthreads();
  }
  const C total = shared[0];
  __syncthreads();
  return total;
}

template <class Tag, class C = typename Tag::Compute>
__global__ void normForwardKernel(bool rms, const typename Tag::Storage* x, const C* w, const C* b,
                                  typename Tag::Storage* y, C* meanOut, C* rstdOut, int64_t cols, C eps) {
  __shared__ C shared[kThreads];
  const int64_t r = blockIdx.x;
  const typename Tag::Storage* xr = x + r * cols;
  typename Tag::Storage* yr = y + r * cols;
  C mean = 0;
  if (!rms) {
    C s = 0;
    for (int64_t i = threadIdx.x; i < cols; i += blockDim.x) s += Tag::load(xr[i]);
    mean = blockReduce<C>(s, shared) / C(cols);
  }
  C q = 0;
  for (int64_t i = threadIdx.x; i < cols; i += blockDim.x) {
    const C d = Tag::load(xr[i]) - mean;
    q += d * d;
  }
  const C rstd = C(1) / Math<C>::sqrt(blockReduce<C>(q, shared) / C(cols) + eps);
  for (int64_t i = threadIdx.x; i < cols; i += blockDim.x) {
    C v = (Tag::load(xr[i]) - mean) * rstd;
    if (w) v = v * w[i];
    if (b) v = v + b[i];
    yr[i] = Tag::store(v);
  }
  if (threadIdx.x == 0) {
    meanOut[r] = mean;
    rstdOut[r] = rstd;
  }
}

template <class Tag, class C = typename Tag::Compute>
__global__ void normBackwardKernel(bool rms, const typename Tag::Storage* dy, const typename Tag::Storage* x,
                                   const C* w, const C* meanIn, const C* rstdIn, typename Tag::Storage* dx,
                                   int64_t cols) {
  __shared__ C shared[kThreads];
  const int64_t r = blockIdx.x;
  const C mean = meanIn[r], rstd = rstdIn[r];
  const int64_t base = r * cols;
  C sumG = 0, sumGX = 0;
  for (int64_t i = threadIdx.x; i < cols; i += blockDim.x) {
    const C d = Tag::load(dy[base + i]);
    const C g = w ? d * w[i] : d;
    sumG += g;
    sumGX += g * (Tag::load(x[base + i]) - mean) * rstd;
  }
  const C meanG = rms ? C(0) : blockReduce<C>(sumG, shared) / C(cols);
  const C meanGX = blockReduce<C>(sumGX, shared) / C(cols);
  for (int64_t i = threadIdx.x; i < cols; i += blockDim.x) {
    const C xhat = (Tag::load(x[base + i]) - mean) * rstd;
    const C d = Tag::load(dy[base + i]);
    const C g = w ? d * w[i] : d;
    dx[base + i] = Tag::store(rstd * (g - meanG - xhat * meanGX));
  }
}

template <class Tag, class C = typename Tag::Compute>
__global__ void normColumnSumsKernel(const typename Tag::Storage* dy, const typename Tag::Storage* x, const C* meanIn,
                                     const C* rstdIn, C* dw, C* db, int64_t rows, int64_t cols) {
  MP_GRID_LOOP(c, cols) {
    C tw = 0, tb = 0;
    for (int64_t r = 0; r < rows; ++r) {
      const C d = Tag::load(dy[r * cols + c]);
      tw += d * (Tag::load(x[r * cols + c]) - meanIn[r]) * rstdIn[r];
      tb += d;
    }
    if (dw) dw[c] = tw;
    if (db) db[c] = tb;
  }
}

template <class Tag, class C = typename Tag::Compute>
__global__ void biasGeluKernel(bool tanhForm, const typename Tag::Storage* x, const typename Tag::Storage* b,
                               typename Tag::Storage* y, int64_t n, int64_t cols) {
  MP_GRID_LOOP(i, n) {
    const C v = b ? Tag::load(x[i]) + Tag::load(b[i % cols]) : Tag::load(x[i]);
    y[i] = Tag::store(geluValue<C>(v, tanhForm));
  }
}

template <class Tag, class C = typename Tag::Compute>
__global__ void geluBackwardKernel(bool tanhForm, const typename Tag::Storage* x, const typename Tag::Storage* b,
                                   const typename Tag::Storage* dy, typename Tag::Storage* dx, int64_t n, int64_t cols) {
  MP_GRID_LOOP(i, n) {
    const C v = b ? Tag::load(x[i]) + Tag::load(b[i % cols]) : Tag::load(x[i]);
    dx[i] = Tag::store(Tag::load(dy[i]) * geluDerivative<C>(v, tanhForm));
  }
}

__device__ inline bool outOfRange(int32_t t, int64_t cols, int32_t ignoreIndex) {
  return t != ignoreIndex && (t < 0 || t >= cols);
}

template <class Tag, class C = typename Tag::Compute>
__global__ void crossEntropyForwardKernel(const typename Tag::Storage* x, const int32_t* target, C* loss, C* lseOut,
                                          int64_t cols, int32_t ignoreIndex, C smoothing) {
  __shared__ C shared[kThreads];
  const int64_t r = blockIdx.x;
  const int32_t t = target[r];
  if (t == ignoreIndex || outOfRange(t, cols, ignoreIndex)) {
    if (threadIdx.x == 0) {
      loss[r] = t == ignoreIndex ? C(0) : C(NAN);
      lseOut[r] = C(0);
    }
    return;
  }
  const typename Tag::Storage* xr = x + r * cols;
  C mx = Tag::load(xr[0]), s = 0;
  for (int64_t i = threadIdx.x; i < cols; i += blockDim.x) {
    const C v = Tag::load(xr[i]);
    mx = v > mx || v != v ? v : mx;
    s += v;
  }
  mx = blockReduce<C, true>(mx, shared);
  const C sum = blockReduce<C>(s, shared);
  C e = 0;
  for (int64_t i = threadIdx.x; i < cols; i += blockDim.x) e += Math<C>::exp(Tag::load(xr[i]) - mx);
  const C lse = mx + Math<C>::log(blockReduce<C>(e, shared));
  if (threadIdx.x == 0) {
    const C nll = lse - Tag::load(xr[t]);
    loss[r] = smoothing == C(0) ? nll : (C(1) - smoothing) * nll + smoothing * (lse - sum / C(cols));
    lseOut[r] = lse;
  }
}

template <class Tag, class C = typename Tag::Compute>
__global__ void crossEntropyBackwardKernel(const typename Tag::Storage* x, const int32_t* target, const C* lse,
                                           const C* scale, typename Tag::Storage* dx, int64_t cols,
                                           int32_t ignoreIndex, C smoothing) {
  const int64_t r = blockIdx.x;
  const int32_t t = target[r];
  const bool skip = t == ignoreIndex || outOfRange(t, cols, ignoreIndex);
  const C uniform = smoothing / C(cols);
  for (int64_t i = threadIdx.x; i < cols; i += blockDim.x) {
    C p = 0;
    if (!skip) {
      p = Math<C>::exp(Tag::load(x[r * cols + i]) - lse[r]) - uniform;
      if (i == t) p = p - (C(1) - smoothing);
      p = scale[r] * p;
    }
    dx[r * cols + i] = Tag::store(p);
  }
}

template <class Tag>
using S = typename Tag::Storage;
template <class Tag>
using C = typename Tag::Compute;

}  // namespace

void normForward(int device, bool rms, DType dtype, const void* x, const void* weight, const void* bias, void* y,
                 void* mean, void* rstd, int64_t rows, int64_t cols, double eps) {
  if (rows == 0) return;
  cudaStream_t stream = enter(device);
  MP_DISPATCH_FLOATING(dtype, normForwardKernel<Tag><<<unsigned(rows), kThreads, 0, stream>>>(
      rms, static_cast<const S<Tag>*>(x), static_cast<const C<Tag>*>(weight), static_cast<const C<Tag>*>(bias),
      static_cast<S<Tag>*>(y), static_cast<C<Tag>*>(mean), static_cast<C<Tag>*>(rstd), cols, C<Tag>(eps)));
  check(cudaGetLastError(), "normForward kernel launch");
}

void normBackward(int device, bool rms, DType dtype, const void* dy, const void* x, const void* weight,
                  const void* mean, const void* rstd, void* dx, void* dweight, void* dbias, int64_t rows,
                  int64_t cols) {
  cudaStream_t stream = enter(device);
  MP_DISPATCH_FLOATING(dtype, {
    if (rows > 0) {
      normBackwardKernel<Tag><<<unsigned(rows), kThreads, 0, stream>>>(
          rms, static_cast<const S<Tag>*>(dy), static_cast<const S<Tag>*>(x), static_cast<const C<Tag>*>(weight),
          static_cast<const C<Tag>*>(mean), static_cast<const C<Tag>*>(rstd), static_cast<S<Tag>*>(dx), cols);
    }
    if (dweight || dbias) {
      normColumnSumsKernel<Tag><<<blocksFor(cols), kThreads, 0, stream>>>(
          static_cast<const S<Tag>*>(dy), static_cast<const S<Tag>*>(x), static_cast<const C<Tag>*>(mean),
          static_cast<const C<Tag>*>(rstd), static_cast<C<Tag>*>(dweight), static_cast<C<Tag>*>(dbias), rows, cols);
    }
  });
  check(cudaGetLastError(), "normBackward kernel launch");
}

void biasGelu(int device, bool tanhForm, DType dtype, const void* x, const void* bias, void* y, int64_t rows,
              int64_t cols) {
  const int64_t n = rows * cols;
  if (n == 0) return;
  cudaStream_t stream = enter(device);
  MP_DISPATCH_FLOATING(dtype, biasGeluKernel<Tag><<<blocksFor(n), kThreads, 0, stream>>>(
      tanhForm, static_cast<const S<Tag>*>(x), static_cast<const S<Tag>*>(bias), static_cast<S<Tag>*>(y), n, cols));
  check(cudaGetLastError(), "biasGelu kernel launch");
}

void geluBackward(int device, bool tanhForm, DType dtype, const void* x, const void* bias, const void* dy, void* dx,
                  int64_t rows, int64_t cols) {
  const int64_t n = rows * cols;
  if (n == 0) return;
  cudaStream_t stream = enter(device);
  MP_DISPATCH_FLOATING(dtype, geluBackwardKernel<Tag><<<blocksFor(n), kThreads, 0, stream>>>(
      tanhForm, static_cast<const S<Tag>*>(x), static_cast<const S<Tag>*>(bias), static_cast<const S<Tag>*>(dy),
      static_cast<S<Tag>*>(dx), n, cols));
  check(cudaGetLastError(), "geluBackward kernel launch");
}

void crossEntropyForward(int device, DType dtype, const void* logits, const int32_t* target, void* losses, void* lse,
                         int64_t rows, int64_t cols, int32_t ignoreIndex, double smoothing, int64_t* firstBad) {
  *firstBad = -1;
  if (rows == 0) return;
  cudaStream_t stream = enter(device);
  MP_DISPATCH_FLOATING(dtype, crossEntropyForwardKernel<Tag><<<unsigned(rows), kThreads, 0, stream>>>(
      static_cast<const S<Tag>*>(logits), target, static_cast<C<Tag>*>(losses), static_cast<C<Tag>*>(lse), cols,
      ignoreIndex, C<Tag>(smoothing)));
  check(cudaGetLastError(), "crossEntropyForward kernel launch");
}

void crossEntropyBackward(int device, DType dtype, const void* logits, const int32_t* target, const void* lse,
                          const void* scale, void* dlogits, int64_t rows, int64_t cols, int32_t ignoreIndex,
                          double smoothing) {
  if (rows == 0) return;
  cudaStream_t stream = enter(device);
  MP_DISPATCH_FLOATING(dtype, crossEntropyBackwardKernel<Tag><<<unsigned(rows), kThreads, 0, stream>>>(
      static_cast<const S<Tag>*>(logits), target, static_cast<const C<Tag>*>(lse), static_cast<const C<Tag>*>(scale),
      static_cast<S<Tag>*>(dlogits), cols, ignoreIndex, C<Tag>(smoothing)));
  check(cudaGetLastError(), "crossEntropyBackward kernel launch");
}

}  // namespace mp::cuda
