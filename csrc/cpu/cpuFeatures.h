// Which SIMD path the CPU kernels use, chosen at run time from cpuid (never from build flags).
#pragma once
#include "../core/enumTable.h"

namespace mp {

// Ordered: each level implies the ones below it. The names are MIXPREC_SIMD's and setSimdLevel's.
#define MP_SIMD_LEVELS(X) X(Scalar, "scalar") X(F16c, "f16c") X(Avx512, "avx512") X(Avx512Bf16, "avx512bf16") X(Amx, "amx")
MP_DEFINE_ENUM(SimdLevel, MP_SIMD_LEVELS)

const char* simdLevelName(SimdLevel level);

// The best level this CPU and OS support.
SimdLevel detectedSimdLevel();

// The level kernels use now: the detected one, lowered by MIXPREC_SIMD or setSimdLevel (tests
// use it to compare every path against the scalar reference).
SimdLevel activeSimdLevel();

// Lowers (or restores) the active level. Returns false when `level` exceeds what the CPU has.
bool setSimdLevel(SimdLevel level);

}  // namespace mp
