// Which SIMD path the CPU kernels use, chosen at run time from cpuid (never from build flags).
#pragma once

namespace mp {

// Ordered: each level implies the ones below it.
enum class SimdLevel : int { Scalar = 0, F16c = 1, Avx512 = 2, Avx512Bf16 = 3 };

const char* simdLevelName(SimdLevel level);

// The best level this CPU and OS support.
SimdLevel detectedSimdLevel();

// The level kernels use now: the detected one, lowered by MIXPREC_SIMD or setSimdLevel (tests
// use it to compare every path against the scalar reference).
SimdLevel activeSimdLevel();

// Lowers (or restores) the active level. Returns false when `level` exceeds what the CPU has.
bool setSimdLevel(SimdLevel level);

}  // namespace mp
