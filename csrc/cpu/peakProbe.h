// Measures this core's arithmetic ceiling, so benchmarks can report GEMM speed as % of peak.
#pragma once
#include <cstdint>

namespace mp::cpu {

enum class PeakKind : int32_t { Fma512 = 0, Dpbf16 = 1, Fma256 = 2 };
inline bool isValidPeakKind(int32_t v) { return v >= 0 && v <= 2; }

// GFLOP/s of `iterations` rounds of 24 independent register-only FMAs (zmm or ymm) or VDPBF16PS
// on the calling thread; 0 when the CPU lacks the instructions.
double peakProbe(PeakKind kind, int64_t iterations);

}  // namespace mp::cpu
