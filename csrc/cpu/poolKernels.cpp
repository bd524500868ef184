// Max pooling in one pass each way (maxPool2d on CPU float tensors), instead of unfold, argmax,
// gather and, backward, scatterAdd and fold: forward reads each window in place and writes its
// first maximum and the window slot it came from; backward adds each output's gradient at the
// pixel its slot names. Backward goes slot by slot, outputs in order within a slot (for one slot
// no two outputs name the same pixel), which is fold's order, so a pixel shared by overlapping
// windows sums its gradients exactly as the composed path did: the same bits.
#include "cpuKernels.h"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "../core/elementTypes.h"
#include "../core/threadPool.h"
#include "castKernels.h"
#include "indexingKernels.h"

namespace mp::cpu {
namespace {

// Whether no two windows share a pixel: then every pixel takes at most one gradient and the
// order of the additions cannot matter.
bool disjointWindows(const WindowShape& w) { return w.sh >= (w.kh - 1) * w.dh + 1 && w.sw >= (w.kw - 1) * w.dw + 1; }

// Where each window slot q = ki * kw + kj reads, built once per call: its offset from an output's
// window origin (oh * sh * width + ow * sw) and the outputs it reads inside the image, rows
// [rows.lo, rows.hi) by columns [cols.lo, cols.hi).
class WindowSlots {
 public:
  struct Slot {
    int64_t offset;
    OutputRange rows, cols;
  };

  explicit WindowSlots(const WindowShape& w) : w_(w), slots_(static_cast<size_t>(w.kh * w.kw)) {
    for (int64_t q = 0; q < w.kh * w.kw; ++q) {
      const int64_t rowOffset = (q / w.kw) * w.dh - w.ph, colOffset = (q % w.kw) * w.dw - w.pw;
      slots_[size_t(q)] = {rowOffset * w.width + colOffset, insideOutputs(rowOffset, w.sh, w.height, w.outH),
                           insideOutputs(colOffset, w.sw, w.width, w.outW)};
    }
  }

  const Slot& operator[](int64_t q) const { return slots_[size_t(q)]; }
  int64_t size() const { return int64_t(slots_.size()); }

  // The input pixel output (oh, ow) reads through slot q, or -1: the padding, or a q outside the
  // window.
  int64_t pixel(int64_t oh, int64_t ow, int64_t q) const {
    if (q < 0 || q >= size()) return -1;
    const Slot& t = slots_[size_t(q)];
    const bool inside = oh >= t.rows.lo && oh < t.rows.hi && ow >= t.cols.lo && ow < t.cols.hi;
    return inside ? oh * w_.sh * w_.width + ow * w_.sw + t.offset : -1;
  }

 private:
  const WindowShape& w_;
  std::vector<Slot> slots_;
};

// Slot by slot over a plane's outputs: each slot's values are gathered into a contiguous array
// (-inf where the slot is in the padding), then every output compares them with its best so far
// in one loop without branches (which the compiler vectorizes; a branch per comparison
// mispredicts half the time on real data).
template <class Tag>
void forwardTyped(const void* xv, void* yv, int32_t* slots, const WindowShape& w) {
  using S = typename Tag::Storage;
  using C = typename Tag::Compute;
  constexpr bool kDirect = std::is_same_v<S, C>;
  const auto* x = static_cast<const S*>(xv);
  auto* y = static_cast<S*>(yv);
  const S padding = Tag::fromDouble(-INFINITY);
  const int64_t pixels = w.height * w.width, outputs = w.outH * w.outW, window = w.kh * w.kw;
  const WindowSlots table(w);
  parallelFor(w.planes, indexingGrain(outputs * window), [&](int64_t begin, int64_t end) {
    std::vector<C> best(static_cast<size_t>(outputs)), values(static_cast<size_t>(outputs));
    std::vector<int32_t> slot(static_cast<size_t>(outputs));
    std::vector<C> wide(kDirect ? 0 : size_t(pixels));  // a 16-bit plane widened by the SIMD cast kernels
    for (int64_t p = begin; p < end; ++p) {
      const S* plane = x + p * pixels;
      const C* image;
      if constexpr (kDirect) {
        image = plane;
      } else {
        loadRow<Tag>(plane, wide.data(), pixels);
        image = wide.data();
      }
      for (int64_t q = 0; q < window; ++q) {
        const WindowSlots::Slot& t = table[q];
        const bool partial = t.rows.lo > 0 || t.rows.hi < w.outH || t.cols.lo > 0 || t.cols.hi < w.outW;
        if (partial) std::fill(values.begin(), values.end(), C(-INFINITY));
        for (int64_t oh = t.rows.lo; oh < t.rows.hi; ++oh) {
          const C* row = image + oh * w.sh * w.width + t.offset;
          C* v = values.data() + oh * w.outW;
          for (int64_t ow = t.cols.lo; ow < t.cols.hi; ++ow) v[ow] = row[ow * w.sw];
        }
        if (q == 0) {
          // argmax starts from the window's first element, padding (-inf) included.
          best.swap(values);
          std::fill(slot.begin(), slot.end(), 0);
          continue;
        }
        // The first maximum, and the first NaN wins over everything after it.
        C* b = best.data();
        const C* v = values.data();
        int32_t* s = slot.data();
        const int32_t qi = int32_t(q);
        for (int64_t o = 0; o < outputs; ++o) {
          const bool take = ((v[o] > b[o]) | (v[o] != v[o])) & (b[o] == b[o]);
          b[o] = take ? v[o] : b[o];
          s[o] = take ? qi : s[o];
        }
      }
      // The winners' own bits (a 16-bit NaN keeps its payload), read back through their slots.
      for (int64_t oh = 0, o = 0; oh < w.outH; ++oh) {
        for (int64_t ow = 0; ow < w.outW; ++ow, ++o) {
          const int64_t at = table.pixel(oh, ow, slot[size_t(o)]);
          y[p * outputs + o] = at >= 0 ? plane[at] : padding;
          slots[p * outputs + o] = slot[size_t(o)];
        }
      }
    }
  });
}

template <class Tag>
void backwardTyped(const void* dyv, const int32_t* slots, void* dxv, const WindowShape& w) {
  using S = typename Tag::Storage;
  using C = typename Tag::Compute;
  constexpr bool kDirect = std::is_same_v<S, C>;
  const auto* dy = static_cast<const S*>(dyv);
  auto* dx = static_cast<S*>(dxv);
  const int64_t pixels = w.height * w.width, outputs = w.outH * w.outW, window = w.kh * w.kw;
  const bool disjoint = disjointWindows(w);
  const WindowSlots table(w);
  parallelFor(w.planes, indexingGrain(outputs * window), [&](int64_t begin, int64_t end) {
    // 16-bit gradients are widened by the SIMD cast kernels, summed in float32 and rounded once
    // per pixel, as fold does.
    std::vector<C> scratch(kDirect ? 0 : size_t(pixels)), wide(kDirect ? 0 : size_t(outputs));
    for (int64_t p = begin; p < end; ++p) {
      const int32_t* slot = slots + p * outputs;
      S* plane = dx + p * pixels;
      const C* g;
      C* acc;
      if constexpr (kDirect) {
        g = dy + p * outputs;
        acc = plane;
      } else {
        loadRow<Tag>(dy + p * outputs, wide.data(), outputs);
        g = wide.data();
        acc = scratch.data();
      }
      std::fill(acc, acc + pixels, C(0));
      if (disjoint) {
        // One gradient at most per pixel: the order cannot matter, so one pass over the outputs.
        for (int64_t oh = 0, o = 0; oh < w.outH; ++oh) {
          for (int64_t ow = 0; ow < w.outW; ++ow, ++o) {
            const int64_t at = table.pixel(oh, ow, slot[o]);
            if (at >= 0) acc[at] += g[o];
          }
        }
      } else {
        // Slot by slot, outputs in order within a slot: fold's order of additions.
        for (int32_t q = 0; q < window; ++q) {
          for (int64_t oh = 0, o = 0; oh < w.outH; ++oh) {
            for (int64_t ow = 0; ow < w.outW; ++ow, ++o) {
              if (slot[o] != q) continue;
              const int64_t at = table.pixel(oh, ow, q);
              if (at >= 0) acc[at] += g[o];
            }
          }
        }
      }
      if constexpr (!kDirect) storeRow<Tag>(acc, plane, pixels);
    }
  });
}

}  // namespace

void maxPool2dForward(DType dtype, const void* x, void* y, int32_t* slots, const WindowShape& w) {
  MP_DISPATCH_FLOATING(dtype, forwardTyped<Tag>(x, y, slots, w));
}

void maxPool2dBackward(DType dtype, const void* dy, const int32_t* slots, void* dx, const WindowShape& w) {
  MP_DISPATCH_FLOATING(dtype, backwardTyped<Tag>(dy, slots, dx, w));
}

}  // namespace mp::cpu
