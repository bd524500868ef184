// The fused ops on the CPU: rows split over the thread pool. float32 and 16-bit rows take the
// AVX2 rows of fusedAvx2.cpp at SimdLevel::F16c and the AVX-512 ones above it where they exist.
// GELU and cross-entropy rows read 16-bit storage themselves; the norm rows take float32, so
// 16-bit rows are converted to float32 scratch and back, each row once. Every output is rounded
// once either way. float64 and the scalar level run the rows of
// core/fusedMath.h, which double as the reference.
#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "../core/elementTypes.h"
#include "../core/fusedMath.h"
#include "../core/threadPool.h"
#include "castKernels.h"
#include "cpuFeatures.h"
#include "cpuKernels.h"
#include "fusedSimd.h"

namespace mp::cpu {
namespace {

constexpr int64_t kGrainElements = 1 << 14;
// Rows whose dweight / dbias partial sums one buffer collects: a fixed split, so the column sums
// are added in the same order whatever the number of threads.
constexpr int64_t kRowsPerPartial = 64;

int64_t rowGrain(int64_t cols) { return std::max<int64_t>(1, kGrainElements / std::max<int64_t>(cols, 1)); }

template <class Tag>
constexpr bool kVectorable = std::is_same_v<typename Tag::Compute, float>;

bool vectorLevel() { return activeSimdLevel() >= SimdLevel::F16c; }
bool avx512Level() { return activeSimdLevel() >= SimdLevel::Avx512; }

// A row of Tag's storage as float32: the row itself for float32, else converted into `scratch`.
template <class Tag>
const float* floatRow(const typename Tag::Storage* row, int64_t n, std::vector<float>& scratch) {
  if constexpr (std::is_same_v<Tag, F32Tag>) {
    return row;
  } else {
    scratch.resize(size_t(n));
    loadRow<Tag>(row, scratch.data(), n);
    return scratch.data();
  }
}

// Where a float32 result row goes: the output itself for float32, else `scratch` (then finishRow).
template <class Tag>
float* resultRow(typename Tag::Storage* row, int64_t n, std::vector<float>& scratch) {
  if constexpr (std::is_same_v<Tag, F32Tag>) {
    return row;
  } else {
    scratch.resize(size_t(n));
    return scratch.data();
  }
}

// Rounds a 16-bit row's float32 result into storage; a float32 result is already in place.
template <class Tag>
void finishRow(const float* result, typename Tag::Storage* row, int64_t n) {
  if constexpr (!std::is_same_v<Tag, F32Tag>) storeRow<Tag>(result, row, n);
}

struct Scratch {
  std::vector<float> a, b, c;
};
Scratch& threadScratch() {
  thread_local Scratch s;
  return s;
}

template <class Tag>
void normForwardTyped(bool rms, const void* xv, const void* wv, const void* bv, void* yv, void* meanv, void* rstdv,
                      int64_t rows, int64_t cols, double eps) {
  using S = typename Tag::Storage;
  using C = typename Tag::Compute;
  const auto* x = static_cast<const S*>(xv);
  auto* y = static_cast<S*>(yv);
  const auto* w = static_cast<const C*>(wv);
  const auto* b = static_cast<const C*>(bv);
  auto* mean = static_cast<C*>(meanv);
  auto* rstd = static_cast<C*>(rstdv);
  const bool vector = vectorLevel();
  parallelFor(rows, rowGrain(cols), [&](int64_t begin, int64_t end) {
    Scratch& s = threadScratch();
    for (int64_t r = begin; r < end; ++r) {
      const S* xr = x + r * cols;
      S* yr = y + r * cols;
      if constexpr (kVectorable<Tag>) {
        if (vector) {
          float* out = resultRow<Tag>(yr, cols, s.b);
          simd::normRowForwardAvx2(floatRow<Tag>(xr, cols, s.a), w, b, out, cols, float(eps), rms, mean + r, rstd + r);
          finishRow<Tag>(out, yr, cols);
          continue;
        }
      }
      normRowForward<Tag>(xr, w, b, yr, cols, C(eps), rms, mean + r, rstd + r);
    }
  });
}

template <class Tag>
void normBackwardTyped(bool rms, const void* dyv, const void* xv, const void* wv, const void* meanv, const void* rstdv,
                       void* dxv, void* dwv, void* dbv, int64_t rows, int64_t cols) {
  using S = typename Tag::Storage;
  using C = typename Tag::Compute;
  const auto* dy = static_cast<const S*>(dyv);
  const auto* x = static_cast<const S*>(xv);
  const auto* w = static_cast<const C*>(wv);
  const auto* mean = static_cast<const C*>(meanv);
  const auto* rstd = static_cast<const C*>(rstdv);
  auto* dx = static_cast<S*>(dxv);
  auto* dw = static_cast<C*>(dwv);
  auto* db = static_cast<C*>(dbv);
  const bool vector = vectorLevel();
  const int64_t partials = (rows + kRowsPerPartial - 1) / kRowsPerPartial;
  const bool sums = dw || db;
  // Per block of rows: its dweight then its dbias partial sums.
  std::vector<C> partial(sums ? size_t(partials * 2 * cols) : 0, C(0));
  parallelFor(partials, std::max<int64_t>(1, rowGrain(cols) / kRowsPerPartial), [&](int64_t begin, int64_t end) {
    Scratch& s = threadScratch();
    for (int64_t p = begin; p < end; ++p) {
      C* pw = dw ? partial.data() + p * 2 * cols : nullptr;
      C* pb = db ? partial.data() + (p * 2 + 1) * cols : nullptr;
      for (int64_t r = p * kRowsPerPartial; r < std::min(rows, (p + 1) * kRowsPerPartial); ++r) {
        const S* dyr = dy + r * cols;
        const S* xr = x + r * cols;
        S* dxr = dx + r * cols;
        if constexpr (kVectorable<Tag>) {
          if (vector) {
            float* out = resultRow<Tag>(dxr, cols, s.c);
            const float* dyf = floatRow<Tag>(dyr, cols, s.a);
            simd::normRowBackwardAvx2(dyf, floatRow<Tag>(xr, cols, s.b), w, mean[r], rstd[r], out, pw, pb, cols, rms);
            finishRow<Tag>(out, dxr, cols);
            continue;
          }
        }
        normRowBackward<Tag>(dyr, xr, w, mean[r], rstd[r], dxr, pw, pb, cols, rms);
      }
    }
  });
  if (!sums) return;
  parallelFor(cols, 256, [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      double tw = 0, tb = 0;
      for (int64_t p = 0; p < partials; ++p) {
        tw += double(partial[size_t(p * 2 * cols + c)]);
        tb += double(partial[size_t((p * 2 + 1) * cols + c)]);
      }
      if (dw) dw[c] = C(tw);
      if (db) db[c] = C(tb);
    }
  });
}

// Runs fn(offset, col, n) over [0, rows * cols) in pieces that stay inside one row, so a bias
// index is col .. col + n.
template <class Fn>
void forRowPieces(int64_t rows, int64_t cols, const Fn& fn) {
  parallelFor(rows * cols, kGrainElements, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end;) {
      const int64_t col = i % cols;
      const int64_t n = std::min(end - i, cols - col);
      fn(i, col, n);
      i += n;
    }
  });
}

template <class Tag>
void biasGeluTyped(bool tanhForm, const void* xv, const void* bv, void* yv, int64_t rows, int64_t cols) {
  using S = typename Tag::Storage;
  using C = typename Tag::Compute;
  const auto* x = static_cast<const S*>(xv);
  const auto* b = static_cast<const S*>(bv);
  auto* y = static_cast<S*>(yv);
  const bool vector = vectorLevel(), wide = avx512Level();
  forRowPieces(rows, cols, [&](int64_t i, int64_t col, int64_t n) {
    if constexpr (kVectorable<Tag>) {
      const auto row = wide ? simd::biasGeluAvx512 : simd::biasGeluAvx2;
      if (vector && row(tanhForm, Tag::kDType, x + i, b ? b + col : nullptr, y + i, n)) return;
    }
    for (int64_t k = 0; k < n; ++k) {
      const C v = b ? Tag::load(x[i + k]) + Tag::load(b[col + k]) : Tag::load(x[i + k]);
      y[i + k] = Tag::store(geluValue<C>(v, tanhForm));
    }
  });
}

template <class Tag>
void geluBackwardTyped(bool tanhForm, const void* xv, const void* bv, const void* dyv, void* dxv, int64_t rows,
                       int64_t cols) {
  using S = typename Tag::Storage;
  using C = typename Tag::Compute;
  const auto* x = static_cast<const S*>(xv);
  const auto* b = static_cast<const S*>(bv);
  const auto* dy = static_cast<const S*>(dyv);
  auto* dx = static_cast<S*>(dxv);
  const bool vector = vectorLevel(), wide = avx512Level();
  forRowPieces(rows, cols, [&](int64_t i, int64_t col, int64_t n) {
    if constexpr (kVectorable<Tag>) {
      const auto row = wide ? simd::geluBackwardAvx512 : simd::geluBackwardAvx2;
      if (vector && row(tanhForm, Tag::kDType, x + i, b ? b + col : nullptr, dy + i, dx + i, n)) return;
    }
    for (int64_t k = 0; k < n; ++k) {
      const C v = b ? Tag::load(x[i + k]) + Tag::load(b[col + k]) : Tag::load(x[i + k]);
      dx[i + k] = Tag::store(Tag::load(dy[i + k]) * geluDerivative<C>(v, tanhForm));
    }
  });
}

bool badTarget(int32_t t, int64_t cols, int32_t ignoreIndex) { return t != ignoreIndex && (t < 0 || t >= cols); }

template <class Tag>
void crossEntropyForwardTyped(const void* xv, const int32_t* target, void* lossv, void* lsev, int64_t rows,
                              int64_t cols, int32_t ignoreIndex, double smoothing, int64_t* firstBad) {
  using S = typename Tag::Storage;
  using C = typename Tag::Compute;
  *firstBad = -1;
  for (int64_t r = 0; r < rows; ++r) {
    if (badTarget(target[r], cols, ignoreIndex)) {
      *firstBad = r;
      return;
    }
  }
  const auto* x = static_cast<const S*>(xv);
  auto* loss = static_cast<C*>(lossv);
  auto* lse = static_cast<C*>(lsev);
  const bool vector = vectorLevel(), wide = avx512Level();
  parallelFor(rows, rowGrain(cols), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      if (target[r] == ignoreIndex) {
        loss[r] = C(0);
        lse[r] = C(0);
        continue;
      }
      const S* xr = x + r * cols;
      if constexpr (kVectorable<Tag>) {
        const auto row = wide ? simd::crossEntropyRowAvx512 : simd::crossEntropyRowAvx2;
        if (vector && row(Tag::kDType, xr, cols, target[r], float(smoothing), loss + r, lse + r)) continue;
      }
      loss[r] = crossEntropyRowForward<Tag>(xr, cols, target[r], C(smoothing), lse + r);
    }
  });
}

template <class Tag>
void crossEntropyBackwardTyped(const void* xv, const int32_t* target, const void* lsev, const void* scalev, void* dxv,
                               int64_t rows, int64_t cols, int32_t ignoreIndex, double smoothing) {
  using S = typename Tag::Storage;
  using C = typename Tag::Compute;
  const auto* x = static_cast<const S*>(xv);
  const auto* lse = static_cast<const C*>(lsev);
  const auto* scale = static_cast<const C*>(scalev);
  auto* dx = static_cast<S*>(dxv);
  const bool vector = vectorLevel(), wide = avx512Level();
  parallelFor(rows, rowGrain(cols), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      S* dxr = dx + r * cols;
      if (target[r] == ignoreIndex || badTarget(target[r], cols, ignoreIndex)) {
        std::fill(dxr, dxr + cols, Tag::store(C(0)));
        continue;
      }
      const S* xr = x + r * cols;
      if constexpr (kVectorable<Tag>) {
        const auto row = wide ? simd::crossEntropyRowBackwardAvx512 : simd::crossEntropyRowBackwardAvx2;
        if (vector && row(Tag::kDType, xr, cols, target[r], lse[r], scale[r], float(smoothing), dxr)) continue;
      }
      crossEntropyRowBackward<Tag>(xr, cols, target[r], lse[r], scale[r], C(smoothing), dxr);
    }
  });
}

}  // namespace

void normForward(bool rms, DType dtype, const void* x, const void* weight, const void* bias, void* y, void* mean,
                 void* rstd, int64_t rows, int64_t cols, double eps) {
  MP_DISPATCH_FLOATING(dtype, normForwardTyped<Tag>(rms, x, weight, bias, y, mean, rstd, rows, cols, eps));
}

void normBackward(bool rms, DType dtype, const void* dy, const void* x, const void* weight, const void* mean,
                  const void* rstd, void* dx, void* dweight, void* dbias, int64_t rows, int64_t cols) {
  MP_DISPATCH_FLOATING(dtype, normBackwardTyped<Tag>(rms, dy, x, weight, mean, rstd, dx, dweight, dbias, rows, cols));
}

void biasGelu(bool tanhForm, DType dtype, const void* x, const void* bias, void* y, int64_t rows, int64_t cols) {
  MP_DISPATCH_FLOATING(dtype, biasGeluTyped<Tag>(tanhForm, x, bias, y, rows, cols));
}

void geluBackward(bool tanhForm, DType dtype, const void* x, const void* bias, const void* dy, void* dx, int64_t rows,
                  int64_t cols) {
  MP_DISPATCH_FLOATING(dtype, geluBackwardTyped<Tag>(tanhForm, x, bias, dy, dx, rows, cols));
}

void crossEntropyForward(DType dtype, const void* logits, const int32_t* target, void* losses, void* lse, int64_t rows,
                         int64_t cols, int32_t ignoreIndex, double smoothing, int64_t* firstBad) {
  MP_DISPATCH_FLOATING(dtype, crossEntropyForwardTyped<Tag>(logits, target, losses, lse, rows, cols, ignoreIndex, smoothing,
                                                         firstBad));
}

void crossEntropyBackward(DType dtype, const void* logits, const int32_t* target, const void* lse, const void* scale,
                          void* dlogits, int64_t rows, int64_t cols, int32_t ignoreIndex, double smoothing) {
  MP_DISPATCH_FLOATING(dtype, crossEntropyBackwardTyped<Tag>(logits, target, lse, scale, dlogits, rows, cols, ignoreIndex,
                                                          smoothing));
}

}  // namespace mp::cpu
