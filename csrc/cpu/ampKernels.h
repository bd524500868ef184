// GradScaler's kernels on the CPU. `reference` runs the serial scalar loop tests compare with.
#pragma once
#include "../core/ampMath.h"
#include "../core/dtype.h"
#include "../core/optimizerMath.h"

namespace mp::cpu {

// Every element of lists[0]: a non-finite value sets *foundInf (and flags[i] for tensor i, when
// flags is given) to 1; values are multiplied by 1/ *scale in place unless scale is nullptr
// (check only) or the inverse is exactly 1. Never writes 0: the caller zeroes the flags.
void unscaleAndCheck(DType dtype, const TensorLists& t, const float* scale, float* foundInf, float* flags, bool reference);

void updateScale(float* scale, int32_t* tracker, int32_t* hysteresisLeft, const float* foundInf, int32_t* stats,
                 const ScaleUpdateOptions& o);

}  // namespace mp::cpu
