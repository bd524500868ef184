// The index check the CPU's indexing kernels (cpuKernels.h) rely on: every index is checked
// first with firstIndexOutOfRange, so the kernels themselves never see one outside [0, size).
#pragma once
#include <cstdint>

namespace mp::cpu {

// Position of the first of index[0..n) outside [0, bound), or -1 when all are inside.
int64_t firstIndexOutOfRange(const int32_t* index, int64_t n, int64_t bound);

}  // namespace mp::cpu
