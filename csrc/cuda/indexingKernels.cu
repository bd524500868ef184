// Indexing and sliding-window kernels on CUDA (the CPU versions: cpu/indexingKernels.cpp). Indices
// are not checked up front (that would need a host sync): out-of-range ones are skipped, gather
// and indexSelect writing 0 there. scatterAdd and indexAdd accumulate with atomicAdd, so their
// float sums depend on thread timing; 16-bit ones accumulate in a float32 scratch buffer rounded
// once at the end. fold sums each pixel's windows in one thread, in the CPU's order.
#include <type_traits>

#include "../core/elementTypes.h"
#include "../core/indexingArgs.h"
#include "cudaBackend.h"
#include "cudaCheck.h"

namespace mp::cuda {
namespace {

template <class Bits>
__global__ void whereKernel(const uint8_t* cond, const Bits* a, const Bits* b, Bits* out, WhereGeometry g, int64_t n) {
  MP_GRID_LOOP(i, n) {
    int64_t oc, oa, ob;
    whereOffsets(g, i, oc, oa, ob);
    out[i] = cond[oc] ? a[oa] : b[ob];
  }
}

template <class Bits>
__global__ void gatherKernel(const Bits* self, const int32_t* index, Bits* out, ScatterGeometry g, int64_t n) {
  MP_GRID_LOOP(i, n) {
    int64_t oi, os, oo;
    scatterOffsets(g, i, oi, os, oo);
    const int64_t k = index[oi];
    out[oo] = k >= 0 && k < g.dimSize ? self[os + k * g.selfStride[g.dim]] : Bits(0);
  }
}

template <class Bits>
__global__ void indexSelectKernel(const Bits* self, const int32_t* index, Bits* out, IndexShape s, int64_t n) {
  MP_GRID_LOOP(i, n) {
    const int64_t c = i % s.inner;
    const int64_t r = i / s.inner;
    const int64_t k = index[r % s.count];
    out[i] = k >= 0 && k < s.size ? self[((r / s.count) * s.size + k) * s.inner + c] : Bits(0);
  }
}

template <class Tag>
__global__ void loadKernel(const typename Tag::Storage* in, typename Tag::Compute* out, int64_t n) {
  MP_GRID_LOOP(i, n) { out[i] = Tag::load(in[i]); }
}

template <class Tag>
__global__ void storeKernel(const typename Tag::Compute* in, typename Tag::Storage* out, int64_t n) {
  MP_GRID_LOOP(i, n) { out[i] = Tag::store(in[i]); }
}

template <class Tag>
__global__ void scatterAddKernel(const int32_t* index, const typename Tag::Storage* src, typename Tag::Compute* acc,
                                 ScatterGeometry g, int64_t n) {
  using C = typename Tag::Compute;
  MP_GRID_LOOP(i, n) {
    int64_t oi, os, oo;
    scatterOffsets(g, i, oi, os, oo);
    const int64_t k = index[oi];
    if (k >= 0 && k < g.dimSize) atomicAdd(acc + os + k * g.selfStride[g.dim], C(Tag::load(src[oo])));
  }
}

template <class Tag>
__global__ void indexAddKernel(const int32_t* index, const typename Tag::Storage* source, typename Tag::Compute* acc,
                               IndexShape s, int64_t n) {
  using C = typename Tag::Compute;
  MP_GRID_LOOP(i, n) {
    const int64_t c = i % s.inner;
    const int64_t r = i / s.inner;
    const int64_t k = index[r % s.count];
    if (k >= 0 && k < s.size) atomicAdd(acc + ((r / s.count) * s.size + k) * s.inner + c, C(Tag::load(source[i])));
  }
}

// Where an out-of-place scatter accumulates on the device: the output itself (a copy of the
// input) when values are stored in their compute type, else a float32 scratch buffer.
template <class Tag>
class DeviceAccumulator {
 public:
  using S = typename Tag::Storage;
  using C = typename Tag::Compute;
  static constexpr bool kDirect = std::is_same_v<S, C>;

  DeviceAccumulator(int device, cudaStream_t stream, const void* input, void* out, int64_t n)
      : device_(device), stream_(stream), out_(static_cast<S*>(out)), n_(n) {
    if constexpr (kDirect) {
      data_ = out_;
      check(cudaMemcpyAsync(out, input, size_t(n) * sizeof(S), cudaMemcpyDeviceToDevice, stream), "cudaMemcpyAsync(scatter input)");
    } else {
      data_ = static_cast<C*>(allocate(device, size_t(n) * sizeof(C), false));
      loadKernel<Tag><<<blocksFor(n), kThreads, 0, stream>>>(static_cast<const S*>(input), data_, n);
    }
  }
  C* data() const { return data_; }
  void finish() {
    if constexpr (!kDirect) {
      storeKernel<Tag><<<blocksFor(n_), kThreads, 0, stream_>>>(data_, out_, n_);
      deferFree(device_, data_);
    }
  }

 private:
  int device_;
  cudaStream_t stream_;
  S* out_;
  int64_t n_;
  C* data_ = nullptr;
};

template <class Tag>
void launchScatterAdd(int device, cudaStream_t stream, const void* input, const int32_t* index, const void* src,
                      void* out, int64_t selfNumel, const ScatterGeometry& g) {
  DeviceAccumulator<Tag> acc(device, stream, input, out, selfNumel);
  int64_t n = 1;
  for (int d = 0; d < g.ndim; ++d) n *= g.indexShape[d];
  if (n > 0) {
    scatterAddKernel<Tag><<<blocksFor(n), kThreads, 0, stream>>>(index, static_cast<const typename Tag::Storage*>(src),
                                                                  acc.data(), g, n);
  }
  acc.finish();
}

template <class Tag>
void launchIndexAdd(int device, cudaStream_t stream, const void* input, const int32_t* index, const void* source,
                    void* out, const IndexShape& s) {
  DeviceAccumulator<Tag> acc(device, stream, input, out, s.outer * s.size * s.inner);
  const int64_t n = s.outer * s.count * s.inner;
  if (n > 0) {
    indexAddKernel<Tag><<<blocksFor(n), kThreads, 0, stream>>>(index, static_cast<const typename Tag::Storage*>(source),
                                                                acc.data(), s, n);
  }
  acc.finish();
}

template <class Tag>
__global__ void unfoldKernel(const typename Tag::Storage* in, typename Tag::Storage* out, WindowShape w,
                             typename Tag::Storage pad, int64_t n) {
  MP_GRID_LOOP(i, n) {
    const int64_t ow = i % w.outW;
    int64_t t = i / w.outW;
    const int64_t oh = t % w.outH;
    t /= w.outH;
    const int64_t kj = t % w.kw;
    t /= w.kw;
    const int64_t ki = t % w.kh;
    const int64_t p = t / w.kh;
    const int64_t ih = oh * w.sh - w.ph + ki * w.dh;
    const int64_t iw = ow * w.sw - w.pw + kj * w.dw;
    out[i] = ih >= 0 && ih < w.height && iw >= 0 && iw < w.width ? in[(p * w.height + ih) * w.width + iw] : pad;
  }
}

// One thread per output pixel, visiting the windows that cover it in (ki, kj) order.
template <class Tag>
__global__ void foldKernel(const typename Tag::Storage* in, typename Tag::Storage* out, WindowShape w, int64_t n) {
  using C = typename Tag::Compute;
  const int64_t columns = w.outH * w.outW;
  MP_GRID_LOOP(i, n) {
    const int64_t iw = i % w.width;
    const int64_t ih = (i / w.width) % w.height;
    const int64_t p = i / (w.width * w.height);
    C sum = C(0);
    for (int64_t ki = 0; ki < w.kh; ++ki) {
      const int64_t hh = ih + w.ph - ki * w.dh;
      if (hh < 0 || hh % w.sh != 0 || hh / w.sh >= w.outH) continue;
      for (int64_t kj = 0; kj < w.kw; ++kj) {
        const int64_t ww = iw + w.pw - kj * w.dw;
        if (ww < 0 || ww % w.sw != 0 || ww / w.sw >= w.outW) continue;
        const int64_t row = (p * w.kh + ki) * w.kw + kj;
        sum = accumulate(sum, C(Tag::load(in[row * columns + (hh / w.sh) * w.outW + ww / w.sw])));
      }
    }
    out[i] = Tag::store(sum);
  }
}

}  // namespace

void where(int device, DType dtype, const uint8_t* cond, const void* a, const void* b, void* out, const WhereGeometry& g) {
  cudaStream_t stream = enter(device);
  const WhereGeometry c = coalesce(g);
  int64_t n = 1;
  for (int d = 0; d < c.ndim; ++d) n *= c.shape[d];
  MP_DISPATCH_WIDTH(dtype, whereKernel<Bits><<<blocksFor(n), kThreads, 0, stream>>>(
                               cond, static_cast<const Bits*>(a), static_cast<const Bits*>(b), static_cast<Bits*>(out), c, n));
  check(cudaGetLastError(), "where kernel launch");
}

void gather(int device, DType dtype, const void* self, const int32_t* index, void* out, const ScatterGeometry& g) {
  cudaStream_t stream = enter(device);
  int64_t n = 1;
  for (int d = 0; d < g.ndim; ++d) n *= g.indexShape[d];
  MP_DISPATCH_WIDTH(dtype, gatherKernel<Bits><<<blocksFor(n), kThreads, 0, stream>>>(
                               static_cast<const Bits*>(self), index, static_cast<Bits*>(out), g, n));
  check(cudaGetLastError(), "gather kernel launch");
}

void scatterAdd(int device, DType dtype, const void* input, const int32_t* index, const void* src, void* out,
                int64_t selfNumel, const ScatterGeometry& g) {
  cudaStream_t stream = enter(device);
  MP_DISPATCH_DTYPE(dtype, launchScatterAdd<Tag>(device, stream, input, index, src, out, selfNumel, g));
  check(cudaGetLastError(), "scatterAdd kernel launch");
}

void indexSelect(int device, DType dtype, const void* self, const int32_t* index, void* out, const IndexShape& s) {
  cudaStream_t stream = enter(device);
  const int64_t n = s.outer * s.count * s.inner;
  MP_DISPATCH_WIDTH(dtype, indexSelectKernel<Bits><<<blocksFor(n), kThreads, 0, stream>>>(
                               static_cast<const Bits*>(self), index, static_cast<Bits*>(out), s, n));
  check(cudaGetLastError(), "indexSelect kernel launch");
}

void indexAdd(int device, DType dtype, const void* input, const int32_t* index, const void* source, void* out,
              const IndexShape& s) {
  cudaStream_t stream = enter(device);
  MP_DISPATCH_DTYPE(dtype, launchIndexAdd<Tag>(device, stream, input, index, source, out, s));
  check(cudaGetLastError(), "indexAdd kernel launch");
}

void unfold(int device, DType dtype, const void* in, void* out, const WindowShape& w, double padValue) {
  cudaStream_t stream = enter(device);
  const int64_t n = w.planes * w.kh * w.kw * w.outH * w.outW;
  MP_DISPATCH_DTYPE(dtype, unfoldKernel<Tag><<<blocksFor(n), kThreads, 0, stream>>>(
                               static_cast<const typename Tag::Storage*>(in), static_cast<typename Tag::Storage*>(out), w,
                               Tag::fromDouble(padValue), n));
  check(cudaGetLastError(), "unfold kernel launch");
}

void fold(int device, DType dtype, const void* in, void* out, const WindowShape& w) {
  cudaStream_t stream = enter(device);
  const int64_t n = w.planes * w.height * w.width;
  MP_DISPATCH_DTYPE(dtype, foldKernel<Tag><<<blocksFor(n), kThreads, 0, stream>>>(
                               static_cast<const typename Tag::Storage*>(in), static_cast<typename Tag::Storage*>(out), w, n));
  check(cudaGetLastError(), "fold kernel launch");
}

// The fused convolution is a CPU kernel (cpu/convKernels.cpp): lib runs CUDA convolutions as
// unfold + matmul, which are batched GEMMs on the device already, and never calls these.
namespace {

[[noreturn]] void convolutionRefused(const char* op) {
  throwMixprecError("ERR_NOT_SUPPORTED",
                    std::string(op) + ": the CUDA backend has no fused convolution (lib runs CUDA convolutions as unfold + matmul)");
}

}  // namespace

void conv2dForward(int, DType, const void*, const void*, const void*, void*, const ConvShape&) { convolutionRefused("conv2dForward"); }

void conv2dBackwardInput(int, DType, const void*, const void*, void*, const ConvShape&) {
  convolutionRefused("conv2dBackwardInput");
}

void conv2dBackwardWeight(int, DType, const void*, const void*, void*, const ConvShape&) {
  convolutionRefused("conv2dBackwardWeight");
}

// Max pooling's one-pass kernels are CPU kernels too (cpu/poolKernels.cpp): lib pools CUDA
// tensors with unfold, argmax and gather.
void maxPool2dForward(int, DType, const void*, void*, int32_t*, const WindowShape&) {
  throwMixprecError("ERR_NOT_SUPPORTED", "maxPool2dForward: the CUDA backend has no one-pass max pooling (lib pools CUDA tensors with unfold, argmax and gather)");
}

void maxPool2dBackward(int, DType, const void*, const int32_t*, void*, const WindowShape&) {
  throwMixprecError("ERR_NOT_SUPPORTED", "maxPool2dBackward: the CUDA backend has no one-pass max pooling (lib pools CUDA tensors with unfold, argmax and gather)");
}

}  // namespace mp::cuda
