// AVX2+FMA row kernels of the fused ops (fusedAvx2.cpp); fusedKernels.cpp calls them at
// SimdLevel::F16c and above. The norm rows take float32 rows (16-bit rows are converted to float32
// scratch first); the GELU and cross-entropy rows read and write 16-bit storage.
// They sum in 8-lane float32 accumulators and use a polynomial exp (about 2 ulp; results below 2^-126 flush
// to 0), the tanh form of GELU as x * sigmoid(2u) and erf by Abramowitz-Stegun 7.1.26 (absolute
// error 1.5e-7, as PyTorch's vectorized CPU erf), so they differ from the scalar rows of
// core/fusedMath.h by a few float32 ulps (erf: 1.5e-7 absolute); the tests bound the difference.
#pragma once
#include <cstdint>

#include "../core/dtype.h"

namespace mp::simd {

void normRowForwardAvx2(const float* x, const float* weight, const float* bias, float* y, int64_t cols, float eps,
                        bool rms, float* mean, float* rstd);
// Adds to dweight / dbias (when given) and writes dx.
void normRowBackwardAvx2(const float* dy, const float* x, const float* weight, float mean, float rstd, float* dx,
                         float* dweight, float* dbias, int64_t cols, bool rms);
// y = gelu(x + bias) and dx = dy * gelu'(x + bias) over n elements (bias optional, n long), and
// the cross-entropy rows (the row's loss and logsumexp; then its gradient; target in range), on
// rows of `dtype` (float32, float16 or bfloat16; false for others): 16-bit values are converted in
// registers as the cast kernels convert them and results rounded once, so the same bits as
// converting the rows to float32 first.
bool biasGeluAvx2(bool tanhForm, DType dtype, const void* x, const void* bias, void* y, int64_t n);
bool geluBackwardAvx2(bool tanhForm, DType dtype, const void* x, const void* bias, const void* dy, void* dx, int64_t n);
bool crossEntropyRowAvx2(DType dtype, const void* x, int64_t cols, int32_t target, float smoothing, float* loss, float* lse);
bool crossEntropyRowBackwardAvx2(DType dtype, const void* x, int64_t cols, int32_t target, float lse, float scale,
                                 float smoothing, void* dx);
// The same rows in 16 AVX-512 lanes (fusedAvx512.cpp), at SimdLevel::Avx512 and above: GELU
// forward and backward bit-identical to the AVX2 ones; cross-entropy with vecMathAvx512.h's exp
// (about 1 ulp).
bool biasGeluAvx512(bool tanhForm, DType dtype, const void* x, const void* bias, void* y, int64_t n);
bool geluBackwardAvx512(bool tanhForm, DType dtype, const void* x, const void* bias, const void* dy, void* dx, int64_t n);
bool crossEntropyRowAvx512(DType dtype, const void* x, int64_t cols, int32_t target, float smoothing, float* loss, float* lse);
bool crossEntropyRowBackwardAvx512(DType dtype, const void* x, int64_t cols, int32_t target, float lse, float scale,
                                   float smoothing, void* dx);

}  // namespace mp::simd
