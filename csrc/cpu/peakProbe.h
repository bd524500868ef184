// Measures this core's arithmetic ceiling, so benchmarks can report GEMM speed as % of peak.
#pragma once
#include <cstdint>

#include "../core/enumTable.h"

namespace mp::cpu {

// zmm FMA, zmm VDPBF16PS, ymm FMA, AMX TDPBF16PS.
#define MP_PEAK_KINDS(X) X(Fma512, "fma512") X(Dpbf16, "dpbf16") X(Fma256, "fma256") X(AmxBf16, "amxbf16")
MP_DEFINE_ENUM(PeakKind, MP_PEAK_KINDS)

// GFLOP/s of `iterations` rounds of 24 independent register-only FMAs (zmm or ymm) or VDPBF16PS,
// or of four independent TDPBF16PS on tile registers, on the calling thread; 0 when the CPU lacks
// the instructions.
double peakProbe(PeakKind kind, int64_t iterations);

}  // namespace mp::cpu
