// Batched matrix multiply on the CPU: out[batch] = A[batch] (m x k) @ B[batch] (k x n), operands
// addressed by strides (so transposes need no copy), batch dims broadcast like elementwise ops.
#pragma once
#include <cstdint>

#include "../core/dtype.h"
#include "../core/kernelArgs.h"

namespace mp::cpu {

// Accumulates in float32 for float32 and the 16-bit types (rounded once on store), in double
// for float64, in 64-bit integers for int32. Operands are packed to the accumulation type, so
// 16-bit inputs are converted once per element, not once per multiply.
// float32 and the 16-bit types run the packed, cache-blocked GEMM of the active SIMD level
// (csrc/cpu/gemm/); the others, the scalar level and tiny products run matmulReference.
void matmul(DType dtype, const void* a, const void* b, void* out, const MatmulShape& shape);

// The scalar reference the GEMM kernels are tested against.
void matmulReference(DType dtype, const void* a, const void* b, void* out, const MatmulShape& shape);

}  // namespace mp::cpu
