// Vectorized rows of the CPU reductions for float32, float16 and bfloat16 (see
// reduceKernels.cpp, whose portable loops remain the reference). Each returns false when it has no
// kernel for the case; the caller then runs the portable loop.
#pragma once
#include <cstdint>

#include "../core/dtype.h"

namespace mp::simd {

// Sum of n values in double, in the same 16 lanes and order as the portable sumContiguous, so
// the result is bit-identical to it.
bool sumAvx512(DType dtype, const void* x, int64_t n, double* total);

// softmax / logSoftmax of one contiguous row, in double like core/reduceMath.h's softmaxColumn,
// with a vector exp (within 2 double ulps) and an 8-lane sum, so results can differ from the
// reference only where the double value lies within a few ulps of a rounding boundary of the
// output dtype. 16-bit outputs are rounded once from double (round-to-odd float32 first). Rows
// holding NaN or +-Inf maxima return false (the reference handles them).
bool softmaxRowAvx512(DType dtype, const void* x, void* y, int64_t size, bool log);

}  // namespace mp::simd
