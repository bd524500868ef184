// The value of element i of a random fill, identical on every backend and thread layout.
#pragma once
#include <cmath>
#include <cstdint>

#include "dtype.h"
#include "kernelArgs.h"
#include "philox.h"

namespace mp {

// Random bits per uniform, so the value is exact in the target type and stays below 1.
MP_HD int uniformBits(DType dtype) {
  return dtype == DType::Float16 ? 11 : dtype == DType::BFloat16 ? 8 : 24;
}

MP_HD double randomValue(RandomKind kind, DType dtype, const RandomState& state, int64_t i, double a, double b) {
  const Philox4 r = philox4x32(state.offset + uint64_t(i), state.seed);
  if (kind == RandomKind::Integer) {
    const uint64_t x = (uint64_t(r.v[0]) << 32) | r.v[1];
    const uint64_t range = uint64_t(b - a);
#if defined(__CUDA_ARCH__)
    const uint64_t pick = __umul64hi(x, range);
#else
    const uint64_t pick = uint64_t((unsigned __int128)x * range >> 64);
#endif
    return a + double(pick);
  }
  if (dtype == DType::Float64) {
    const double u = uniform53(r.v[0], r.v[1]);
    if (kind == RandomKind::Uniform) return a + (b - a) * u;
    const double u1 = 1.0 - u;  // (0, 1]: log is finite
    const double u2 = uniform53(r.v[2], r.v[3]);
    return a + b * sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
  }
  if (kind == RandomKind::Uniform) return a + (b - a) * uniformFromWord(r.v[0], uniformBits(dtype));
  const float u1 = 1.0f - float(uniformFromWord(r.v[0], 24));
  const float u2 = float(uniformFromWord(r.v[1], 24));
  return a + b * double(sqrtf(-2.0f * logf(u1)) * cosf(6.2831853f * u2));
}

}  // namespace mp
