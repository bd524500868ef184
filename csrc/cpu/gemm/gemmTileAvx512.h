// The C-tile side of the AVX-512 microkernels (float32 FMA and VDPBF16PS share it): prefetch the
// tile before the k loop, then add to / store it with masks that clip partial tiles, rounding to
// 16 bits on a 16-bit product's last k slice. Declared
// with the features both kernels have, so it inlines into either.
#pragma once
#include <immintrin.h>

#include <cstdint>

#include "../simdIoAvx512.h"
#include "gemm.h"

#define MP_TILE_TARGET MP_TARGET_AVX512 __attribute__((always_inline)) inline

namespace mp::cpu::gemm {

// Fetch the rows the epilogue will read and write now so it does not wait on memory (C of a large
// product lives in L3 or DRAM; the k loop hides the latency).
MP_TILE_TARGET void prefetchTile(const TileOut& t, int mr) {
  for (int r = 0; r < mr; ++r) {
    if (!t.out || t.accumulate) {
      _mm_prefetch(reinterpret_cast<const char*>(t.c + r * t.ldc), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(t.c + r * t.ldc + 31), _MM_HINT_T0);
    }
    if (t.out) {
      _mm_prefetch(reinterpret_cast<const char*>(t.out + r * t.ldo), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(t.out + r * t.ldo + 31), _MM_HINT_T0);
    }
  }
}

// Writes the mr x nr corner of a Mr x 32 accumulator tile as `t` says: float32 into c (added to
// c with `accumulate`), or on a 16-bit product's last k slice rounded into t.out. Masked loads
// and stores clip partial tiles (masked-off lanes never fault).
template <int Mr, class Io>
MP_TILE_TARGET void storeRows(__m512 (&acc)[Mr][2], const TileOut& t, int mr, __mmask16 m0, __mmask16 m1,
                              typename Io::S* dst, int64_t ld) {
#pragma GCC unroll 12
  for (int r = 0; r < Mr; ++r) {
    if (r >= mr) break;
    __m512 lo = acc[r][0], hi = acc[r][1];
    if (t.accumulate) {
      const float* row = t.c + r * t.ldc;
      lo = _mm512_add_ps(lo, _mm512_maskz_loadu_ps(m0, row));
      hi = _mm512_add_ps(hi, _mm512_maskz_loadu_ps(m1, row + 16));
    }
    Io::store(dst + r * ld, lo, m0);
    Io::store(dst + r * ld + 16, hi, m1);
  }
}

template <int Mr>
MP_TILE_TARGET void storeTile(__m512 (&acc)[Mr][2], const TileOut& t, int mr, int nr) {
  const __mmask16 m0 = nr >= 16 ? 0xffff : __mmask16((1u << nr) - 1);
  const __mmask16 m1 = nr >= 32 ? 0xffff : nr <= 16 ? 0 : __mmask16((1u << (nr - 16)) - 1);
  if (!t.out) {
    storeRows<Mr, simd::F32Io>(acc, t, mr, m0, m1, t.c, t.ldc);
  } else if (t.outBf16) {
    storeRows<Mr, simd::Bf16Io>(acc, t, mr, m0, m1, t.out, t.ldo);
  } else {
    storeRows<Mr, simd::F16Io>(acc, t, mr, m0, m1, t.out, t.ldo);
  }
}

}  // namespace mp::cpu::gemm
