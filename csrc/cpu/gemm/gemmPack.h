// Generic packers: any strides, any of float32/float16/bfloat16, zero padding of partial panels.
// Contiguous runs (a row of A, a row or column of B) are converted in one call to the SIMD
// ToFloat, then scattered into panel order; other layouts fall back to element loads.
#pragma once
#include <cstdint>

#include "gemm.h"

namespace mp::cpu::gemm {

// n contiguous elements of x from element `offset` as float32: x's own memory when it is float32
// and not rounded, else converted (or rounded) into scratch.
const float* floatRun(const Operand& x, int64_t offset, int64_t n, ToFloat toFloat, float* scratch);

// float32 panels of mr rows: rows [i0, i0 + mc) x k [p0, p0 + kc) of A, panel p at
// dst + p * mr * kc, laid out [k][mr]. scratch holds max(mc, kc) floats.
void packAF32(const Operand& a, int64_t i0, int64_t mc, int64_t p0, int64_t kc, int mr, float* dst, ToFloat toFloat,
              float* scratch);
// float32 panels of nr columns: k [p0, p0 + kc) x columns [j0, j0 + nc) of B, panel q at
// dst + q * nr * kc, laid out [k][nr]. scratch holds max(nc, kc) floats.
// (Scratch for every packer: gemmDriver.cpp gives max(rows or columns, kc) + max(mr, nr) * kc floats.)
void packBF32(const Operand& b, int64_t p0, int64_t kc, int64_t j0, int64_t nc, int nr, float* dst, ToFloat toFloat,
              float* scratch);

// bfloat16 k-pair panels (kp = ceil(kc / 2) pairs): A panel p at dst + p * mr * kp * 2, laid out
// [kp][mr][2]; B panel q at dst + q * nr * kp * 2, laid out [kp][nr][2].
void packABf16(const Operand& a, int64_t i0, int64_t mc, int64_t p0, int64_t kc, int mr, uint16_t* dst);
void packBBf16(const Operand& b, int64_t p0, int64_t kc, int64_t j0, int64_t nc, int nr, uint16_t* dst);

// The AVX2 kernel's B packer (gemmPackAvx2.cpp; nr = 16): a transposed B (k contiguous, a
// Linear weight) is transposed eight columns by eight k at a time, any dtype or rounding (runs
// converted first by floatRun); other layouts take packBF32.
void packBF32Avx2(const Operand& b, int64_t p0, int64_t kc, int64_t j0, int64_t nc, void* dst, ToFloat toFloat, float* scratch);
// Its A packer (mr = 6): a row-major A (k contiguous: activations) is transposed six rows by eight
// k at a time, any dtype or rounding; other layouts and a last partial panel take packAF32.
void packAF32Avx2(const Operand& a, int64_t i0, int64_t mc, int64_t p0, int64_t kc, void* dst, ToFloat toFloat, float* scratch);

// The AVX-512 kernels' packers (gemmPackAvx512.cpp; 12-row A panels, 32-column B panels): row-major
// A and transposed B are transposed four rows at a time; other layouts take the generic packers.
void packAF32Avx512(const Operand& a, int64_t i0, int64_t mc, int64_t p0, int64_t kc, void* dst, ToFloat toFloat,
                    float* scratch);
void packBF32Avx512(const Operand& b, int64_t p0, int64_t kc, int64_t j0, int64_t nc, void* dst, ToFloat toFloat,
                    float* scratch);
void packABf16Avx512(const Operand& a, int64_t i0, int64_t mc, int64_t p0, int64_t kc, void* dst, ToFloat, float*);
// Transposed B only (the bfloat16 kernel packs row-major B itself); other layouts: packBBf16.
void packBBf16TransposedAvx512(const Operand& b, int64_t p0, int64_t kc, int64_t j0, int64_t nc, uint16_t* dst);

// The AMX kernels' packers (gemmPackAmx.cpp; 32-row A panels [32][kcPad], 32-column B panels in
// k pairs, k padded to whole 32-deep tiles), every layout and cast-fused rounding: bfloat16 as
// stored, or float16 split exactly into bfloat16 pieces (four packed values per k, A and B
// sides interleaved differently).
void packAAmxBf16(const Operand& a, int64_t i0, int64_t mc, int64_t p0, int64_t kc, void* dst, ToFloat, float* scratch);
void packBAmxBf16(const Operand& b, int64_t p0, int64_t kc, int64_t j0, int64_t nc, void* dst, ToFloat, float* scratch);
void packAAmxF16Split(const Operand& a, int64_t i0, int64_t mc, int64_t p0, int64_t kc, void* dst, ToFloat, float* scratch);
void packBAmxF16Split(const Operand& b, int64_t p0, int64_t kc, int64_t j0, int64_t nc, void* dst, ToFloat, float* scratch);

}  // namespace mp::cpu::gemm
