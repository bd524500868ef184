// The AMX kernels' packers (gemmAmx.cpp), for every layout of A and B: rows with k contiguous are
// copied (bfloat16) or rounded (a cast-fused float32) straight into place, layouts with k strided
// are interleaved into k pairs, and the two transposed cases go through 16 x 16 transposes of
// 32-bit k pairs. Panels (k padded with zeros to a multiple of 32, kp = kcPad / 2 pairs):
//   A: [32 rows][kcPad] bf16: a tile is 16 rows of 32 consecutive k, row stride kcPad;
//   B: [kp][32 columns][2] bf16 (the k-pair layout of the VDPBF16PS kernel).
// bfloat16 values are read as stored; a cast-fused float32 operand is rounded in registers
// (Bf16Io::narrow, bit-identical to the cast kernels).
//
// float16 has no AMX instruction before AMX-FP16, so the float16 kernel splits each value v (a
// float16, or a float32 rounded to float16) exactly into two bfloat16 pieces: hi = v truncated to
// bfloat16's 8 significant bits, lo = v - hi (float16's other 3 bits: exact, and never subnormal
// in bfloat16). Each k becomes four values of the packed k, A as (hi, hi', lo, lo) and B as
// (hi, lo, hi', lo), so the tile product sums ah*bh + ah*bl + al*bh + al*bl = a*b, every product
// exact in float32: the float32-accumulated product of the float16 operands, 4x the tile work.
// hi' is hi for finite v; an infinity or NaN keeps hi = v, and hi' = lo = 0, so it meets the
// other operand's hi once (inf * 0 = NaN, inf * x = +-inf) and zeros elsewhere, never 0 * inf.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "../../core/elementTypes.h"
#include "../simdIoAvx512.h"
#include "../simdTarget.h"
#include "gemmPack.h"
#include "gemmPairsAvx512.h"

namespace mp::cpu::gemm {
namespace {

constexpr int kMr = 32, kNr = 32, kTileK = 32;

// What a panel holds: bfloat16 values, or float16 ones split into bfloat16 pieces laid out for
// the A or the B side (above).
enum class Enc { Bf16, F16SplitA, F16SplitB };

// The panel depth of a slice of kc: Packing::AmxBf16's, or Packing::AmxF16Split's (four values per k).
int64_t paddedK(Enc e, int64_t kc) { return packedDepth(e == Enc::Bf16 ? Packing::AmxBf16 : Packing::AmxF16Split, kc); }

// Packed values of k per value of the operand's k.
constexpr int expansion(Enc e) { return e == Enc::Bf16 ? 1 : 4; }

// 32 values of x from element `at` (contiguous) as bfloat16 bits, lanes outside `mask` zero: a
// bfloat16 operand as stored, a cast-fused float32 one rounded to nearest even.
MP_TARGET_AMX __m512i load32(const Operand& x, int64_t at, __mmask32 mask) {
  if (x.dtype == DType::BFloat16) return _mm512_maskz_loadu_epi16(mask, static_cast<const uint16_t*>(x.data) + at);
  const float* p = static_cast<const float*>(x.data) + at;
  const __m256i lo = simd::Bf16Io::narrow(_mm512_maskz_loadu_ps(__mmask16(mask), p));
  const __m256i hi = simd::Bf16Io::narrow(_mm512_maskz_loadu_ps(__mmask16(mask >> 16), p + 16));
  return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

__mmask32 lanes(int64_t n) { return n >= 32 ? ~__mmask32(0) : __mmask32((1u << n) - 1); }

// One element as bfloat16 bits (the strided layouts no vector path covers).
uint16_t elementBits(const Operand& x, int64_t at) {
  if (x.dtype == DType::BFloat16) return static_cast<const uint16_t*>(x.data)[at];
  return BF16Tag::store(static_cast<const float*>(x.data)[at]);
}

// 16 values of a float16 operand from element `at` (contiguous) as float32, lanes outside `mask`
// zero: float16 as stored, or a cast-fused float32 rounded to float16 first.
MP_TARGET_AMX __m512 load16Half(const Operand& x, int64_t at, __mmask16 mask) {
  if (x.dtype == DType::Float16) return simd::F16Io::load(static_cast<const uint16_t*>(x.data) + at, mask);
  return simd::F16Io::widen(simd::F16Io::narrow(_mm512_maskz_loadu_ps(mask, static_cast<const float*>(x.data) + at)));
}

// The split of 16 float16 values (as float32): per lane, the 32-bit k pair of packed values
// (4k, 4k + 1) in `first` and (4k + 2, 4k + 3) in `second`, each low half first.
struct SplitPairs {
  __m512i first, second;
};

template <Enc E>
MP_TARGET_AMX SplitPairs split(__m512 v) {
  const __m512i bits = _mm512_castps_si512(v), exponent = _mm512_set1_epi32(0x7f800000);
  const __mmask16 finite = _mm512_cmpneq_epi32_mask(_mm512_and_si512(bits, exponent), exponent);
  const __m512i hi = _mm512_srli_epi32(bits, 16);
  const __m512 rest = _mm512_sub_ps(v, _mm512_castsi512_ps(_mm512_slli_epi32(hi, 16)));
  const __m512i lo = _mm512_maskz_srli_epi32(finite, _mm512_castps_si512(rest), 16);
  const __m512i hiFinite = _mm512_maskz_mov_epi32(finite, hi);
  const __m512i loHigh = _mm512_slli_epi32(lo, 16);
  if constexpr (E == Enc::F16SplitA) {
    return {_mm512_or_si512(hi, _mm512_slli_epi32(hiFinite, 16)), _mm512_or_si512(lo, loHigh)};
  } else {
    return {_mm512_or_si512(hi, loHigh), _mm512_or_si512(hiFinite, loHigh)};
  }
}

// One value's four packed values (the strided layouts no vector path covers).
template <Enc E>
void splitElement(const Operand& x, int64_t at, uint16_t* dst) {
  const uint16_t h = x.dtype == DType::Float16 ? static_cast<const uint16_t*>(x.data)[at]
                                               : F16Tag::store(static_cast<const float*>(x.data)[at]);
  const float v = F16Tag::load(h);
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  const bool finite = (bits & 0x7f800000u) != 0x7f800000u;
  const uint16_t hi = uint16_t(bits >> 16);
  const float hiValue = BF16Tag::load(hi);
  const uint16_t lo = finite ? uint16_t(BF16Tag::store(v - hiValue)) : 0;
  const uint16_t hiFinite = finite ? hi : 0;
  const uint16_t a[4] = {hi, hiFinite, lo, lo}, b[4] = {hi, lo, hiFinite, lo};
  std::memcpy(dst, E == Enc::F16SplitA ? a : b, sizeof a);
}

// dst[r][0, kcPad) = row r's packed k values (zero past the operand's kc, zero rows past `rows`),
// 32 rows. Row r's element k is at first + r * rowStep + k * kStep.
template <Enc E>
MP_TARGET_AMX void packKRows(const Operand& x, int64_t first, int64_t rowStep, int64_t kStep, int rows, int64_t kc,
                             int64_t kcPad, uint16_t* dst) {
  constexpr int kExpand = expansion(E);
  alignas(64) static const uint32_t even[16] = {0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23};
  alignas(64) static const uint32_t odd[16] = {8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
  for (int r = 0; r < kMr; ++r) {
    uint16_t* d = dst + r * kcPad;
    const int64_t row = first + r * rowStep;
    if (r >= rows) {
      std::memset(d, 0, size_t(kcPad) * sizeof(uint16_t));
    } else if (kStep == 1 && E == Enc::Bf16) {
      for (int64_t p = 0; p < kcPad; p += kTileK) {
        _mm512_store_si512(d + p, p < kc ? load32(x, row + p, lanes(kc - p)) : _mm512_setzero_si512());
      }
    } else if (kStep == 1) {
      // 16 values of k (64 packed values) at a time: the pairs of each value side by side.
      const __m512i idxEven = _mm512_load_si512(even), idxOdd = _mm512_load_si512(odd);
      for (int64_t p = 0; p * kExpand < kcPad; p += 16) {
        const int64_t left = kc - p;
        const __mmask16 mask = left >= 16 ? __mmask16(0xffff) : left <= 0 ? __mmask16(0) : __mmask16((1u << left) - 1);
        const SplitPairs s = split<E>(load16Half(x, row + p, mask));
        _mm512_store_si512(d + p * kExpand, _mm512_permutex2var_epi32(s.first, idxEven, s.second));
        if (p * kExpand + kTileK < kcPad) _mm512_store_si512(d + p * kExpand + kTileK, _mm512_permutex2var_epi32(s.first, idxOdd, s.second));
      }
    } else {
      for (int64_t p = 0; p * kExpand < kcPad; ++p) {
        if (p >= kc) {
          std::memset(d + p * kExpand, 0, kExpand * sizeof(uint16_t));
        } else if constexpr (E == Enc::Bf16) {
          d[p] = elementBits(x, row + p * kStep);
        } else {
          splitElement<E>(x, row + p * kStep, d + p * kExpand);
        }
      }
    }
  }
}

// dst[q][c][2] = the k pair (2q, 2q + 1) of line c, for 32 lines that run along memory (element
// (c, k) at first + c + k * kStep): two 32-wide loads and storeKPairs per pair.
template <Enc E>
MP_TARGET_AMX void packKPairs(const Operand& x, int64_t first, int64_t kStep, int lines, int64_t kc, int64_t kcPad,
                              uint16_t* dst) {
  if constexpr (E != Enc::Bf16) {
    // Each value of k gives two pair rows: the lines' `first` pairs, then their `second` pairs.
    const __mmask32 mask = lanes(lines);
    for (int64_t p = 0; p < kcPad / 4; ++p) {
      uint16_t* d = dst + p * 2 * 64;
      if (p >= kc) {
        std::memset(d, 0, 2 * 64 * sizeof(uint16_t));
        continue;
      }
      const SplitPairs s0 = split<E>(load16Half(x, first + p * kStep, __mmask16(mask)));
      const SplitPairs s1 = split<E>(load16Half(x, first + p * kStep + 16, __mmask16(mask >> 16)));
      _mm512_store_si512(d, s0.first);
      _mm512_store_si512(d + 32, s1.first);
      _mm512_store_si512(d + 64, s0.second);
      _mm512_store_si512(d + 96, s1.second);
    }
    return;
  }
  const __mmask32 mask = lanes(lines);
  for (int64_t q = 0; q < kcPad / 2; ++q) {
    const int64_t k0 = 2 * q;
    const __m512i x0 = k0 < kc ? load32(x, first + k0 * kStep, mask) : _mm512_setzero_si512();
    const __m512i x1 = k0 + 1 < kc ? load32(x, first + (k0 + 1) * kStep, mask) : _mm512_setzero_si512();
    storeKPairs(x0, x1, dst + q * 64);
  }
}

// A 16 x 16 block of 32-bit elements transposed: dst[c * ldd + r] = src[r * lds + c].
MP_TARGET_AMX void transpose16(const uint32_t* src, int64_t lds, uint32_t* dst, int64_t ldd) {
  __m512i r[16], t[16];
  for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_si512(src + i * lds);
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
    r[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
    r[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
    r[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
  }
  for (int i = 0; i < 16; i += 8) {
    for (int j = 0; j < 4; ++j) {
      t[i + j] = _mm512_shuffle_i32x4(r[i + j], r[i + j + 4], 0x88);
      t[i + j + 4] = _mm512_shuffle_i32x4(r[i + j], r[i + j + 4], 0xdd);
    }
  }
  for (int j = 0; j < 8; ++j) {
    r[j] = _mm512_shuffle_i32x4(t[j], t[j + 8], 0x88);
    r[j + 8] = _mm512_shuffle_i32x4(t[j], t[j + 8], 0xdd);
  }
  for (int i = 0; i < 16; ++i) _mm512_storeu_si512(dst + i * ldd, r[i]);
}

// A rows x cols matrix of 32-bit elements (both multiples of 16) transposed into cols x rows.
MP_TARGET_AMX void transpose32Bit(const uint32_t* src, int64_t rows, int64_t cols, uint32_t* dst) {
  for (int64_t r = 0; r < rows; r += 16) {
    for (int64_t c = 0; c < cols; c += 16) transpose16(src + r * cols + c, cols, dst + c * rows + r, rows);
  }
}

// A panels from rows [i0, i0 + mc) x k [p0, p0 + kc): row-major A (activations) copies or rounds
// rows straight into place; a transposed A (a weight gradient's gradient^T) is packed in k pairs
// along its contiguous rows, then transposed as 32-bit pairs.
template <Enc E>
void packA(const Operand& a, int64_t i0, int64_t mc, int64_t p0, int64_t kc, void* dst, ToFloat, float* scratch) {
  const int64_t kcPad = paddedK(E, kc);
  for (int64_t p = 0; p * kMr < mc; ++p) {
    const int rows = int(std::min<int64_t>(kMr, mc - p * kMr));
    auto* d = static_cast<uint16_t*>(dst) + p * kMr * kcPad;
    const int64_t first = (i0 + p * kMr) * a.rowStride + p0 * a.colStride;
    if (a.colStride != 1 && a.rowStride == 1) {
      auto* pairs = reinterpret_cast<uint16_t*>(scratch);
      packKPairs<E>(a, first, a.colStride, rows, kc, kcPad, pairs);
      transpose32Bit(reinterpret_cast<const uint32_t*>(pairs), kcPad / 2, kMr, reinterpret_cast<uint32_t*>(d));
    } else {
      packKRows<E>(a, first, a.rowStride, a.colStride, rows, kc, kcPad, d);
    }
  }
}

// B panels from k [p0, p0 + kc) x columns [j0, j0 + nc): row-major B is packed in k pairs
// directly; a transposed B (a Linear weight read as W^T, k contiguous) is gathered as k rows, then
// transposed as 32-bit pairs.
template <Enc E>
void packB(const Operand& b, int64_t p0, int64_t kc, int64_t j0, int64_t nc, void* dst, ToFloat, float* scratch) {
  const int64_t kcPad = paddedK(E, kc);
  for (int64_t q = 0; q * kNr < nc; ++q) {
    const int cols = int(std::min<int64_t>(kNr, nc - q * kNr));
    auto* d = static_cast<uint16_t*>(dst) + q * kNr * kcPad;
    const int64_t first = p0 * b.rowStride + (j0 + q * kNr) * b.colStride;
    if (b.colStride == 1) {
      packKPairs<E>(b, first, b.rowStride, cols, kc, kcPad, d);
    } else {
      auto* rows = reinterpret_cast<uint16_t*>(scratch);
      packKRows<E>(b, first, b.colStride, b.rowStride, cols, kc, kcPad, rows);
      transpose32Bit(reinterpret_cast<const uint32_t*>(rows), kNr, kcPad / 2, reinterpret_cast<uint32_t*>(d));
    }
  }
}

}  // namespace

void packAAmxBf16(const Operand& a, int64_t i0, int64_t mc, int64_t p0, int64_t kc, void* dst, ToFloat toFloat, float* scratch) {
  packA<Enc::Bf16>(a, i0, mc, p0, kc, dst, toFloat, scratch);
}
void packBAmxBf16(const Operand& b, int64_t p0, int64_t kc, int64_t j0, int64_t nc, void* dst, ToFloat toFloat, float* scratch) {
  packB<Enc::Bf16>(b, p0, kc, j0, nc, dst, toFloat, scratch);
}
void packAAmxF16Split(const Operand& a, int64_t i0, int64_t mc, int64_t p0, int64_t kc, void* dst, ToFloat toFloat, float* scratch) {
  packA<Enc::F16SplitA>(a, i0, mc, p0, kc, dst, toFloat, scratch);
}
void packBAmxF16Split(const Operand& b, int64_t p0, int64_t kc, int64_t j0, int64_t nc, void* dst, ToFloat toFloat, float* scratch) {
  packB<Enc::F16SplitB>(b, p0, kc, j0, nc, dst, toFloat, scratch);
}

}  // namespace mp::cpu::gemm
