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

// The same loops with AVX2 + F16C, 8 lanes (optimizerAvx2.cpp).
bool adamRangeAvx2(DType dtype, void* param, const void* grad, void* expAvg, void* expAvgSq, void* maxExpAvgSq, int64_t n,
                   float gradScale, const AdamOptions& o, const AdamStepFactors<float>& f);
bool sgdRangeAvx2(DType dtype, void* param, const void* grad, void* buffer, int64_t n, float gradScale, bool first,
                  const SgdOptions& o);
bool unscaleRangeAvx2(DType dtype, void* x, int64_t n, float inv, bool multiply, bool* bad);

// One SIMD level's loops.
struct MultiTensorLoops {
  decltype(&adamRangeAvx512) adam;
  decltype(&sgdRangeAvx512) sgd;
  decltype(&unscaleRangeAvx512) unscale;
};

// The loops of the active SIMD level, or null below AVX2 (the caller's portable loop, which is
// also the reference the tests compare against).
const MultiTensorLoops* multiTensorLoops();

}  // namespace mp::simd
