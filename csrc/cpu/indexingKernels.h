// What the CPU's indexing kernels (cpuKernels.h) share: the index check they rely on (every index
// is checked first with firstIndexOutOfRange, so the kernels themselves never see one outside
// [0, size)), their parallelFor grain, and the sliding-window geometry unfold, fold
// (indexingKernels.cpp) and max pooling (poolKernels.cpp) read.
#pragma once
#include <cstdint>

namespace mp::cpu {

// Position of the first of index[0..n) outside [0, bound), or -1 when all are inside.
int64_t firstIndexOutOfRange(const int32_t* index, int64_t n, int64_t bound);

// Items per parallelFor chunk when each item costs `workPerItem` element operations: chunks of
// about 2^15 of them (one item at least).
constexpr int64_t kIndexingGrain = int64_t(1) << 15;
inline int64_t indexingGrain(int64_t workPerItem) {
  return workPerItem >= kIndexingGrain ? 1 : kIndexingGrain / (workPerItem > 0 ? workPerItem : 1);
}

// Along one axis of a window: the outputs o in [lo, hi) whose input position o * stride + offset
// lies in [0, size), out of `outputs`.
struct OutputRange {
  int64_t lo, hi;
};
inline OutputRange insideOutputs(int64_t offset, int64_t stride, int64_t size, int64_t outputs) {
  int64_t lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  int64_t hi = size - 1 - offset < 0 ? 0 : (size - 1 - offset) / stride + 1;
  if (lo > outputs) lo = outputs;
  if (hi > outputs) hi = outputs;
  if (hi < lo) hi = lo;
  return {lo, hi};
}

}  // namespace mp::cpu
