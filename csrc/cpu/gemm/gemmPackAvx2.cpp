// The AVX2 kernel's packers: a transposed B (a Linear weight read as W^T: each column's k values
// contiguous) becomes [k][16] panels, and a row-major A (activations) [k][6] panels, by 8x8
// register transposes instead of one scalar store per element, 16-bit values widened and
// cast-fused values rounded in the same registers (the conversions of castF16c.cpp, so the panels
// hold floatRun's values, as the generic packers').
#include <immintrin.h>

#include <algorithm>
#include <cstring>

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

// r[0..8) transposed in place: afterwards r[k] holds element k of each input vector.
MP_TARGET_F16C inline void transpose8x8(__m256* r) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]), t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]), t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xee), s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xee);
  const __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xee), s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xee);
  r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
  r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
  r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
  r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
  r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
  r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
  r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
  r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

// Columns col[c] (c < 8), values k0 .. k0 + 8 -> out[k * ldo + c]: the 8x8 transpose.
template <Source S>
MP_TARGET_F16C inline void transpose8(const void* base, const int64_t* col, int64_t k0, float* out, int64_t ldo) {
  __m256 r[8];
  for (int c = 0; c < 8; ++c) r[c] = load8<S>(base, col[c] + k0);
  transpose8x8(r);
  for (int k = 0; k < 8; ++k) _mm256_storeu_ps(out + k * ldo, r[k]);
}

// Six rows (row[0..6) element offsets), values k0 .. k0 + 8 -> out[k * 6 + r]: an A panel's eight
// k steps. Each k's eight-lane store spills two lanes into the next k's slot, which that k's store
// then overwrites; the last k is copied six lanes wide, so nothing is written past k0 + 8.
template <Source S>
MP_TARGET_F16C inline void transposeSixRows(const void* base, const int64_t* row, int64_t k0, float* out) {
  __m256 r[8];
  for (int c = 0; c < 6; ++c) r[c] = load8<S>(base, row[c] + k0);
  r[6] = r[7] = _mm256_setzero_ps();
  transpose8x8(r);
  for (int k = 0; k < 7; ++k) _mm256_storeu_ps(out + k * 6, r[k]);
  alignas(32) float last[8];
  _mm256_store_ps(last, r[7]);
  std::memcpy(out + 7 * 6, last, 6 * sizeof(float));
}

// How an operand's values reach float32 lanes.
Source sourceOf(const Operand& x) {
  if (x.dtype == DType::Float16) return Source::Half;
  if (x.dtype == DType::BFloat16) return Source::Bf16;
  if (x.rounding == DType::BFloat16) return Source::RoundBf16;
  if (x.rounding == DType::Float16) return Source::RoundHalf;
  return Source::Float32;
}

// The whole 8-k blocks (k < kc8) of eight B columns starting at element col[c], into a [k][16]
// panel; and of six A rows starting at element row[r], into a [k][6] panel.
template <Source S>
MP_TARGET_F16C void transposeColumns(const void* base, const int64_t* col, int64_t kc8, float* d) {
  for (int64_t k = 0; k < kc8; k += 8) transpose8<S>(base, col, k, d + k * 16, 16);
}

template <Source S>
MP_TARGET_F16C void transposeRows(const void* base, const int64_t* row, int64_t kc8, float* d) {
  for (int64_t k = 0; k < kc8; k += 8) transposeSixRows<S>(base, row, k, d + k * 6);
}

// The two transposers for an operand's values, picked once per pack call.
using Transposer = void (*)(const void* base, const int64_t* at, int64_t kc8, float* d);
struct Transposers {
  Transposer columns, rows;
};

template <Source S>
constexpr Transposers transposersFor() {
  return {transposeColumns<S>, transposeRows<S>};
}

Transposers transposersOf(const Operand& x) {
  switch (sourceOf(x)) {
    case Source::RoundBf16: return transposersFor<Source::RoundBf16>();
    case Source::RoundHalf: return transposersFor<Source::RoundHalf>();
    case Source::Bf16: return transposersFor<Source::Bf16>();
    case Source::Half: return transposersFor<Source::Half>();
    default: return transposersFor<Source::Float32>();
  }
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
  const Transposer transpose = transposersOf(b).columns;
  int64_t j = 0;
  for (; j + 8 <= nc; j += 8) {
    int64_t col[8];
    for (int c = 0; c < 8; ++c) col[c] = (j0 + j + c) * b.colStride + p0;
    float* d = dst + (j / kNr) * kNr * kc + j % kNr;
    transpose(b.data, col, kc8, d);
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

MP_TARGET_F16C void packAF32Avx2(const Operand& a, int64_t i0, int64_t mc, int64_t p0, int64_t kc, void* dstv, ToFloat toFloat,
                                 float* scratch) {
  auto* dst = static_cast<float*>(dstv);
  constexpr int kMr = 6;
  const int64_t full = a.colStride == 1 && a.rowStride != 1 ? mc / kMr : 0;
  const int64_t kc8 = kc / 8 * 8;
  const Transposer transpose = transposersOf(a).rows;
  for (int64_t p = 0; p < full; ++p) {
    int64_t row[kMr];
    for (int r = 0; r < kMr; ++r) row[r] = (i0 + p * kMr + r) * a.rowStride + p0;
    float* d = dst + p * kMr * kc;
    transpose(a.data, row, kc8, d);
    if (kc8 < kc) {
      for (int r = 0; r < kMr; ++r) {
        const float* tail = floatRun(a, row[r] + kc8, kc - kc8, toFloat, scratch);
        for (int64_t k = kc8; k < kc; ++k) d[k * kMr + r] = tail[k - kc8];
      }
    }
  }
  // Other layouts, and the rows of a last partial panel (with its zero padding), the generic way.
  if (full * kMr < mc) packAF32(a, i0 + full * kMr, mc - full * kMr, p0, kc, kMr, dst + full * kMr * kc, toFloat, scratch);
}

}  // namespace mp::cpu::gemm
