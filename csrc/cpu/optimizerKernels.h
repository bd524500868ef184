// Multi-tensor optimizer steps and gradient-clipping passes on the CPU: one call covers every
// tensor of one dtype. `reference` runs the scalar reference instead (one serial loop per
// tensor), which tests compare the threaded kernels with.
#pragma once
#include "../core/dtype.h"
#include "../core/optimizerMath.h"

namespace mp::cpu {

// gradScale (grads are divided by it) and foundInf (non-zero: change nothing) are float32 device
// scalars, or nullptr when absent.
void sgdStep(DType dtype, const TensorLists& t, const float* gradScale, const float* foundInf, const SgdOptions& o,
             bool reference);
void adamStep(DType dtype, const TensorLists& t, const float* gradScale, const float* foundInf, const AdamOptions& o,
              bool reference);
// out = the p-norm of all elements of lists[0] together (p may be INFINITY), as float32.
void multiTensorNorm(DType dtype, const TensorLists& t, double p, float* out, bool reference);
// Every element of lists[0] multiplied by *scale, in place.
void multiTensorScale(DType dtype, const TensorLists& t, const float* scale, bool reference);
// Every element of lists[0] clamped to [lo, hi], in place.
void multiTensorClamp(DType dtype, const TensorLists& t, double lo, double hi, bool reference);

}  // namespace mp::cpu
