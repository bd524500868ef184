// float32 microkernel for AVX-512F: a 12 x 32 tile of C in 24 zmm accumulators (the shape the
// Zen 5 register-tile probe ran at 95-97 % of peak, performance.md §4.2). Per k: two loads of
// B (32 columns), twelve broadcasts of A (folded into the FMAs as {1to16} memory operands),
// 24 independent FMAs, which covers the 4-cycle latency x 2 pipes = 8 needed in flight.
#include <immintrin.h>

#include "gemm.h"
#include "gemmPack.h"
#include "gemmTileAvx512.h"

namespace mp::cpu::gemm {
namespace {

constexpr int kMr = 12, kNr = 32;

MP_TARGET_AVX512_FMA void kernel(int64_t kc, const void* av, const void* bv, const TileOut& t, int mr, int nr) {
  const float* a = static_cast<const float*>(av);
  const float* b = static_cast<const float*>(bv);
  __m512 acc[kMr][2];
#pragma GCC unroll 12
  for (int r = 0; r < kMr; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  prefetchTile(t, mr);
  for (int64_t k = 0; k < kc; ++k) {
    const __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
    _mm_prefetch(reinterpret_cast<const char*>(a + 8 * kMr), _MM_HINT_T0);
#pragma GCC unroll 12
    for (int r = 0; r < kMr; ++r) {
      const __m512 x = _mm512_set1_ps(a[r]);
      acc[r][0] = _mm512_fmadd_ps(x, b0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(x, b1, acc[r][1]);
    }
    a += kMr;
    b += kNr;
  }
  storeTile<kMr>(acc, t, mr, nr);
}

}  // namespace

const Kernel& f32Avx512Kernel() {
  // kc = 1024: a 128 KB B micro-panel streams from L2 (per k the kernel reads 128 B of B and 48 B
  // of A for 24 FMAs, well within L2's bandwidth), and every k slice less is one pass less over
  // the float32 C. Against kc = 256 with its L1-resident panels, interleaved on the AMX class:
  // GEMMs 1.01-1.09x, the W2 and W3 float32 steps 1.06-1.07x, W1 within noise (AVX-512 CPUs
  // without AMX not measured). mc = 120 rows x 1024 x 4 B = 480 KB of packed A in a 1 MB L2;
  // nc bounds the packed B panel.
  static const Kernel k{"f32-avx512-12x32", kMr, kNr, 1024, 120, 2048, Packing::F32, kernel, packAF32Avx512, packBF32Avx512};
  return k;
}

}  // namespace mp::cpu::gemm
