// Batched matrix multiply on the CPU beyond the backend's matmul (cpuKernels.h).
#pragma once
#include <cstdint>

#include "../core/dtype.h"
#include "../core/kernelArgs.h"

namespace mp::cpu {

// The scalar reference the GEMM kernels are tested against.
void matmulReference(DType dtype, const void* a, const void* b, void* out, const MatmulShape& shape);

}  // namespace mp::cpu
