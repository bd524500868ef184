// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11), shared by
// the CPU and CUDA random kernels so both produce the same bits.
#pragma once
#include <cstdint>

#include "hostDevice.h"

namespace mp {

struct Philox4 {
  uint32_t v[4];
};

MP_HD Philox4 philox4x32(uint64_t counter, uint64_t key) {
  uint32_t c0 = uint32_t(counter), c1 = uint32_t(counter >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = uint32_t(key), k1 = uint32_t(key >> 32);
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = uint64_t(0xD2511F53u) * c0;
    const uint64_t p1 = uint64_t(0xCD9E8D57u) * c2;
    const uint32_t n0 = uint32_t(p1 >> 32) ^ c1 ^ k0;
    const uint32_t n2 = uint32_t(p0 >> 32) ^ c3 ^ k1;
    c1 = uint32_t(p1);
    c3 = uint32_t(p0);
    c0 = n0;
    c2 = n2;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return Philox4{{c0, c1, c2, c3}};
}

// A uniform in [0, 1) with `bits` random bits, so it is exact in a format with bits-1 mantissa
// bits and never rounds up to 1.
MP_HD double uniformFromWord(uint32_t w, int bits) { return double(w >> (32 - bits)) * (1.0 / double(1u << bits)); }

MP_HD double uniform53(uint32_t hi, uint32_t lo) {
  const uint64_t x = (uint64_t(hi) << 21) ^ (uint64_t(lo) >> 11);
  return double(x & ((uint64_t(1) << 53) - 1)) * (1.0 / 9007199254740992.0);
}

}  // namespace mp
