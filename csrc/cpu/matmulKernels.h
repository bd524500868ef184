// Batched matrix multiply on the CPU: out[batch] = A[batch] (m x k) @ B[batch] (k x n), operands
// addressed by strides (so transposes need no copy), batch dims broadcast like elementwise ops.
#pragma once
#include <cstdint>

#include "../core/dtype.h"
#include "../core/kernelArgs.h"

namespace mp::cpu {

// Accumulates in float32 for float32 and the 16-bit types (rounded once on store), in double
// for float64, in 64-bit integers for int32. float32 and the 16-bit types run the packed,
// cache-blocked GEMM of the active SIMD level (csrc/cpu/gemm/): float16, and bfloat16 below
// avx512bf16, is converted to float32 once per element while packing; with avx512bf16, bfloat16
// is packed as is in k pairs for VDPBF16PS. The other dtypes, the scalar level, tiny products
// and float32 row-vector products run matmulReference.
void matmul(DType dtype, const void* a, const void* b, void* out, const MatmulShape& shape);

// The scalar reference the GEMM kernels are tested against.
void matmulReference(DType dtype, const void* a, const void* b, void* out, const MatmulShape& shape);

}  // namespace mp::cpu
