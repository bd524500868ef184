// float32 microkernel for AVX2 + FMA (CPUs without AVX-512; 16-bit inputs reach it converted to
// float32 while packing): a 6 x 16 tile in 12 ymm accumulators, two B loads and six broadcasts
// per k, leaving 4 of the 16 ymm registers for operands.
#include <immintrin.h>

#include "../castSimd.h"
#include "../simdIoAvx2.h"
#include "gemm.h"
#include "gemmPack.h"

namespace mp::cpu::gemm {
namespace {

constexpr int kMr = 6, kNr = 16;

MP_TARGET_F16C void kernel(int64_t kc, const void* av, const void* bv, const TileOut& t, int mr, int nr) {
  const float* a = static_cast<const float*>(av);
  const float* b = static_cast<const float*>(bv);
  __m256 acc[kMr][2];
#pragma GCC unroll 6
  for (int r = 0; r < kMr; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 6
    for (int r = 0; r < kMr; ++r) {
      const __m256 x = _mm256_broadcast_ss(a + r);
      acc[r][0] = _mm256_fmadd_ps(x, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(x, b1, acc[r][1]);
    }
    a += kMr;
    b += kNr;
  }
  float* c = t.c;
  const int64_t ldc = t.ldc;
  const bool accumulate = t.accumulate;
  if (mr == kMr && nr == kNr) {
#pragma GCC unroll 6
    for (int r = 0; r < kMr; ++r) {
      float* row = c + r * ldc;
      __m256 lo = acc[r][0], hi = acc[r][1];
      if (accumulate) {
        lo = _mm256_add_ps(lo, _mm256_loadu_ps(row));
        hi = _mm256_add_ps(hi, _mm256_loadu_ps(row + 8));
      }
      if (!t.out) {
        if (t.rounding == DType::BFloat16) {
          lo = simd::roundBf16Lanes(lo);
          hi = simd::roundBf16Lanes(hi);
        } else if (t.rounding == DType::Float16) {
          lo = simd::roundHalfLanes(lo);
          hi = simd::roundHalfLanes(hi);
        }
        _mm256_storeu_ps(row, lo);
        _mm256_storeu_ps(row + 8, hi);
      } else if (t.outBf16) {
        // Rounded as castF16c.cpp rounds (the cast tests check those sequences bit for bit).
        simd::storeBf16x16(t.out + r * t.ldo, lo, hi);
      } else {
        simd::F16Io8::store(t.out + r * t.ldo, lo);
        simd::F16Io8::store(t.out + r * t.ldo + 8, hi);
      }
    }
    return;
  }
  // Partial tiles (edges): through a buffer, one element at a time, 16-bit rows then rounded by
  // the cast kernels.
  alignas(32) float tile[kMr][kNr];
#pragma GCC unroll 6
  for (int r = 0; r < kMr; ++r) {
    _mm256_store_ps(tile[r], acc[r][0]);
    _mm256_store_ps(tile[r] + 8, acc[r][1]);
  }
  for (int r = 0; r < mr; ++r) {
    float* row = t.out ? tile[r] : c + r * ldc;
    for (int j = 0; j < nr; ++j) row[j] = accumulate ? c[r * ldc + j] + tile[r][j] : tile[r][j];
    if (t.out && t.outBf16) simd::floatToBf16Avx2(row, t.out + r * t.ldo, nr);
    if (t.out && !t.outBf16) simd::floatToHalfF16c(row, t.out + r * t.ldo, nr);
    if (!t.out && t.rounding == DType::BFloat16) simd::roundThroughBf16Avx2(row, row, nr);
    if (!t.out && t.rounding == DType::Float16) simd::roundThroughHalfF16c(row, row, nr);
  }
}

}  // namespace

const Kernel& f32Avx2Kernel() {
  // kc = 256: the 16 KB B micro-panel stays in L1 (32-48 KB on AVX2-era cores).
  static const Kernel k{"f32-avx2-6x16", kMr, kNr, 256, 144, 2048, Packing::F32, kernel, packAF32Avx2, packBF32Avx2, true, true};
  return k;
}

}  // namespace mp::cpu::gemm
