// bfloat16 microkernel for AVX-512-BF16: the same 12 x 32 tile as the float32 kernel, but each
// VDPBF16PS multiplies a pair of consecutive k (32 bf16 pairs -> 16 float32 lanes), so one
// instruction does twice the FLOPs of an FMA. Operands are packed k-pair interleaved
// ([k/2][rows][2], oneDNN's "VNNI" layout): a broadcast 32-bit A pair meets 16 B column pairs.
// 24 accumulators cover the ~6-cycle latency x 2 pipes = 12 needed in flight. Products of two
// bf16 are exact in float32, so results differ from the reference only by summation order
// (and VDPBF16PS flushing denormal inputs and outputs to zero).
#include <immintrin.h>

#include <cstring>

#include "gemm.h"
#include "gemmPack.h"
#include "gemmPairsAvx512.h"
#include "gemmTileAvx512.h"

namespace mp::cpu::gemm {
namespace {

constexpr int kMr = 12, kNr = 32;

MP_TARGET_AVX512BF16 void kernel(int64_t kc, const void* av, const void* bv, const TileOut& t, int mr, int nr) {
  const uint32_t* a = static_cast<const uint32_t*>(av);
  const uint16_t* b = static_cast<const uint16_t*>(bv);
  const int64_t kp = (kc + 1) / 2;
  __m512 acc[kMr][2];
#pragma GCC unroll 12
  for (int r = 0; r < kMr; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  prefetchTile(t, mr);
  for (int64_t q = 0; q < kp; ++q) {
    const __m512bh b0 = (__m512bh)_mm512_load_si512(b), b1 = (__m512bh)_mm512_load_si512(b + 32);
    _mm_prefetch(reinterpret_cast<const char*>(a + 8 * kMr), _MM_HINT_T0);
#pragma GCC unroll 12
    for (int r = 0; r < kMr; ++r) {
      const __m512bh x = (__m512bh)_mm512_set1_epi32(int(a[r]));
      acc[r][0] = _mm512_dpbf16_ps(acc[r][0], x, b0);
      acc[r][1] = _mm512_dpbf16_ps(acc[r][1], x, b1);
    }
    a += kMr;
    b += 2 * kNr;
  }
  storeTile<kMr>(acc, t, mr, nr);
}

// Row-major B (the usual forward layout): rows k and k + 1 are each 32 contiguous bf16, so one
// panel row pair is two loads and storeKPairs; masked loads give the zero padding of the last
// panel and of an odd k.
MP_TARGET_AVX512BF16 void packRowMajorB(const uint16_t* src, int64_t rowStride, int64_t kc, int64_t nc, uint16_t* dst) {
  const int64_t kp = (kc + 1) / 2;
  for (int64_t j = 0; j < nc; j += kNr) {
    const int64_t cols = nc - j < kNr ? nc - j : kNr;
    const __mmask32 mask = cols == kNr ? ~__mmask32(0) : __mmask32((1u << cols) - 1);
    uint16_t* d = dst + (j / kNr) * kNr * kp * 2;
    for (int64_t q = 0; q < kp; ++q) {
      const uint16_t* r0 = src + 2 * q * rowStride + j;
      const __m512i x0 = _mm512_maskz_loadu_epi16(mask, r0);
      const __m512i x1 = 2 * q + 1 < kc ? _mm512_maskz_loadu_epi16(mask, r0 + rowStride) : _mm512_setzero_si512();
      storeKPairs(x0, x1, d + q * 2 * kNr);
    }
  }
}

void packB(const Operand& b, int64_t p0, int64_t kc, int64_t j0, int64_t nc, void* dst, ToFloat, float*) {
  if (b.colStride == 1) {
    packRowMajorB(static_cast<const uint16_t*>(b.data) + p0 * b.rowStride + j0, b.rowStride, kc, nc,
                  static_cast<uint16_t*>(dst));
  } else {
    packBBf16TransposedAvx512(b, p0, kc, j0, nc, static_cast<uint16_t*>(dst));
  }
}

}  // namespace

const Kernel& bf16Avx512Kernel() {
  // kc = 512 values of k (256 pairs): the B micro-panel is 32 KB, as for float32 at kc = 256.
  static const Kernel k{"bf16-avx512bf16-12x32", kMr, kNr, 512, 240, 2048, Packing::Bf16Pairs, kernel, packABf16Avx512, packB};
  return k;
}

}  // namespace mp::cpu::gemm
