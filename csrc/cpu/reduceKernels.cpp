#include "reduceKernels.h"

#include <algorithm>
#include <type_traits>
#include <vector>

#include "../core/elementTypes.h"
#include "../core/threadPool.h"

namespace mp::cpu {
namespace {

constexpr int64_t kBlock = 1024;  // values summed in the narrow accumulator before widening
constexpr int kLanes = 16;

template <class Tag>
using Narrow = std::conditional_t<std::is_integral_v<typename Tag::Compute>, int64_t, typename Tag::Compute>;
template <class Tag>
using Wide = std::conditional_t<std::is_integral_v<typename Tag::Compute>, int64_t, double>;

// Sum of n contiguous values: kLanes independent accumulators per block (vectorizable, and
// shorter error chains than one running sum), blocks gathered in the wide type.
template <class Tag>
Wide<Tag> sumContiguous(const typename Tag::Storage* x, int64_t n) {
  Wide<Tag> total = 0;
  for (int64_t start = 0; start < n; start += kBlock) {
    const int64_t end = start + kBlock < n ? start + kBlock : n;
    Narrow<Tag> lanes[kLanes] = {};
    int64_t i = start;
    for (; i + kLanes <= end; i += kLanes) {
      for (int l = 0; l < kLanes; ++l) lanes[l] += Narrow<Tag>(Tag::load(x[i + l]));
    }
    Narrow<Tag> block = 0;
    for (int l = 0; l < kLanes; ++l) block += lanes[l];
    for (; i < end; ++i) block += Narrow<Tag>(Tag::load(x[i]));
    total += Wide<Tag>(block);
  }
  return total;
}

template <class In, class Out>
void reduceTyped(const void* inv, void* outv, int64_t outer, int64_t size, int64_t inner, bool mean) {
  using S = typename In::Storage;
  const auto* in = static_cast<const S*>(inv);
  auto* out = static_cast<typename Out::Storage*>(outv);
  auto finish = [&](Wide<In> total) {
    const double v = double(total);
    return Out::fromDouble(mean ? v / double(size) : v);
  };
  if (inner == 1) {
    const int64_t grain = size >= (1 << 15) ? 1 : (1 << 15) / (size > 0 ? size : 1);
    parallelFor(outer, grain, [&](int64_t begin, int64_t end) {
      for (int64_t o = begin; o < end; ++o) out[o] = finish(sumContiguous<In>(in + o * size, size));
    });
    return;
  }
  // Strided: accumulate whole rows of `inner` values, block by block along the reduced axis.
  const int64_t tasks = outer;
  const int64_t grain = size * inner >= (1 << 15) ? 1 : (1 << 15) / (size * inner > 0 ? size * inner : 1);
  parallelFor(tasks, grain, [&](int64_t begin, int64_t end) {
    std::vector<Wide<In>> total(static_cast<size_t>(inner));
    std::vector<Narrow<In>> block(static_cast<size_t>(inner));
    for (int64_t o = begin; o < end; ++o) {
      std::fill(total.begin(), total.end(), Wide<In>(0));
      for (int64_t start = 0; start < size; start += kBlock) {
        const int64_t stop = start + kBlock < size ? start + kBlock : size;
        std::fill(block.begin(), block.end(), Narrow<In>(0));
        for (int64_t r = start; r < stop; ++r) {
          const S* row = in + (o * size + r) * inner;
          for (int64_t i = 0; i < inner; ++i) block[size_t(i)] += Narrow<In>(In::load(row[i]));
        }
        for (int64_t i = 0; i < inner; ++i) total[size_t(i)] += Wide<In>(block[size_t(i)]);
      }
      for (int64_t i = 0; i < inner; ++i) out[o * inner + i] = finish(total[size_t(i)]);
    }
  });
}

template <class In>
void reduceFrom(const void* in, DType outType, void* out, int64_t outer, int64_t size, int64_t inner, bool mean) {
  MP_DISPATCH_DTYPE(outType, reduceTyped<In, Tag>(in, out, outer, size, inner, mean));
}

}  // namespace

void reduceSum(DType inType, const void* in, DType outType, void* out, int64_t outer, int64_t size, int64_t inner,
               bool mean) {
  MP_DISPATCH_DTYPE(inType, reduceFrom<Tag>(in, outType, out, outer, size, inner, mean));
}

}  // namespace mp::cpu
