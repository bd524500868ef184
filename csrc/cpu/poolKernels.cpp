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

namespace mp::cpu {
namespace {

constexpr int64_t kGrain = 1 << 15;

int64_t grainFor(int64_t workPerItem) { return workPerItem >= kGrain ? 1 : kGrain / (workPerItem > 0 ? workPerItem : 1); }

// Input row of window row ki for output row oh, or -1 in the padding.
int64_t inputRow(const WindowShape& w, int64_t oh, int64_t ki) {
  const int64_t ih = oh * w.sh - w.ph + ki * w.dh;
  return ih >= 0 && ih < w.height ? ih : -1;
}

// Whether no two windows share a pixel: then every pixel takes at most one gradient and the
// order of the additions cannot matter.
bool disjointWindows(const WindowShape& w) { return w.sh >= (w.kh - 1) * w.dh + 1 && w.sw >= (w.kw - 1) * w.dw + 1; }

// Output columns [lo, hi) whose window column kj lies inside the image.
void insideColumns(const WindowShape& w, int64_t kj, int64_t& lo, int64_t& hi) {
  const int64_t offset = kj * w.dw - w.pw;  // input column of output column ow: ow * sw + offset
  lo = offset >= 0 ? 0 : (-offset + w.sw - 1) / w.sw;
  hi = w.width - 1 - offset < 0 ? 0 : (w.width - 1 - offset) / w.sw + 1;
  lo = std::min(lo, w.outW);
  hi = std::max(lo, std::min(hi, w.outW));
}

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
  parallelFor(w.planes, grainFor(outputs * window), [&](int64_t begin, int64_t end) {
    std::vector<C> best(static_cast<size_t>(outputs)), values(static_cast<size_t>(outputs));
    std::vector<int32_t> slot(static_cast<size_t>(outputs));
    std::vector<C> wide(kDirect ? 0 : size_t(pixels));  // a 16-bit plane widened by the SIMD cast kernels
    // Per slot: its offset in the image and the output rows [rowLo, rowHi) and columns [lo, hi)
    // that read inside the image.
    struct Slot {
      int64_t offset, rowLo, rowHi, lo, hi;
    };
    std::vector<Slot> table(static_cast<size_t>(window));
    for (int64_t q = 0; q < window; ++q) {
      Slot& t = table[size_t(q)];
      const int64_t ki = q / w.kw, kj = q % w.kw;
      t.offset = (ki * w.dh - w.ph) * w.width + kj * w.dw - w.pw;
      t.rowLo = 0;
      while (t.rowLo < w.outH && inputRow(w, t.rowLo, ki) < 0) ++t.rowLo;
      t.rowHi = t.rowLo;
      while (t.rowHi < w.outH && inputRow(w, t.rowHi, ki) >= 0) ++t.rowHi;
      insideColumns(w, kj, t.lo, t.hi);
    }
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
        const Slot& t = table[size_t(q)];
        const bool partial = t.rowLo > 0 || t.rowHi < w.outH || t.lo > 0 || t.hi < w.outW;
        if (partial) std::fill(values.begin(), values.end(), C(-INFINITY));
        for (int64_t oh = t.rowLo; oh < t.rowHi; ++oh) {
          const C* row = image + oh * w.sh * w.width + t.offset;
          C* v = values.data() + oh * w.outW;
          for (int64_t ow = t.lo; ow < t.hi; ++ow) v[ow] = row[ow * w.sw];
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
          const Slot& t = table[size_t(slot[size_t(o)])];
          const bool inside = oh >= t.rowLo && oh < t.rowHi && ow >= t.lo && ow < t.hi;
          y[p * outputs + o] = inside ? plane[oh * w.sh * w.width + ow * w.sw + t.offset] : padding;
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
  parallelFor(w.planes, grainFor(outputs * window), [&](int64_t begin, int64_t end) {
    // 16-bit gradients are widened by the SIMD cast kernels, summed in float32 and rounded once
    // per pixel, as fold does.
    std::vector<C> scratch(kDirect ? 0 : size_t(pixels)), wide(kDirect ? 0 : size_t(outputs));
    std::vector<int64_t> slotRow(static_cast<size_t>(window)), slotColumn(static_cast<size_t>(window));
    for (int64_t q = 0; q < window; ++q) {
      slotRow[size_t(q)] = (q / w.kw) * w.dh;
      slotColumn[size_t(q)] = (q % w.kw) * w.dw;
    }
    // The input pixel of output (oh, ow)'s slot q, or -1 in the padding or for a slot outside the
    // window.
    const auto pixelOf = [&](int64_t oh, int64_t ow, int32_t q) -> int64_t {
      if (q < 0 || q >= window) return -1;
      const int64_t ih = oh * w.sh - w.ph + slotRow[size_t(q)], iw = ow * w.sw - w.pw + slotColumn[size_t(q)];
      return ih >= 0 && ih < w.height && iw >= 0 && iw < w.width ? ih * w.width + iw : -1;
    };
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
            const int64_t at = pixelOf(oh, ow, slot[o]);
            if (at >= 0) acc[at] += g[o];
          }
        }
      } else {
        // Slot by slot, outputs in order within a slot: fold's order of additions.
        for (int32_t q = 0; q < window; ++q) {
          for (int64_t oh = 0, o = 0; oh < w.outH; ++oh) {
            for (int64_t ow = 0; ow < w.outW; ++ow, ++o) {
              if (slot[o] != q) continue;
              const int64_t at = pixelOf(oh, ow, q);
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
