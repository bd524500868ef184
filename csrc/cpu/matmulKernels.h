// Batched matrix multiply on the CPU beyond the backend's matmul (cpuKernels.h).
#pragma once
#include <cstdint>

#include "../core/dtype.h"
#include "../core/kernelArgs.h"

namespace mp::cpu {

// The scalar reference the GEMM kernels are tested against.
void matmulReference(DType dtype, const void* a, const void* b, void* out, const MatmulShape& shape);

// c (row-major m x n, row stride n; float64 for float64 operands, else float32) = a @ b, or
// c += a @ b with `accumulate`, for float32 / float16 / bfloat16 / float64 operands (element
// (r, j) of a at a + r * la.rowStride + j * la.colStride elements). float32 and 16-bit run the
// packed GEMM of the active SIMD level (threads as in matmul, inline inside a pool task), or at
// the scalar level float32 sums in k order; float64 sums in double in k order. For kernels that
// keep a product in its op-math type (the convolution's staging, its weight-gradient sums).
void gemmToOpMath(DType dtype, const void* a, MatrixLayout la, const void* b, MatrixLayout lb, void* c, int64_t m,
                  int64_t n, int64_t k, bool accumulate);

// The register tile (rows x columns of the output) of the packed GEMM that products of `dtype`
// run on at the active SIMD level; 1 x 1 where they run the reference loops. A caller free to
// pick which operand is A (the convolution's weight gradient) pads less work by it.
struct GemmTile {
  int64_t rows, cols;
};
GemmTile gemmTile(DType dtype);

// Whether products of `dtype` run on the AMX bfloat16 tiles at the active SIMD level (one tile
// product per 32 k): that kernel wants depth, since loading and storing an output tile costs as
// much as many k steps. The convolution picks its input-gradient form by it.
bool gemmOnBf16Tiles(DType dtype);

}  // namespace mp::cpu
