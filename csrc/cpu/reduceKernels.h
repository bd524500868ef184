// Sum and mean along one axis on the CPU: input viewed as [outer, size, inner], output [outer, inner].
#pragma once
#include <cstdint>

#include "../core/dtype.h"

namespace mp::cpu {

// Float inputs (16-bit included) accumulate in double, integers in 64 bits. The result is written as `outType`; with `mean` it is divided by
// `size` first. The summation order is fixed, so results do not depend on the thread count.
void reduceSum(DType inType, const void* in, DType outType, void* out, int64_t outer, int64_t size, int64_t inner,
               bool mean);

}  // namespace mp::cpu
