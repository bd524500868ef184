// Vectorized inner loops of the multi-tensor kernels (optimizers, AMP unscale) for float32,
// float16 and bfloat16: one tensor's elements [0, n), pointers already at the range's start.
// The arithmetic is core/optimizerMath.h's and core/ampMath.h's, operation for operation (no
// FMA contraction), so results are bit-identical to the scalar reference. Each returns false when
// it has no kernel for the dtype (the caller runs its portable loop).
#pragma once
#include <cstdint>

#include "../core/dtype.h"
#include "../core/optimizerMath.h"

namespace mp::simd {

bool adamRangeAvx512(DType dtype, void* param, const void* grad, void* expAvg, void* expAvgSq, void* maxExpAvgSq,
                     int64_t n, float gradScale, const AdamOptions& o, const AdamStepFactors<float>& f);
// buffer: nullptr without momentum; first: the buffer has never been written.
bool sgdRangeAvx512(DType dtype, void* param, const void* grad, void* buffer, int64_t n, float gradScale, bool first,
                    const SgdOptions& o);
// Sets *bad when an element is not finite; multiplies in place by inv when multiply.
bool unscaleRangeAvx512(DType dtype, void* x, int64_t n, float inv, bool multiply, bool* bad);

}  // namespace mp::simd
