// dtype conversion on the CPU.
#pragma once
#include <cstdint>

#include "../core/dtype.h"

namespace mp::cpu {

// The scalar reference: every element goes through double (exact for every source type) and is
// rounded once to the destination. Single-threaded; the tests compare the fast paths against it.
void castReference(const void* src, DType srcType, void* dst, DType dstType, int64_t n);

// The fast conversion: SIMD for float32 <-> float16/bfloat16 at the active level, threads for
// large arrays. Bit-identical to castReference.
void cast(const void* src, DType srcType, void* dst, DType dstType, int64_t n);

}  // namespace mp::cpu
