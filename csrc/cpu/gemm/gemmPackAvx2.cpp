// The AVX2 kernel's B packer: a transposed B (a Linear weight read as W^T: each column's k values
// contiguous) becomes [k][16] panels by 8x8 register transposes instead of one scalar store per
// element, 16-bit values widened and cast-fused values rounded in the same registers (the
// conversions of castF16c.cpp, so the panels hold floatRun's values, as the generic packer's).
#include <immintrin.h>

#include <algorithm>

#include "../simdIoAvx2.h"
#include "../simdTarget.h"
#include "gemmPack.h"

namespace mp::cpu::gemm {
namespace {

constexpr int kNr = 16;

// Eight consecutive values of a column as float32 lanes, converted or rounded in registers the way
// the SIMD cast kernels do (castF16c.cpp), so they equal floatRun's.
enum class Source { Float32, RoundBf16, RoundHalf, Bf16, Half };

template <Source S>
MP_TARGET_F16C inline __m256 load8(const void* base, int64_t at) {
  if constexpr (S == Source::Float32 || S == Source::RoundBf16 || S == Source::RoundHalf) {
    const __m256 x = _mm256_loadu_ps(static_cast<const float*>(base) + at);
    if constexpr (S == Source::Float32) return x;
    if constexpr (S == Source::RoundHalf) return simd::roundHalfLanes(x);
    if constexpr (S == Source::RoundBf16) return simd::roundBf16Lanes(x);
  } else {
    const auto* p = static_cast<const uint16_t*>(base) + at;
    return S == Source::Half ? simd::F16Io8::load(p) : simd::Bf16Io8::load(p);
  }
}

// Columns col[c] (c < 8), values k0 .. k0 + 8 -> out[k * ldo + c]: the 8x8 transpose.
template <Source S>
MP_TARGET_F16C inline void transpose8(const void* base, const int64_t* col, int64_t k0, float* out, int64_t ldo) {
  const __m256 r0 = load8<S>(base, col[0] + k0), r1 = load8<S>(base, col[1] + k0), r2 = load8<S>(base, col[2] + k0), r3 = load8<S>(base, col[3] + k0);
  const __m256 r4 = load8<S>(base, col[4] + k0), r5 = load8<S>(base, col[5] + k0), r6 = load8<S>(base, col[6] + k0), r7 = load8<S>(base, col[7] + k0);
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

// The whole 8-k blocks of eight columns starting at element col[c] (k0 = 0, 8, ...).
template <Source S>
MP_TARGET_F16C void transposeBlocks(const void* base, const int64_t* col, int64_t kc8, float* d) {
  for (int64_t k = 0; k < kc8; k += 8) transpose8<S>(base, col, k, d + k * 16, 16);
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
  // Groups of eight columns (half a panel): whole 8-k blocks converted and transposed in
  // registers; the last kc % 8 values through floatRun (scratch: kc floats).
  const int64_t kc8 = kc / 8 * 8;
  const Source source = b.dtype == DType::Float16    ? Source::Half
                        : b.dtype == DType::BFloat16 ? Source::Bf16
                        : b.rounding == DType::BFloat16 ? Source::RoundBf16
                        : b.rounding == DType::Float16  ? Source::RoundHalf
                                                        : Source::Float32;
  int64_t j = 0;
  for (; j + 8 <= nc; j += 8) {
    int64_t col[8];
    for (int c = 0; c < 8; ++c) col[c] = (j0 + j + c) * b.colStride + p0;
    float* d = dst + (j / kNr) * kNr * kc + j % kNr;
    switch (source) {
      case Source::Float32: transposeBlocks<Source::Float32>(b.data, col, kc8, d); break;
      case Source::RoundBf16: transposeBlocks<Source::RoundBf16>(b.data, col, kc8, d); break;
      case Source::RoundHalf: transposeBlocks<Source::RoundHalf>(b.data, col, kc8, d); break;
      case Source::Bf16: transposeBlocks<Source::Bf16>(b.data, col, kc8, d); break;
      case Source::Half: transposeBlocks<Source::Half>(b.data, col, kc8, d); break;
    }
    if (kc8 < kc) {
      for (int c = 0; c < 8; ++c) {
        const float* tail = floatRun(b, col[c] + kc8, kc - kc8, toFloat, scratch);
        for (int64_t k = kc8; k < kc; ++k) d[k * kNr + c] = tail[k - kc8];
      }
    }
  }
  for (; j < nc; ++j) {
    const float* run = floatRun(b, (j0 + j) * b.colStride + p0, kc, toFloat, scratch);
    float* d = dst + (j / kNr) * kNr * kc + j % kNr;
    for (int64_t k = 0; k < kc; ++k) d[k * kNr] = run[k];
  }
}

}  // namespace mp::cpu::gemm
