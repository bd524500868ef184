// The tile products and the exponential of the fused attention kernels (attentionKernels.cpp),
// compiled for AVX2+FMA (or AVX-512) with target attributes and called only when activeSimdLevel()
// has them.
#pragma once
#include <cstdint>

namespace mp::simd {

// c[m x 8*n8] (+)= a[m x k] . b[k x 8*n8], a(r, p) at a[r * ars + p * acs] (so a may be read
// transposed); rows of b and c `ldb`, `ldc` floats apart.
void attentionGemmAvx2(const float* a, int64_t ars, int64_t acs, const float* b, int64_t ldb, float* c, int64_t ldc,
                       int m, int k, int n8, bool accumulate);
// x[j] = exp(x[j] - shift) for j < 8*n8, returning the sum; -inf gives 0 and NaN stays NaN.
float attentionExpAvx2(float* x, int n8, float shift);
// The same two in 16 AVX-512 lanes (attentionAvx512.cpp), bit-identical to the AVX2 ones; called
// at SimdLevel::Avx512 and above.
void attentionGemmAvx512(const float* a, int64_t ars, int64_t acs, const float* b, int64_t ldb, float* c, int64_t ldc,
                         int m, int k, int n8, bool accumulate);
float attentionExpAvx512(float* x, int n8, float shift);

}  // namespace mp::simd
