// Reductions along one axis on the CPU: input viewed as [outer, size, inner], output [outer, inner].
#pragma once
#include <cstdint>

#include "../core/dtype.h"
#include "../core/reduceMath.h"

namespace mp::cpu {

// Float inputs (16-bit included) accumulate in double, integers in 64 bits. The result is
// written as `outType`; with `mean` it is divided by `size` first. The summation order is fixed,
// so results do not depend on the thread count.
void reduceSum(DType inType, const void* in, DType outType, void* out, int64_t outer, int64_t size, int64_t inner,
               bool mean);

// prod, max, min, argmax/argmin (int32 indices), logsumexp, var/std (p0 = correction) along the
// axis, computed in double per output (core/reduceMath.h). size must be >= 1 for max..argmin.
void reduceAlong(ReduceKind kind, DType inType, const void* in, DType outType, void* out, int64_t outer, int64_t size,
                 int64_t inner, double p0);

// softmax / logSoftmax along the axis, same dtype in and out.
void softmax(bool log, DType dtype, const void* in, void* out, int64_t outer, int64_t size, int64_t inner);

}  // namespace mp::cpu
