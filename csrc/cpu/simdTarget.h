// The target attributes of the SIMD kernel files, each feature set written once. A function
// carrying one compiles for those instructions whatever the build flags; it is called only after
// activeSimdLevel() (cpuid) reports a level that has them: F16C and AVX2+FMA at SimdLevel::F16c,
// the AVX-512 sets at Avx512 (which implies FMA), BF16 at Avx512Bf16, AMX tiles at Amx.
#pragma once

// GCC 12's AVX-512 headers build results from _mm*_undefined_*() values, which trips
// -Wmaybe-uninitialized (and, once inlined into long unpack sequences, -Wuninitialized) inside the
// intrinsics themselves (not in mixprec's code).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#define MP_ISA_AVX512 "avx512f,avx512bw,avx512vl"

#define MP_TARGET_AVX2_FMA __attribute__((target("avx2,fma")))
#define MP_TARGET_F16C __attribute__((target("avx2,fma,f16c")))
#define MP_TARGET_AVX512 __attribute__((target(MP_ISA_AVX512)))
#define MP_TARGET_AVX512_FMA __attribute__((target(MP_ISA_AVX512 ",fma")))
#define MP_TARGET_AVX512BF16 __attribute__((target(MP_ISA_AVX512 ",avx512bf16")))
#define MP_TARGET_AMX __attribute__((target(MP_ISA_AVX512 ",avx512bf16,amx-tile,amx-bf16")))
