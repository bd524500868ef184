// dtype conversion on the CPU beyond the backend's cast (cpuKernels.h).
#pragma once
#include <cstdint>

#include "../core/dtype.h"

namespace mp::cpu {

// The scalar reference: every element goes through double (exact for every source type) and is
// rounded once to the destination. Single-threaded; the tests compare cast's fast paths against it.
void castReference(const void* src, DType srcType, void* dst, DType dstType, int64_t n);

// float16/bfloat16 <-> float32 over a contiguous range with the active SIMD level's kernels, on
// the calling thread (for kernels that stage 16-bit data in float32); bit-identical to
// castReference.
void widenToFloat(DType srcType, const uint16_t* src, float* dst, int64_t n);
void narrowFromFloat(const float* src, DType dstType, uint16_t* dst, int64_t n);

}  // namespace mp::cpu
