// Geometry of the indexing and sliding-window kernels (where, gather/scatterAdd, indexSelect/
// indexAdd, unfold/fold), shared by the CPU and CUDA backends.
#pragma once
#include <cstdint>
#include <type_traits>

#include "hostDevice.h"
#include "kernelArgs.h"

namespace mp {

// A contiguous output of shape[0..ndim) and the element strides of the condition and of both
// value operands read against it (0 along broadcast dimensions).
struct WhereGeometry {
  int ndim = 0;
  int64_t shape[kMaxDims] = {};
  int64_t strideCond[kMaxDims] = {};
  int64_t strideA[kMaxDims] = {};
  int64_t strideB[kMaxDims] = {};
};

MP_HD void whereOffsets(const WhereGeometry& g, int64_t i, int64_t& offCond, int64_t& offA, int64_t& offB) {
  offCond = 0;
  offA = 0;
  offB = 0;
  for (int d = g.ndim - 1; d >= 0; --d) {
    const int64_t idx = i % g.shape[d];
    i /= g.shape[d];
    offCond += idx * g.strideCond[d];
    offA += idx * g.strideA[d];
    offB += idx * g.strideB[d];
  }
}

// Merges dimensions contiguous in all three operands and drops size-1 ones, as coalesce() does
// for two, so the CPU kernel gets long rows and the CUDA kernel few divisions.
inline WhereGeometry coalesce(const WhereGeometry& g) {
  WhereGeometry r;
  r.ndim = coalesceDims<3>(g.ndim, g.shape, {g.strideCond, g.strideA, g.strideB}, r.shape, {r.strideCond, r.strideA, r.strideB});
  return r;
}

// gather and scatterAdd over contiguous tensors of one rank. The index tensor's shape is the
// iteration space; `self` is gather's input or scatterAdd's output (indexed along `dim`),
// `other` is gather's output or scatterAdd's source (read at the index element's position).
struct ScatterGeometry {
  int ndim = 0;
  int dim = 0;
  int64_t indexShape[kMaxDims] = {};
  int64_t indexStride[kMaxDims] = {};
  int64_t selfStride[kMaxDims] = {};
  int64_t otherStride[kMaxDims] = {};
  int64_t dimSize = 0;  // self's size along dim: indices must lie in [0, dimSize)
};

// Offsets of index element i (row-major over indexShape) in index and other, and the offset in
// self of its position with the coordinate along dim left at 0.
MP_HD void scatterOffsets(const ScatterGeometry& g, int64_t i, int64_t& offIndex, int64_t& offSelf, int64_t& offOther) {
  offIndex = 0;
  offSelf = 0;
  offOther = 0;
  for (int d = g.ndim - 1; d >= 0; --d) {
    const int64_t idx = i % g.indexShape[d];
    i /= g.indexShape[d];
    offIndex += idx * g.indexStride[d];
    offOther += idx * g.otherStride[d];
    if (d != g.dim) offSelf += idx * g.selfStride[d];
  }
}

// indexSelect / indexAdd: self viewed as [outer, size, inner] and the other operand as
// [outer, count, inner]; index has `count` entries in [0, size).
struct IndexShape {
  int64_t outer = 0;
  int64_t size = 0;
  int64_t inner = 0;
  int64_t count = 0;
};

// unfold / fold: `planes` (N * C) images of height x width, a kh x kw window with dilation
// (dh, dw), zero-or-more padding (ph, pw) and stride (sh, sw), giving outH x outW blocks.
struct WindowShape {
  int64_t planes = 0, height = 0, width = 0;
  int64_t kh = 1, kw = 1, dh = 1, dw = 1, ph = 0, pw = 0, sh = 1, sw = 1;
  int64_t outH = 0, outW = 0;
};

// conv2d: `batch` images of `window.planes` (= inChannels) channels, weights [outChannels,
// inChannels / groups, kh, kw], output [batch, outChannels, outH, outW]; window describes one
// image (its planes are that image's channels).
struct ConvShape {
  int64_t batch = 0;
  int64_t outChannels = 0;
  int64_t groups = 1;
  WindowShape window;
};

// acc + v for the scatter and fold sums; integer sums wrap (as PyTorch's do) instead of being
// undefined behaviour.
template <class T>
MP_HD T accumulate(T acc, T v) {
  if constexpr (std::is_integral_v<T>) {
    return T(std::make_unsigned_t<T>(acc) + std::make_unsigned_t<T>(v));
  } else {
    return acc + v;
  }
}

// Number of window positions along one axis (PyTorch's formula; below 1 means none fit).
MP_HD int64_t windowCount(int64_t size, int64_t kernel, int64_t dilation, int64_t padding, int64_t stride) {
  const int64_t span = size + 2 * padding - dilation * (kernel - 1) - 1;
  return span < 0 ? 0 : span / stride + 1;
}

}  // namespace mp
