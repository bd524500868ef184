// The k-pair interleave of the bfloat16 panels (the VDPBF16PS kernel's and AMX's B panels, laid
// out [k/2][columns][2]), for the AVX-512 packers that include it. Declared with the features
// every includer has, so it inlines into each.
#pragma once
#include <immintrin.h>

#include <cstdint>

#include "../simdTarget.h"

namespace mp::cpu::gemm {

// One panel row pair: rows k and k + 1 of 32 columns (32 bfloat16 each) interleaved into 32
// (k, k + 1) pairs at dst (64 values, 64-byte aligned).
MP_TARGET_AVX512 __attribute__((always_inline)) inline void storeKPairs(__m512i k0, __m512i k1, uint16_t* dst) {
  alignas(64) static const uint16_t lo[32] = {0, 32, 1, 33, 2, 34, 3, 35, 4, 36, 5, 37, 6, 38, 7, 39,
                                              8, 40, 9, 41, 10, 42, 11, 43, 12, 44, 13, 45, 14, 46, 15, 47};
  alignas(64) static const uint16_t hi[32] = {16, 48, 17, 49, 18, 50, 19, 51, 20, 52, 21, 53, 22, 54, 23, 55,
                                              24, 56, 25, 57, 26, 58, 27, 59, 28, 60, 29, 61, 30, 62, 31, 63};
  _mm512_store_si512(dst, _mm512_permutex2var_epi16(k0, _mm512_load_si512(lo), k1));
  _mm512_store_si512(dst + 32, _mm512_permutex2var_epi16(k0, _mm512_load_si512(hi), k1));
}

}  // namespace mp::cpu::gemm
