// dtype conversion on the CPU beyond the backend's cast (cpuKernels.h).
#pragma once
#include <cstdint>

#include "../core/dtype.h"

namespace mp::cpu {

// The scalar reference: every element goes through double (exact for every source type) and is
// rounded once to the destination. Single-threaded; the tests compare cast's fast paths against it.
void castReference(const void* src, DType srcType, void* dst, DType dstType, int64_t n);

}  // namespace mp::cpu
