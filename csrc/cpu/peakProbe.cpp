// A tight loop of independent multiply-adds with register operands only: no loads, no
// dependencies beyond each accumulator's own chain (24 chains cover latency x pipes for both
// FMA, 4 x 2, and VDPBF16PS, 6 x 2). What it reaches is the ceiling a GEMM kernel can approach.
#include "peakProbe.h"

#include <immintrin.h>

#include <chrono>

#include "cpuFeatures.h"
#include "gemm/gemm.h"
#include "simdTarget.h"

namespace mp::cpu {
namespace {

constexpr int kChains = 24;

// Values stay small and normal (no denormal slow paths): 1 + 1e-7 per step.
MP_TARGET_AVX512_FMA __attribute__((noinline)) float fma512(int64_t iterations) {
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(float(i));
  const __m512 x = _mm512_set1_ps(1.0f), y = _mm512_set1_ps(1e-7f);
  for (int64_t it = 0; it < iterations; ++it) {
#pragma GCC unroll 24
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_fmadd_ps(acc[i], x, y);
  }
  __m512 s = acc[0];
  for (int i = 1; i < kChains; ++i) s = _mm512_add_ps(s, acc[i]);
  alignas(64) float v[16];
  _mm512_store_ps(v, s);
  return v[0] + v[15];
}

MP_TARGET_AVX2_FMA __attribute__((noinline)) float fma256(int64_t iterations) {
  // 12 chains: ymm has 16 registers; 12 still covers 4 cycles x 2 pipes.
  __m256 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_ps(float(i));
  const __m256 x = _mm256_set1_ps(1.0f), y = _mm256_set1_ps(1e-7f);
  for (int64_t it = 0; it < iterations; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_fmadd_ps(acc[i], x, y);
  }
  __m256 s = acc[0];
  for (int i = 1; i < 12; ++i) s = _mm256_add_ps(s, acc[i]);
  alignas(32) float v[8];
  _mm256_store_ps(v, s);
  return v[0] + v[7];
}

MP_TARGET_AVX512BF16 __attribute__((noinline)) float dpbf16(int64_t iterations) {
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(float(i));
  // bf16 0x3400 = 2^-23 * ... small positive values: products ~1e-7, sums stay normal.
  const __m512bh x = (__m512bh)_mm512_set1_epi16(0x3400), y = (__m512bh)_mm512_set1_epi16(0x3f80);
  for (int64_t it = 0; it < iterations; ++it) {
#pragma GCC unroll 24
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_dpbf16_ps(acc[i], x, y);
  }
  __m512 s = acc[0];
  for (int i = 1; i < kChains; ++i) s = _mm512_add_ps(s, acc[i]);
  alignas(64) float v[16];
  _mm512_store_ps(v, s);
  return v[0] + v[15];
}

// Four accumulators, two A and two B tiles, as in the AMX GEMM's inner loop without its loads.
MP_TARGET_AMX __attribute__((noinline)) float amxBf16(int64_t iterations) {
  gemm::configureAmxTiles();
  alignas(64) static const uint16_t ones[16 * 32] = {};
  _tile_loadd(4, ones, 64);
  _tile_loadd(5, ones, 64);
  _tile_loadd(6, ones, 64);
  _tile_loadd(7, ones, 64);
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  for (int64_t it = 0; it < iterations; ++it) {
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    _tile_dpbf16ps(2, 5, 6);
    _tile_dpbf16ps(3, 5, 7);
  }
  alignas(64) float c[16 * 16];
  _tile_stored(0, c, 64);
  return c[0];
}

volatile float sink;

}  // namespace

double peakProbe(PeakKind kind, int64_t iterations) {
  const SimdLevel level = detectedSimdLevel();
  double flopsPerIteration = 0;
  float (*loop)(int64_t) = nullptr;
  switch (kind) {
    case PeakKind::Fma512:
      if (level >= SimdLevel::Avx512) loop = fma512, flopsPerIteration = kChains * 16 * 2;
      break;
    case PeakKind::Dpbf16:
      if (level >= SimdLevel::Avx512Bf16) loop = dpbf16, flopsPerIteration = kChains * 32 * 2;
      break;
    case PeakKind::Fma256:
      if (level >= SimdLevel::F16c) loop = fma256, flopsPerIteration = 12 * 8 * 2;
      break;
    case PeakKind::AmxBf16:
      // Fewer rounds: one is 64x a zmm round's work.
      if (level >= SimdLevel::Amx) loop = amxBf16, flopsPerIteration = 4 * 16 * 16 * 32 * 2, iterations /= 8;
      break;
  }
  if (!loop || iterations <= 0) return 0;
  const auto t0 = std::chrono::steady_clock::now();
  sink = loop(iterations);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return flopsPerIteration * double(iterations) / seconds / 1e9;
}

}  // namespace mp::cpu
