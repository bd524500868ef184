// The AVX2 kernel's B packer: a transposed B (a Linear weight read as W^T: each column's k values
// contiguous) becomes [k][16] panels by 8x8 register transposes instead of one scalar store per
// element. The values are floatRun's, so every dtype and rounding packs the same numbers as the
// generic packer.
#include <immintrin.h>

#include <algorithm>

#include "../simdTarget.h"
#include "gemmPack.h"

namespace mp::cpu::gemm {
namespace {

constexpr int kNr = 16;

// rows[c][0..8) for c < 8 -> out[k * ldo + c]: the 8x8 transpose of eight k runs of eight columns.
MP_TARGET_F16C inline void transpose8(const float* const* rows, int64_t k0, float* out, int64_t ldo) {
  __m256 r0 = _mm256_loadu_ps(rows[0] + k0), r1 = _mm256_loadu_ps(rows[1] + k0), r2 = _mm256_loadu_ps(rows[2] + k0), r3 = _mm256_loadu_ps(rows[3] + k0);
  __m256 r4 = _mm256_loadu_ps(rows[4] + k0), r5 = _mm256_loadu_ps(rows[5] + k0), r6 = _mm256_loadu_ps(rows[6] + k0), r7 = _mm256_loadu_ps(rows[7] + k0);
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1), t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5), t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xee), s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xee);
  const __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xee), s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xee);
  _mm256_storeu_ps(out + 0 * ldo, _mm256_permute2f128_ps(s0, s4, 0x20));
  _mm256_storeu_ps(out + 1 * ldo, _mm256_permute2f128_ps(s1, s5, 0x20));
  _mm256_storeu_ps(out + 2 * ldo, _mm256_permute2f128_ps(s2, s6, 0x20));
  _mm256_storeu_ps(out + 3 * ldo, _mm256_permute2f128_ps(s3, s7, 0x20));
  _mm256_storeu_ps(out + 4 * ldo, _mm256_permute2f128_ps(s0, s4, 0x31));
  _mm256_storeu_ps(out + 5 * ldo, _mm256_permute2f128_ps(s1, s5, 0x31));
  _mm256_storeu_ps(out + 6 * ldo, _mm256_permute2f128_ps(s2, s6, 0x31));
  _mm256_storeu_ps(out + 7 * ldo, _mm256_permute2f128_ps(s3, s7, 0x31));
}

}  // namespace

MP_TARGET_F16C void packBF32Avx2(const Operand& b, int64_t p0, int64_t kc, int64_t j0, int64_t nc, void* dstv, ToFloat toFloat,
                                 float* scratch) {
  auto* dst = static_cast<float*>(dstv);
  if (b.rowStride != 1 || b.colStride == 1) {
    packBF32(b, p0, kc, j0, nc, kNr, dst, toFloat, scratch);
    return;
  }
  const int64_t panels = (nc + kNr - 1) / kNr;
  if (nc % kNr) {
    float* d = dst + (panels - 1) * kNr * kc;
    for (int64_t k = 0; k < kc; ++k) std::fill(d + k * kNr + nc % kNr, d + (k + 1) * kNr, 0.0f);
  }
  // Groups of eight columns (half a panel): their k runs as float32 (scratch holds 8 runs of kc
  // when they need converting: the driver gives at least max(nc, kc) + 16 kc floats).
  int64_t j = 0;
  for (; j + 8 <= nc; j += 8) {
    const float* runs[8];
    for (int c = 0; c < 8; ++c) runs[c] = floatRun(b, (j0 + j + c) * b.colStride + p0, kc, toFloat, scratch + c * kc);
    float* d = dst + (j / kNr) * kNr * kc + j % kNr;
    int64_t k = 0;
    for (; k + 8 <= kc; k += 8) transpose8(runs, k, d + k * kNr, kNr);
    for (; k < kc; ++k) {
      for (int c = 0; c < 8; ++c) d[k * kNr + c] = runs[c][k];
    }
  }
  for (; j < nc; ++j) {
    const float* run = floatRun(b, (j0 + j) * b.colStride + p0, kc, toFloat, scratch);
    float* d = dst + (j / kNr) * kNr * kc + j % kNr;
    for (int64_t k = 0; k < kc; ++k) d[k * kNr] = run[k];
  }
}

}  // namespace mp::cpu::gemm
