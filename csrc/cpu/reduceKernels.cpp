#include "cpuKernels.h"

#include <algorithm>
#include <type_traits>
#include <vector>

#include "../core/elementTypes.h"
#include "../core/threadPool.h"
#include "castKernels.h"
#include "cpuFeatures.h"
#include "reduceSimd.h"

namespace mp::cpu {
namespace {

constexpr int kLanes = 16;
constexpr int64_t kGrainElements = 1 << 15;

// Floats accumulate in double: reductions are memory-bound, so the wider adds cost nothing
// measurable, and a float32 result is then correctly rounded for any realistic length.
template <class Tag>
using Acc = std::conditional_t<std::is_integral_v<typename Tag::Compute>, int64_t, double>;

// 16-bit values are widened to float32 by the SIMD cast kernels, this many at a time (a multiple
// of kLanes, so every element keeps its lane), instead of one scalar conversion each (float16's
// is a long bit-manipulation without F16C).
constexpr int64_t kStaged = 512;

// kLanes independent accumulators (vectorizable), combined in a fixed order.
template <class Tag>
Acc<Tag> sumContiguous(const typename Tag::Storage* x, int64_t n) {
  if constexpr (std::is_same_v<Acc<Tag>, double>) {
    double total = 0;
    if (activeSimdLevel() >= SimdLevel::Avx512 && simd::sumAvx512(Tag::kDType, x, n, &total)) return total;
  }
  Acc<Tag> lanes[kLanes] = {};
  Acc<Tag> total = 0;
  int64_t i = 0;
  if constexpr (kWidensToFloat<Tag>) {
    float staged[kStaged];
    for (; i + kLanes <= n; i += kStaged) {
      const int64_t len = std::min(kStaged, (n - i) / kLanes * kLanes);
      loadRow<Tag>(x + i, staged, len);
      for (int64_t j = 0; j < len; j += kLanes) {
        for (int l = 0; l < kLanes; ++l) lanes[l] += Acc<Tag>(staged[j + l]);
      }
      if (len < kStaged) {
        i += len;
        break;
      }
    }
  } else {
    for (; i + kLanes <= n; i += kLanes) {
      for (int l = 0; l < kLanes; ++l) lanes[l] += Acc<Tag>(Tag::load(x[i + l]));
    }
  }
  for (int l = 0; l < kLanes; ++l) total += lanes[l];
  for (; i < n; ++i) total += Acc<Tag>(Tag::load(x[i]));
  return total;
}

// Columns of `inner` summed per strided task: their double totals stay in L1.
constexpr int64_t kColumnBlock = 256;

template <class In, class Out>
void reduceTyped(const void* inv, void* outv, int64_t outer, int64_t size, int64_t inner, bool mean) {
  using S = typename In::Storage;
  const auto* in = static_cast<const S*>(inv);
  auto* out = static_cast<typename Out::Storage*>(outv);
  auto finish = [&](Acc<In> total) { return sumResult<Out>(total, mean, size); };
  if (inner == 1) {
    const int64_t work = std::max<int64_t>(size, 1);
    parallelFor(outer, work >= kGrainElements ? 1 : kGrainElements / work, [&](int64_t begin, int64_t end) {
      for (int64_t o = begin; o < end; ++o) out[o] = finish(sumContiguous<In>(in + o * size, size));
    });
    return;
  }
  // Strided: whole rows of a block of columns are added, so the inner loop is contiguous. Tasks are
  // (outer index, column block), so a sum over the leading dim of one matrix (a bias gradient)
  // still spreads over the threads; each output sums its column in row order whatever the split.
  const int64_t blocks = (inner + kColumnBlock - 1) / kColumnBlock;
  const int64_t work = std::max<int64_t>(size * std::min(inner, kColumnBlock), 1);
  parallelFor(outer * blocks, work >= kGrainElements ? 1 : kGrainElements / work, [&](int64_t begin, int64_t end) {
    Acc<In> total[kColumnBlock];
    float staged[kColumnBlock];
    for (int64_t t = begin; t < end; ++t) {
      const int64_t o = t / blocks, c0 = (t % blocks) * kColumnBlock, len = std::min(kColumnBlock, inner - c0);
      std::fill(total, total + len, Acc<In>(0));
      for (int64_t r = 0; r < size; ++r) {
        const S* row = in + (o * size + r) * inner + c0;
        if constexpr (kWidensToFloat<In>) {
          loadRow<In>(row, staged, len);
          for (int64_t i = 0; i < len; ++i) total[i] += Acc<In>(staged[i]);
        } else {
          for (int64_t i = 0; i < len; ++i) total[i] += Acc<In>(In::load(row[i]));
        }
      }
      for (int64_t i = 0; i < len; ++i) out[o * inner + c0 + i] = finish(total[i]);
    }
  });
}

template <class In>
void reduceFrom(const void* in, DType outType, void* out, int64_t outer, int64_t size, int64_t inner, bool mean) {
  MP_DISPATCH_DTYPE(outType, reduceTyped<In, Tag>(in, out, outer, size, inner, mean));
}

// Staged float32 values per reduceAlong task of a 16-bit input (in L1).
constexpr int64_t kStagedColumns = 4096;

template <class In, class Out>
void reduceAlongTyped(ReduceKind kind, const void* inv, void* outv, int64_t outer, int64_t size, int64_t inner, double p0) {
  const auto* in = static_cast<const typename In::Storage*>(inv);
  auto* out = static_cast<typename Out::Storage*>(outv);
  const int64_t work = std::max<int64_t>(size, 1);
  if constexpr (kWidensToFloat<In>) {
    // 16-bit inputs: a block of columns (every row of it) is widened by the SIMD cast kernels,
    // then reduced as float32, whose values are the same: the results are those of the loop below.
    const int64_t block = std::clamp<int64_t>(kStagedColumns / work, 1, inner);
    if (inner == 1) {
      // Contiguous columns: a block of whole rows of the [outer, size] input in one conversion.
      const int64_t rows = std::max<int64_t>(1, kStagedColumns / work);
      parallelFor((outer + rows - 1) / rows, std::max<int64_t>(1, kGrainElements / (work * rows)), [&](int64_t begin, int64_t end) {
        std::vector<float> staged;
        for (int64_t t = begin; t < end; ++t) {
          const int64_t o0 = t * rows, count = std::min(rows, outer - o0);
          staged.resize(size_t(count * size));
          loadRow<In>(in + o0 * size, staged.data(), count * size);
          for (int64_t o = 0; o < count; ++o) out[o0 + o] = Out::fromDouble(reduceColumn<F32Tag>(kind, staged.data() + o * size, size, 1, p0));
        }
      });
      return;
    }
    if (block >= 8) {
      const int64_t blocks = (inner + block - 1) / block;
      parallelFor(outer * blocks, std::max<int64_t>(1, kGrainElements / (work * block)), [&](int64_t begin, int64_t end) {
        std::vector<float> staged;
        for (int64_t t = begin; t < end; ++t) {
          const int64_t o = t / blocks, i0 = (t % blocks) * block, len = std::min(block, inner - i0);
          staged.resize(size_t(size * len));
          for (int64_t r = 0; r < size; ++r) loadRow<In>(in + (o * size + r) * inner + i0, staged.data() + r * len, len);
          for (int64_t i = 0; i < len; ++i) {
            out[o * inner + i0 + i] = Out::fromDouble(reduceColumn<F32Tag>(kind, staged.data() + i, size, len, p0));
          }
        }
      });
      return;
    }
  }
  parallelFor(outer * inner, work >= kGrainElements ? 1 : kGrainElements / work, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t o = t / inner, i = t % inner;
      out[t] = Out::fromDouble(reduceColumn<In>(kind, in + o * size * inner + i, size, inner, p0));
    }
  });
}

template <class In>
void reduceAlongFrom(ReduceKind kind, const void* in, DType outType, void* out, int64_t outer, int64_t size,
                     int64_t inner, double p0) {
  MP_DISPATCH_DTYPE(outType, reduceAlongTyped<In, Tag>(kind, in, out, outer, size, inner, p0));
}

template <class Tag>
void softmaxTyped(bool log, const void* inv, void* outv, int64_t outer, int64_t size, int64_t inner) {
  const auto* in = static_cast<const typename Tag::Storage*>(inv);
  auto* out = static_cast<typename Tag::Storage*>(outv);
  const int64_t work = std::max<int64_t>(size, 1);
  // Contiguous rows of the float dtypes take the AVX-512 row kernel (reduceAvx512.cpp).
  const bool vector = inner == 1 && activeSimdLevel() >= SimdLevel::Avx512 &&
                      std::is_same_v<typename Tag::Compute, float>;
  parallelFor(outer * inner, work >= kGrainElements ? 1 : kGrainElements / work, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t base = (t / inner) * size * inner + t % inner;
      if (vector && simd::softmaxRowAvx512(Tag::kDType, in + base, out + base, size, log)) continue;
      softmaxColumn<Tag>(in + base, out + base, size, inner, log);
    }
  });
}

}  // namespace

void reduceAlong(ReduceKind kind, DType inType, const void* in, DType outType, void* out, int64_t outer, int64_t size,
                 int64_t inner, double p0) {
  MP_DISPATCH_DTYPE(inType, reduceAlongFrom<Tag>(kind, in, outType, out, outer, size, inner, p0));
}

void softmax(bool log, DType dtype, const void* in, void* out, int64_t outer, int64_t size, int64_t inner) {
  MP_DISPATCH_DTYPE(dtype, softmaxTyped<Tag>(log, in, out, outer, size, inner));
}

// The summation order is fixed, so results do not depend on the thread count.
void reduceSum(DType inType, const void* in, DType outType, void* out, int64_t outer, int64_t size, int64_t inner,
               bool mean) {
  MP_DISPATCH_DTYPE(inType, reduceFrom<Tag>(in, outType, out, outer, size, inner, mean));
}

}  // namespace mp::cpu
