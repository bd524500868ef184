// AVX-512 packers for the layouts where panel order is a transpose of memory order: row-major A
// (a panel wants k outermost, A stores rows) and transposed B (a panel wants k outermost, B^T
// stores columns). In 32-bit units both kernels' panels are the same transpose: dst[c][R] =
// src[r][c], where an element is a float32 value or, for VDPBF16PS, a bfloat16 k pair. Four rows
// at a time go through the classic unpack 4 x 4 transpose within each 128-bit lane, so one
// 16-byte store writes four rows of a column instead of four scalar copies.
#include <immintrin.h>

#include <algorithm>

#include "../simdTarget.h"
#include "gemmPack.h"

namespace mp::cpu::gemm {
namespace {

// dst[c * R + r] = r < rows ? src[r * ld + c] : 0 for c in [0, cols): the rows past `rows` are the
// zero padding of a partial panel.
template <int R>
MP_TARGET_AVX512 void transposeRows(const uint32_t* src, int64_t ld, int rows, int64_t cols, uint32_t* dst) {
  for (int64_t c0 = 0; c0 < cols; c0 += 16) {
    const int64_t width = std::min<int64_t>(16, cols - c0);
    const __mmask16 mask = width == 16 ? __mmask16(0xffff) : __mmask16((1u << width) - 1);
    for (int g = 0; g < R; g += 4) {
      __m512i x[4];
      for (int i = 0; i < 4; ++i) {
        x[i] = g + i < rows ? _mm512_maskz_loadu_epi32(mask, src + (g + i) * ld + c0) : _mm512_setzero_si512();
      }
      const __m512i t0 = _mm512_unpacklo_epi32(x[0], x[1]), t1 = _mm512_unpackhi_epi32(x[0], x[1]);
      const __m512i t2 = _mm512_unpacklo_epi32(x[2], x[3]), t3 = _mm512_unpackhi_epi32(x[2], x[3]);
      // u[j] lane L holds rows g..g+3 of column c0 + 4L + j.
      const __m512i u[4] = {_mm512_unpacklo_epi64(t0, t2), _mm512_unpackhi_epi64(t0, t2),
                            _mm512_unpacklo_epi64(t1, t3), _mm512_unpackhi_epi64(t1, t3)};
      uint32_t* d = dst + c0 * R + g;
      if (width == 16) {
#pragma GCC unroll 4
        for (int j = 0; j < 4; ++j) {
          _mm_storeu_si128(reinterpret_cast<__m128i*>(d + j * R), _mm512_castsi512_si128(u[j]));
          _mm_storeu_si128(reinterpret_cast<__m128i*>(d + (4 + j) * R), _mm512_extracti32x4_epi32(u[j], 1));
          _mm_storeu_si128(reinterpret_cast<__m128i*>(d + (8 + j) * R), _mm512_extracti32x4_epi32(u[j], 2));
          _mm_storeu_si128(reinterpret_cast<__m128i*>(d + (12 + j) * R), _mm512_extracti32x4_epi32(u[j], 3));
        }
      } else {
        alignas(64) uint32_t lanes[4][16];
        for (int j = 0; j < 4; ++j) _mm512_store_si512(lanes[j], u[j]);
        for (int64_t c = 0; c < width; ++c) {
          std::copy(lanes[c % 4] + 4 * (c / 4), lanes[c % 4] + 4 * (c / 4) + 4, d + c * R);
        }
      }
    }
  }
}

// Rows [r0, r0 + rows) of a 16-bit operand whose elements run along memory (stride 1) from
// `first`, `rowStep` elements apart, widened to float32 in scratch (rows x n, row stride n).
void widenRows(const Operand& x, int64_t first, int64_t rowStep, int rows, int64_t n, ToFloat toFloat, float* scratch) {
  const auto* src = static_cast<const uint16_t*>(x.data);
  for (int r = 0; r < rows; ++r) toFloat(src + first + r * rowStep, scratch + r * n, n);
}

// float32 panels of R rows from a layout whose R-side index steps by `rowStep` and whose k side is
// contiguous: rows [0, count) starting at element `first`.
template <int R>
void packF32Transposed(const Operand& x, int64_t first, int64_t rowStep, int64_t count, int64_t kc, float* dst,
                       ToFloat toFloat, float* scratch) {
  for (int64_t p = 0; p * R < count; ++p) {
    const int rows = int(std::min<int64_t>(R, count - p * R));
    uint32_t* d = reinterpret_cast<uint32_t*>(dst + p * R * kc);
    if (x.dtype == DType::Float32) {
      transposeRows<R>(static_cast<const uint32_t*>(x.data) + first + p * R * rowStep, rowStep, rows, kc, d);
    } else {
      widenRows(x, first + p * R * rowStep, rowStep, rows, kc, toFloat, scratch);
      transposeRows<R>(reinterpret_cast<const uint32_t*>(scratch), kc, rows, kc, d);
    }
  }
}

// bfloat16 k-pair panels of R rows from a layout whose k side is contiguous: pairs are 32-bit
// elements, an odd kc's last pair gets a zero partner.
template <int R>
void packBf16Transposed(const Operand& x, int64_t first, int64_t rowStep, int64_t count, int64_t kc, uint16_t* dst) {
  const auto* src = static_cast<const uint16_t*>(x.data);
  const int64_t kp = (kc + 1) / 2;
  for (int64_t p = 0; p * R < count; ++p) {
    const int rows = int(std::min<int64_t>(R, count - p * R));
    const uint16_t* s = src + first + p * R * rowStep;
    uint16_t* d = dst + p * R * kp * 2;
    transposeRows<R>(reinterpret_cast<const uint32_t*>(s), rowStep / 2, rows, kc / 2, reinterpret_cast<uint32_t*>(d));
    if (kc % 2) {
      uint16_t* last = d + (kp - 1) * R * 2;
      for (int r = 0; r < R; ++r) {
        last[2 * r] = r < rows ? s[r * rowStep + kc - 1] : 0;
        last[2 * r + 1] = 0;
      }
    }
  }
}

}  // namespace

// The 12 x 32 kernels' packers; other layouts (and odd row steps, which split bfloat16 pairs
// across 32-bit elements) take the generic ones.
void packAF32Avx512(const Operand& a, int64_t i0, int64_t mc, int64_t p0, int64_t kc, void* dst, ToFloat toFloat,
                    float* scratch) {
  float* d = static_cast<float*>(dst);
  if (a.colStride != 1) return packAF32(a, i0, mc, p0, kc, 12, d, toFloat, scratch);
  packF32Transposed<12>(a, i0 * a.rowStride + p0, a.rowStride, mc, kc, d, toFloat, scratch);
}

void packBF32Avx512(const Operand& b, int64_t p0, int64_t kc, int64_t j0, int64_t nc, void* dst, ToFloat toFloat,
                    float* scratch) {
  float* d = static_cast<float*>(dst);
  if (b.rowStride != 1) return packBF32(b, p0, kc, j0, nc, 32, d, toFloat, scratch);
  packF32Transposed<32>(b, j0 * b.colStride + p0, b.colStride, nc, kc, d, toFloat, scratch);
}

void packABf16Avx512(const Operand& a, int64_t i0, int64_t mc, int64_t p0, int64_t kc, void* dst, ToFloat, float*) {
  auto* d = static_cast<uint16_t*>(dst);
  if (a.colStride != 1 || a.rowStride % 2) return packABf16(a, i0, mc, p0, kc, 12, d);
  packBf16Transposed<12>(a, i0 * a.rowStride + p0, a.rowStride, mc, kc, d);
}

void packBBf16TransposedAvx512(const Operand& b, int64_t p0, int64_t kc, int64_t j0, int64_t nc, uint16_t* dst) {
  if (b.rowStride != 1 || b.colStride % 2) return packBBf16(b, p0, kc, j0, nc, 32, dst);
  packBf16Transposed<32>(b, j0 * b.colStride + p0, b.colStride, nc, kc, dst);
}

}  // namespace mp::cpu::gemm
