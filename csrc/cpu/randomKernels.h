// Random fills on the CPU from the counter-based Philox generator.
#pragma once
#include <cstdint>

#include "../core/dtype.h"
#include "../core/kernelArgs.h"

namespace mp::cpu {

// Uniform: [a, b). Normal: mean a, std b. Integer: [a, b) with b - a <= 2^32.
void random(RandomKind kind, DType dtype, void* out, int64_t n, const RandomState& state, double a, double b);

}  // namespace mp::cpu
