// SIMD conversion loops, each compiled for its own instruction set with target attributes (so
// one source list and no per-file flags) and called only when cpuid says the CPU has it.
#pragma once
#include <cstdint>

namespace mp::simd {

void floatToHalfF16c(const float* src, uint16_t* dst, int64_t n);
void halfToFloatF16c(const uint16_t* src, float* dst, int64_t n);
void floatToBf16Avx2(const float* src, uint16_t* dst, int64_t n);
void bf16ToFloatAvx2(const uint16_t* src, float* dst, int64_t n);
// dst = src rounded to float16 / bfloat16 and widened back (dst may be src).
void roundThroughHalfF16c(const float* src, float* dst, int64_t n);
void roundThroughBf16Avx2(const float* src, float* dst, int64_t n);

void floatToHalfAvx512(const float* src, uint16_t* dst, int64_t n);
void halfToFloatAvx512(const uint16_t* src, float* dst, int64_t n);
void floatToBf16Avx512(const float* src, uint16_t* dst, int64_t n);
void bf16ToFloatAvx512(const uint16_t* src, float* dst, int64_t n);

void floatToBf16Avx512Bf16(const float* src, uint16_t* dst, int64_t n);

}  // namespace mp::simd
