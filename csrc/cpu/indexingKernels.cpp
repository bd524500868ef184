#include "indexingKernels.h"
#include "cpuKernels.h"

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "../core/elementTypes.h"
#include "../core/threadPool.h"
#include "castKernels.h"

namespace mp::cpu {
namespace {

// Where an out-of-place scatter accumulates: the output itself when values are stored in their
// compute type, else a float32 copy that is rounded into the output once at the end, so a 16-bit
// element hit many times is rounded once rather than after every addition.
template <class Tag>
class Accumulator {
 public:
  using S = typename Tag::Storage;
  using C = typename Tag::Compute;
  static constexpr bool kDirect = std::is_same_v<S, C>;

  Accumulator(const S* input, S* out, int64_t n) : out_(out), n_(n) {
    if constexpr (kDirect) {
      data_ = out;
      parallelFor(n, kIndexingGrain, [&](int64_t b, int64_t e) { std::memcpy(out + b, input + b, size_t(e - b) * sizeof(S)); });
    } else {
      scratch_.resize(size_t(n));
      data_ = scratch_.data();
      parallelFor(n, kIndexingGrain, [&](int64_t b, int64_t e) { loadRow<Tag>(input + b, data_ + b, e - b); });
    }
  }
  C* data() { return data_; }
  void finish() {
    if constexpr (!kDirect) {
      parallelFor(n_, kIndexingGrain, [&](int64_t b, int64_t e) { storeRow<Tag>(data_ + b, out_ + b, e - b); });
    }
  }

 private:
  S* out_;
  int64_t n_;
  C* data_ = nullptr;
  std::vector<C> scratch_;
};

template <class Bits>
void whereTyped(const uint8_t* cond, const void* av, const void* bv, void* outv, const WhereGeometry& geometry) {
  const auto* a = static_cast<const Bits*>(av);
  const auto* b = static_cast<const Bits*>(bv);
  auto* out = static_cast<Bits*>(outv);
  const WhereGeometry g = coalesce(geometry);
  const int last = g.ndim - 1;
  const int64_t inner = g.shape[last];
  const int64_t sc = g.strideCond[last], sa = g.strideA[last], sb = g.strideB[last];
  int64_t rows = 1;
  for (int d = 0; d < last; ++d) rows *= g.shape[d];
  parallelFor(rows, indexingGrain(inner), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      int64_t oc = 0, oa = 0, ob = 0;
      for (int64_t d = last - 1, rest = r; d >= 0; --d) {
        const int64_t idx = rest % g.shape[d];
        rest /= g.shape[d];
        oc += idx * g.strideCond[d];
        oa += idx * g.strideA[d];
        ob += idx * g.strideB[d];
      }
      Bits* o = out + r * inner;
      for (int64_t i = 0; i < inner; ++i) o[i] = cond[oc + i * sc] ? a[oa + i * sa] : b[ob + i * sb];
    }
  });
}

// Visits every index element as element(offIndex, offSelf, offOther), offSelf leaving the
// coordinate along `dim` at 0. The work is split into lines no two threads share an output
// element of: a line fixes every coordinate except `dim` and (when dim is not last) the last
// one, and walks dim outermost and the last dimension innermost.
template <class ElementFn>
void forEachScatterElement(const ScatterGeometry& g, const ElementFn& element) {
  const int last = g.ndim - 1;
  const bool dimIsLast = g.dim == last;
  const int64_t inner = dimIsLast ? 1 : g.indexShape[last];
  const int64_t span = g.indexShape[g.dim];
  int64_t numel = 1;
  for (int d = 0; d < g.ndim; ++d) numel *= g.indexShape[d];
  if (numel == 0) return;
  const int64_t ki = dimIsLast ? 0 : g.indexStride[last], ks = dimIsLast ? 0 : g.selfStride[last],
                ko = dimIsLast ? 0 : g.otherStride[last];
  const int64_t ji = g.indexStride[g.dim], jo = g.otherStride[g.dim];
  const int64_t perLine = span * inner;
  parallelFor(numel / perLine, indexingGrain(perLine), [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      int64_t offIndex = 0, offSelf = 0, offOther = 0;
      int64_t rest = t;
      for (int d = last; d >= 0; --d) {
        if (d == g.dim || (d == last && !dimIsLast)) continue;
        const int64_t idx = rest % g.indexShape[d];
        rest /= g.indexShape[d];
        offIndex += idx * g.indexStride[d];
        offSelf += idx * g.selfStride[d];
        offOther += idx * g.otherStride[d];
      }
      for (int64_t j = 0; j < span; ++j) {
        for (int64_t k = 0; k < inner; ++k) element(offIndex + j * ji + k * ki, offSelf + k * ks, offOther + j * jo + k * ko);
      }
    }
  });
}

template <class S>
void gatherTyped(const void* selfv, const int32_t* index, void* outv, const ScatterGeometry& g) {
  const auto* self = static_cast<const S*>(selfv);
  auto* out = static_cast<S*>(outv);
  const int64_t js = g.selfStride[g.dim];
  forEachScatterElement(g, [&](int64_t i, int64_t s, int64_t o) { out[o] = self[s + index[i] * js]; });
}

template <class Tag>
void scatterAddTyped(const void* inputv, const int32_t* index, const void* srcv, void* outv, int64_t selfNumel,
                     const ScatterGeometry& g) {
  using S = typename Tag::Storage;
  using C = typename Tag::Compute;
  const auto* src = static_cast<const S*>(srcv);
  Accumulator<Tag> acc(static_cast<const S*>(inputv), static_cast<S*>(outv), selfNumel);
  C* a = acc.data();
  const int64_t js = g.selfStride[g.dim];
  forEachScatterElement(g, [&](int64_t i, int64_t s, int64_t o) {
    C& dst = a[s + index[i] * js];
    dst = accumulate(dst, C(Tag::load(src[o])));
  });
  acc.finish();
}

template <class Tag>
void indexAddTyped(const void* inputv, const int32_t* index, const void* sourcev, void* outv, const IndexShape& s) {
  using S = typename Tag::Storage;
  using C = typename Tag::Compute;
  const auto* source = static_cast<const S*>(sourcev);
  Accumulator<Tag> acc(static_cast<const S*>(inputv), static_cast<S*>(outv), s.outer * s.size * s.inner);
  C* a = acc.data();
  // Threads split outer slices and column ranges, never index entries: two entries may name the
  // same row, and each column then sums its contributions in index order on one thread.
  const int64_t columns = s.inner < 1024 ? s.inner : 1024;
  const int64_t chunks = (s.inner + columns - 1) / columns;
  parallelFor(s.outer * chunks, indexingGrain(s.count * columns), [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t o = t / chunks;
      const int64_t c0 = (t % chunks) * columns;
      const int64_t c1 = c0 + columns < s.inner ? c0 + columns : s.inner;
      for (int64_t i = 0; i < s.count; ++i) {
        C* dst = a + (o * s.size + index[i]) * s.inner;
        const S* x = source + (o * s.count + i) * s.inner;
        for (int64_t c = c0; c < c1; ++c) dst[c] = accumulate(dst[c], C(Tag::load(x[c])));
      }
    }
  });
  acc.finish();
}

// dst[oh][ow] = src[oh + rows][ow + cols] (an H x W image shifted), pad where that is outside it.
template <class S>
void unfoldShifted(const S* src, S* dst, int64_t height, int64_t width, int64_t rows, int64_t cols, S pad) {
  const int64_t pixels = height * width;
  const int64_t rowLo = std::clamp<int64_t>(-rows, 0, height), rowHi = std::clamp<int64_t>(height - rows, rowLo, height);
  std::fill(dst, dst + rowLo * width, pad);
  std::fill(dst + rowHi * width, dst + pixels, pad);
  if (cols <= -width || cols >= width) {
    std::fill(dst + rowLo * width, dst + rowHi * width, pad);
    return;
  }
  // One copy of the inside rows (element f of dst reads f + shift of src); the columns that
  // wrapped to a neighbouring row (or past either end) are the padding columns, set after.
  const int64_t shift = rows * width + cols;
  const int64_t from = std::max(rowLo * width, -shift), to = std::min(rowHi * width, pixels - shift);
  if (from < to) std::memcpy(dst + from, src + from + shift, size_t(to - from) * sizeof(S));
  for (int64_t oh = rowLo; oh < rowHi; ++oh) {
    S* o = dst + oh * width;
    if (cols > 0) std::fill(o + width - cols, o + width, pad);
    if (cols < 0) std::fill(o, o - cols, pad);
  }
}

template <class Tag>
void unfoldTyped(const void* inv, void* outv, const WindowShape& w, double padValue) {
  using S = typename Tag::Storage;
  const auto* in = static_cast<const S*>(inv);
  auto* out = static_cast<S*>(outv);
  const S pad = Tag::fromDouble(padValue);
  const int64_t window = w.kh * w.kw;
  const int64_t columns = w.outH * w.outW;
  // Stride 1 with an output the input's size (a "same" convolution): each row of columns is the
  // image shifted by the window offset, so it is one block copy plus the padding around it.
  const bool same = w.sh == 1 && w.sw == 1 && w.outH == w.height && w.outW == w.width;
  parallelFor(w.planes * window, indexingGrain(columns), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t p = r / window;
      const int64_t ki = (r % window) / w.kw, kj = r % w.kw;
      const int64_t colOffset = kj * w.dw - w.pw;
      const OutputRange cols = insideOutputs(colOffset, w.sw, w.width, w.outW);
      const S* plane = in + p * w.height * w.width;
      S* row = out + r * columns;
      if (same) {
        unfoldShifted(plane, row, w.height, w.width, ki * w.dh - w.ph, colOffset, pad);
        continue;
      }
      for (int64_t oh = 0; oh < w.outH; ++oh) {
        const int64_t ih = oh * w.sh - w.ph + ki * w.dh;
        S* o = row + oh * w.outW;
        if (ih < 0 || ih >= w.height) {
          for (int64_t ow = 0; ow < w.outW; ++ow) o[ow] = pad;
          continue;
        }
        const S* x = plane + ih * w.width;
        for (int64_t ow = 0; ow < cols.lo; ++ow) o[ow] = pad;
        if (w.sw == 1) {
          for (int64_t ow = cols.lo; ow < cols.hi; ++ow) o[ow] = x[ow + colOffset];
        } else {
          for (int64_t ow = cols.lo; ow < cols.hi; ++ow) o[ow] = x[ow * w.sw + colOffset];
        }
        for (int64_t ow = cols.hi; ow < w.outW; ++ow) o[ow] = pad;
      }
    }
  });
}

template <class Tag>
void foldTyped(const void* inv, void* outv, const WindowShape& w) {
  using S = typename Tag::Storage;
  using C = typename Tag::Compute;
  constexpr bool kDirect = std::is_same_v<S, C>;
  const auto* in = static_cast<const S*>(inv);
  auto* out = static_cast<S*>(outv);
  const int64_t window = w.kh * w.kw;
  const int64_t columns = w.outH * w.outW;
  const int64_t pixels = w.height * w.width;
  // Threads own whole planes, so every pixel sums its windows in one fixed order.
  parallelFor(w.planes, indexingGrain(window * columns), [&](int64_t begin, int64_t end) {
    // Rows not stored in the compute type are widened once each into `wide` (SIMD for 16-bit).
    std::vector<C> scratch(kDirect ? 0 : size_t(pixels));
    std::vector<C> wide(kDirect ? 0 : size_t(columns));
    for (int64_t p = begin; p < end; ++p) {
      C* acc;
      if constexpr (kDirect) {
        acc = out + p * pixels;
      } else {
        acc = scratch.data();
      }
      for (int64_t i = 0; i < pixels; ++i) acc[i] = C(0);
      for (int64_t q = 0; q < window; ++q) {
        const int64_t ki = q / w.kw, kj = q % w.kw;
        const int64_t colOffset = kj * w.dw - w.pw;
        const OutputRange cols = insideOutputs(colOffset, w.sw, w.width, w.outW);
        const S* stored = in + (p * window + q) * columns;
        const C* row;
        if constexpr (kDirect) {
          row = stored;
        } else {
          loadRow<Tag>(stored, wide.data(), columns);
          row = wide.data();
        }
        for (int64_t oh = 0; oh < w.outH; ++oh) {
          const int64_t ih = oh * w.sh - w.ph + ki * w.dh;
          if (ih < 0 || ih >= w.height) continue;
          C* dst = acc + ih * w.width;
          const C* x = row + oh * w.outW;
          if (w.sw == 1) {
            // Unit stride: a contiguous add the compiler vectorizes (same additions, same order).
            C* d = dst + (cols.lo + colOffset);
            const C* v = x + cols.lo;
            for (int64_t i = 0; i < cols.hi - cols.lo; ++i) d[i] = accumulate(d[i], v[i]);
          } else {
            for (int64_t ow = cols.lo; ow < cols.hi; ++ow) {
              C& d = dst[ow * w.sw + colOffset];
              d = accumulate(d, x[ow]);
            }
          }
        }
      }
      if constexpr (!kDirect) storeRow<Tag>(acc, out + p * pixels, pixels);
    }
  });
}

}  // namespace

int64_t firstIndexOutOfRange(const int32_t* index, int64_t n, int64_t bound) {
  for (int64_t i = 0; i < n; ++i) {
    if (index[i] < 0 || index[i] >= bound) return i;
  }
  return -1;
}

void where(DType dtype, const uint8_t* cond, const void* a, const void* b, void* out, const WhereGeometry& g) {
  MP_DISPATCH_WIDTH(dtype, whereTyped<Bits>(cond, a, b, out, g));
}

void gather(DType dtype, const void* self, const int32_t* index, void* out, const ScatterGeometry& g) {
  MP_DISPATCH_WIDTH(dtype, gatherTyped<Bits>(self, index, out, g));
}

// Deterministic, like indexAdd and fold: each output element sums its contributions in index order.
void scatterAdd(DType dtype, const void* input, const int32_t* index, const void* src, void* out, int64_t selfNumel,
                const ScatterGeometry& g) {
  MP_DISPATCH_DTYPE(dtype, scatterAddTyped<Tag>(input, index, src, out, selfNumel, g));
}

void indexSelect(DType dtype, const void* self, const int32_t* index, void* out, const IndexShape& s) {
  const size_t bytes = elementSize(dtype);
  const auto* in = static_cast<const char*>(self);
  auto* o = static_cast<char*>(out);
  parallelFor(s.outer * s.count, indexingGrain(s.inner), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t outer = r / s.count;
      const int64_t row = outer * s.size + index[r % s.count];
      std::memcpy(o + size_t(r * s.inner) * bytes, in + size_t(row * s.inner) * bytes, size_t(s.inner) * bytes);
    }
  });
}

void indexAdd(DType dtype, const void* input, const int32_t* index, const void* source, void* out, const IndexShape& s) {
  MP_DISPATCH_DTYPE(dtype, indexAddTyped<Tag>(input, index, source, out, s));
}

void unfold(DType dtype, const void* in, void* out, const WindowShape& w, double padValue) {
  MP_DISPATCH_DTYPE(dtype, unfoldTyped<Tag>(in, out, w, padValue));
}

void fold(DType dtype, const void* in, void* out, const WindowShape& w) {
  MP_DISPATCH_DTYPE(dtype, foldTyped<Tag>(in, out, w));
}

}  // namespace mp::cpu
