// The C-tile side of the AVX-512 microkernels (float32 FMA and VDPBF16PS share it): prefetch the
// tile before the k loop, then add to / store it with masks that clip partial tiles. Declared
// with the features both kernels have, so it inlines into either.
#pragma once
#include <immintrin.h>

#include <cstdint>

#define MP_TILE_TARGET __attribute__((target("avx512f,avx512bw,avx512vl"), always_inline)) inline

namespace mp::cpu::gemm {

// Fetch the C tile now so the epilogue does not wait on memory (C of a large product lives in L3
// or DRAM; the k loop hides the latency).
MP_TILE_TARGET void prefetchTile(const float* c, int64_t ldc, int mr) {
  for (int r = 0; r < mr; ++r) {
    _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc + 31), _MM_HINT_T0);
  }
}

// Writes (or adds, with `accumulate`) the mr x nr corner of a Mr x 32 accumulator tile. Masked
// loads and stores clip partial tiles (masked-off lanes never fault).
template <int Mr>
MP_TILE_TARGET void storeTile(__m512 (&acc)[Mr][2], float* c, int64_t ldc, int mr, int nr, bool accumulate) {
  const __mmask16 m0 = nr >= 16 ? 0xffff : __mmask16((1u << nr) - 1);
  const __mmask16 m1 = nr >= 32 ? 0xffff : nr <= 16 ? 0 : __mmask16((1u << (nr - 16)) - 1);
#pragma GCC unroll 12
  for (int r = 0; r < Mr; ++r) {
    if (r >= mr) break;
    float* row = c + r * ldc;
    __m512 lo = acc[r][0], hi = acc[r][1];
    if (accumulate) {
      lo = _mm512_add_ps(lo, _mm512_maskz_loadu_ps(m0, row));
      hi = _mm512_add_ps(hi, _mm512_maskz_loadu_ps(m1, row + 16));
    }
    _mm512_mask_storeu_ps(row, m0, lo);
    _mm512_mask_storeu_ps(row + 16, m1, hi);
  }
}

}  // namespace mp::cpu::gemm
