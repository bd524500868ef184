// The scalar reference of GradScaler's unscaleAndCheck (cpuKernels.h): one serial loop per
// tensor, which tests compare the threaded kernel with.
#pragma once
#include "../core/dtype.h"
#include "../core/optimizerMath.h"

namespace mp::cpu {

void unscaleAndCheckReference(DType dtype, const TensorLists& t, const float* scale, float* foundInf, float* flags);

}  // namespace mp::cpu
