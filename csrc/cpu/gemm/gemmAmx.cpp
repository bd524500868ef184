// bfloat16 GEMM on AMX (Intel Sapphire Rapids and later): TDPBF16PS multiplies a 16 x 32 tile of
// A by a 32 x 16 tile of B (k-pair interleaved) into a 16 x 16 float32 tile in one instruction,
// 16x the float32 FMA rate of a core. The register tile is 32 x 32 (four C tiles, two A tiles,
// two B tiles: all eight tile registers). Products of two bf16 are exact in float32, so results
// differ from the reference only by summation order and by AMX flushing denormal inputs and
// outputs to zero (as VDPBF16PS does).
//
// Panels (gemmPackAmx.cpp; k padded with zeros to a multiple of 32, kp = kcPad / 2 pairs):
//   A: [32 rows][kcPad] bf16: a tile is 16 rows of 32 consecutive k, row stride kcPad;
//   B: [kp][32 columns][2] bf16: a tile is 16 pair rows of 16 columns, row stride 64 elements.
// The float16 kernel runs the same tiles on float16 values split exactly into bfloat16 pieces,
// four packed values per k (gemmPackAmx.cpp).
#include <immintrin.h>

#include "../simdTarget.h"
#include "gemm.h"
#include "gemmPack.h"
#include "gemmTileAvx512.h"

namespace mp::cpu::gemm {
namespace {

constexpr int kMr = 32, kNr = 32, kTileK = 32;

// The tile configuration (palette 1): every register 16 rows of 64 bytes. A thread loads it once;
// the OS keeps it across context switches.
struct alignas(64) TileConfig {
  uint8_t palette = 1, startRow = 0;
  uint8_t reserved[14] = {};
  uint16_t colBytes[16] = {64, 64, 64, 64, 64, 64, 64, 64};
  uint8_t rows[16] = {16, 16, 16, 16, 16, 16, 16, 16};
};

// C tiles 0..3 = [rows 0-15 | 16-31] x [columns 0-15 | 16-31]; A tiles 4, 5; B tiles 6, 7.
MP_TARGET_AMX void multiply(int64_t kcPad, const uint16_t* a, const uint16_t* b) {
  const int64_t aStride = kcPad * 2;
  for (int64_t kb = 0; kb < kcPad / kTileK; ++kb) {
    // Each product is issued as soon as its two tiles are loaded, so the first waits on two
    // loads, not four.
    _tile_loadd(4, a + kb * kTileK, aStride);
    _tile_loadd(6, b + kb * 16 * 2 * kNr, 2 * kNr * 2);
    _tile_dpbf16ps(0, 4, 6);
    _tile_loadd(7, b + kb * 16 * 2 * kNr + 32, 2 * kNr * 2);
    _tile_dpbf16ps(1, 4, 7);
    _tile_loadd(5, a + 16 * kcPad + kb * kTileK, aStride);
    _tile_dpbf16ps(2, 5, 6);
    _tile_dpbf16ps(3, 5, 7);
  }
}

template <Packing P>
MP_TARGET_AMX void kernel(int64_t kc, const void* av, const void* bv, const TileOut& t, int mr, int nr) {
  configureAmxTiles();
  // The tile stores otherwise wait on C's lines (a cold C costs more than the k loop of a short k).
  prefetchTile(t, mr);
  const int64_t kcPad = packedDepth(P, kc);
  const auto* a = static_cast<const uint16_t*>(av);
  const auto* b = static_cast<const uint16_t*>(bv);
  // The tiles start from C's partial sums (or zero) and add the products in k order, whatever
  // the path: a full float32 tile goes straight between C and the tile registers, anything else
  // (a partial tile, a 16-bit output) through a buffer and the AVX-512 tile store, with the same
  // sums (a tile's result never depends on its neighbours or on the output type).
  const bool full = mr == kMr && nr == kNr;
  alignas(64) float buffer[kMr][kNr];
  const int64_t ldc = t.ldc * int64_t(sizeof(float)), ldb = kNr * int64_t(sizeof(float));
  if (t.accumulate && full) {
    _tile_loadd(0, t.c, ldc);
    _tile_loadd(1, t.c + 16, ldc);
    _tile_loadd(2, t.c + 16 * t.ldc, ldc);
    _tile_loadd(3, t.c + 16 * t.ldc + 16, ldc);
  } else if (t.accumulate) {
    for (int r = 0; r < kMr; ++r) {
      for (int j = 0; j < kNr; ++j) buffer[r][j] = r < mr && j < nr ? t.c[r * t.ldc + j] : 0.0f;
    }
    _tile_loadd(0, &buffer[0][0], ldb);
    _tile_loadd(1, &buffer[0][16], ldb);
    _tile_loadd(2, &buffer[16][0], ldb);
    _tile_loadd(3, &buffer[16][16], ldb);
  } else {
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
  }
  multiply(kcPad, a, b);
  if (!t.out && full) {
    _tile_stored(0, t.c, ldc);
    _tile_stored(1, t.c + 16, ldc);
    _tile_stored(2, t.c + 16 * t.ldc, ldc);
    _tile_stored(3, t.c + 16 * t.ldc + 16, ldc);
    return;
  }
  _tile_stored(0, &buffer[0][0], ldb);
  _tile_stored(1, &buffer[0][16], ldb);
  _tile_stored(2, &buffer[16][0], ldb);
  _tile_stored(3, &buffer[16][16], ldb);
  __m512 acc[kMr][2];
  for (int r = 0; r < kMr; ++r) {
    acc[r][0] = _mm512_load_ps(&buffer[r][0]);
    acc[r][1] = _mm512_load_ps(&buffer[r][16]);
  }
  TileOut done = t;
  done.accumulate = false;  // C's partial sums are in the tiles already
  storeTile<kMr>(acc, done, mr, nr);
}

}  // namespace

MP_TARGET_AMX void configureAmxTiles() {
  thread_local bool configured = false;
  if (configured) return;
  static const TileConfig config;
  _tile_loadconfig(&config);
  configured = true;
}

const Kernel& bf16AmxKernel() {
  // At tile speed the C traffic decides, not L1 reuse: every k slice reads and writes all of C
  // (float32) once, so kc = 2048 (one slice for most products) beats a kc whose A and B
  // micro-panels fit L1 (kc = 512: 2048^3 1.21-1.26x, [256, 1024] x [1024, 1024] 1.29-1.35x,
  // [4096, 1024] x [1024, 128] 1.28-1.30x in interleaved runs; kc = 256 was slower still). The
  // panels then stream from L2 (128 KB each), and mc = 256 keeps a block of A at 1 MB of the 2 MB
  // L2 (mc = 512: 2048^3 0.82x).
  static const Kernel k{"bf16-amx-32x32", kMr, kNr, 2048, 256, 2048, Packing::AmxBf16, kernel<Packing::AmxBf16>,
                        packAAmxBf16, packBAmxBf16, true};
  return k;
}

const Kernel& f16AmxKernel() {
  // kc = 512 values of k: 2048 packed values, the bfloat16 kernel's panel sizes (kc = 128 made 16
  // passes over C at 2048^3: 512 is 1.15-1.38x faster on the bench's shapes).
  static const Kernel k{"f16-amx-split-32x32", kMr, kNr, 512, 256, 2048, Packing::AmxF16Split,
                        kernel<Packing::AmxF16Split>, packAAmxF16Split, packBAmxF16Split, true};
  return k;
}

}  // namespace mp::cpu::gemm
