// Helpers of the multi-tensor CPU kernels (optimizers, gradient clipping, AMP unscaling): one
// call covers many tensors of one dtype, threaded over blocks that may span tensor boundaries.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "../core/optimizerMath.h"
#include "../core/threadPool.h"

namespace mp::cpu {

constexpr int64_t kGrain = 1 << 14;

// Element offsets where each tensor starts in the concatenation of all tensors, and the total.
inline std::vector<int64_t> startsOf(const std::vector<int64_t>& numel) {
  std::vector<int64_t> start(numel.size() + 1, 0);
  for (size_t i = 0; i < numel.size(); ++i) start[i + 1] = start[i] + numel[i];
  return start;
}

// Calls body(i, begin, end) for the parts of [from, to) of the concatenation that fall in tensor i.
template <class Body>
void forRange(const std::vector<int64_t>& start, int64_t from, int64_t to, const Body& body) {
  size_t i = size_t(std::upper_bound(start.begin(), start.end(), from) - start.begin()) - 1;
  for (int64_t pos = from; pos < to; ++i) {
    const int64_t stop = std::min(to, start[i + 1]);
    if (stop > pos) body(i, pos - start[i], stop - start[i]);
    pos = std::max(pos, stop);
  }
}

// Every element of every tensor: threaded over blocks that may span tensor boundaries, so many
// small parameters still fill the pool; the reference walks each tensor serially.
template <class Body>
void forEachElement(const std::vector<int64_t>& numel, bool reference, const Body& body) {
  if (reference) {
    for (size_t i = 0; i < numel.size(); ++i) body(i, int64_t(0), numel[i]);
    return;
  }
  const std::vector<int64_t> start = startsOf(numel);
  parallelFor(start.back(), kGrain, [&](int64_t begin, int64_t end) { forRange(start, begin, end, body); });
}

// A step is skipped when the gradients overflowed or when it would divide by a scale whose inverse
// is not finite (GradScaler's float16 path: that division would make every gradient inf/NaN).
inline bool skipped(const float* foundInf, const float* gradScale) {
  return (foundInf != nullptr && *foundInf != 0) || (gradScale != nullptr && !usableScale(*gradScale));
}

template <class Tag>
typename Tag::Storage* at(const TensorLists& t, int list, size_t i) {
  return static_cast<typename Tag::Storage*>(t.lists[list][i]);
}

}  // namespace mp::cpu
