// The scalar references of the multi-tensor optimizer steps and clipping passes (cpuKernels.h):
// one serial loop per tensor, which the tests compare the threaded kernels with and the
// *Reference test hooks run (cpuReferenceBackend).
#pragma once
#include "../core/dtype.h"
#include "../core/optimizerMath.h"

namespace mp::cpu {

void sgdStepReference(DType dtype, const TensorLists& t, const float* gradScale, const float* foundInf,
                      const SgdOptions& o);
void adamStepReference(DType dtype, const TensorLists& t, const float* gradScale, const float* foundInf,
                       const AdamOptions& o);
void multiTensorNormReference(DType dtype, const TensorLists& t, double p, float* out);
void multiTensorScaleReference(DType dtype, const TensorLists& t, const float* scale);
void multiTensorClampReference(DType dtype, const TensorLists& t, double lo, double hi);

}  // namespace mp::cpu
