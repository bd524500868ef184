#include "castKernels.h"
#include "cpuKernels.h"

#include <algorithm>
#include <cstring>

#include "../core/elementTypes.h"
#include "../core/threadPool.h"
#include "castSimd.h"
#include "cpuFeatures.h"

namespace mp::cpu {
namespace {

constexpr int64_t kCastGrain = 1 << 16;

template <class S, class D>
void castLoop(const void* src, void* dst, int64_t n) {
  const auto* s = static_cast<const typename S::Storage*>(src);
  auto* d = static_cast<typename D::Storage*>(dst);
  for (int64_t i = 0; i < n; ++i) d[i] = D::fromDouble(S::toDouble(s[i]));
}

// Portable loops (no SIMD: other CPUs, ARM). Branch-light bit tricks that give the same bits as
// the generic conversions of floatBits.h; the tests compare them with castReference.
inline uint16_t floatToHalfFast(float f) {
  const uint32_t x = floatToBits(f);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t a = x & 0x7fffffffu;
  if (a >= 0x7f800000u) return uint16_t(sign | (a > 0x7f800000u ? 0x7e00u | ((a >> 13) & 0x3ffu) : 0x7c00u));
  if (a >= 0x477ff000u) return uint16_t(sign | 0x7c00u);  // rounds to infinity
  if (a >= 0x38800000u) return uint16_t(sign | ((a - 0x38000000u + 0xfffu + ((a >> 13) & 1u)) >> 13));
  // Subnormal result: adding 0.5 makes the float unit in the last place 2^-24, the half's
  // subnormal step, so the FPU's own round-to-nearest-even lands on the answer.
  const float t = bitsToFloat(a) + 0.5f;
  return uint16_t(sign | (floatToBits(t) - 0x3f000000u));
}

inline uint16_t floatToBf16Fast(float f) {
  const uint32_t x = floatToBits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return uint16_t((x >> 16) | 0x40u);
  return uint16_t((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

inline float halfToFloatFast(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  const uint32_t e = (h >> 10) & 0x1fu;
  const uint32_t m = h & 0x3ffu;
  if (e == 0x1f) return bitsToFloat(sign | 0x7f800000u | (m << 13) | (m ? 0x400000u : 0u));
  if (e == 0) return bitsToFloat(sign | floatToBits(float(m) * 5.9604644775390625e-8f));  // m * 2^-24, exact
  return bitsToFloat(sign | ((e + 112) << 23) | (m << 13));
}

inline float bf16ToFloatFast(uint16_t h) {
  const uint32_t x = uint32_t(h) << 16;
  return bitsToFloat((x & 0x7fffffffu) > 0x7f800000u ? x | 0x400000u : x);
}

void floatToHalfPortable(const float* s, uint16_t* d, int64_t n) {
  for (int64_t i = 0; i < n; ++i) d[i] = floatToHalfFast(s[i]);
}
void halfToFloatPortable(const uint16_t* s, float* d, int64_t n) {
  for (int64_t i = 0; i < n; ++i) d[i] = halfToFloatFast(s[i]);
}
void floatToBf16Portable(const float* s, uint16_t* d, int64_t n) {
  for (int64_t i = 0; i < n; ++i) d[i] = floatToBf16Fast(s[i]);
}
void bf16ToFloatPortable(const uint16_t* s, float* d, int64_t n) {
  for (int64_t i = 0; i < n; ++i) d[i] = bf16ToFloatFast(s[i]);
}

using FromFloat = void (*)(const float*, uint16_t*, int64_t);
using ToFloat = void (*)(const uint16_t*, float*, int64_t);

FromFloat floatToHalfKernel(SimdLevel level) {
  if (level >= SimdLevel::Avx512) return simd::floatToHalfAvx512;
  if (level >= SimdLevel::F16c) return simd::floatToHalfF16c;
  return floatToHalfPortable;
}
ToFloat halfToFloatKernel(SimdLevel level) {
  if (level >= SimdLevel::Avx512) return simd::halfToFloatAvx512;
  if (level >= SimdLevel::F16c) return simd::halfToFloatF16c;
  return halfToFloatPortable;
}
FromFloat floatToBf16Kernel(SimdLevel level) {
  if (level >= SimdLevel::Avx512Bf16) return simd::floatToBf16Avx512Bf16;
  if (level >= SimdLevel::Avx512) return simd::floatToBf16Avx512;
  if (level >= SimdLevel::F16c) return simd::floatToBf16Avx2;
  return floatToBf16Portable;
}
ToFloat bf16ToFloatKernel(SimdLevel level) {
  if (level >= SimdLevel::Avx512) return simd::bf16ToFloatAvx512;
  if (level >= SimdLevel::F16c) return simd::bf16ToFloatAvx2;
  return bf16ToFloatPortable;
}

// bool -> any type: every element is one of the destination's two patterns for 0 and 1 (the
// reference's own conversions of 0 and 1), chosen per element; the loop vectorizes.
template <class T>
void castFromBool(const uint8_t* src, void* dstv, DType dstType, int64_t n) {
  const uint8_t zeroOne[2] = {0, 1};
  T patterns[2];
  castReference(&zeroOne[0], DType::Bool, &patterns[0], dstType, 1);
  castReference(&zeroOne[1], DType::Bool, &patterns[1], dstType, 1);
  auto* dst = static_cast<T*>(dstv);
  for (int64_t i = 0; i < n; ++i) dst[i] = src[i] ? patterns[1] : patterns[0];
}

template <class S>
void castFrom(const void* src, void* dst, DType dstType, int64_t n) {
  MP_DISPATCH_DTYPE(dstType, castLoop<S, Tag>(src, dst, n));
}


}  // namespace

void castReference(const void* src, DType srcType, void* dst, DType dstType, int64_t n) {
  MP_DISPATCH_DTYPE(srcType, castFrom<Tag>(src, dst, dstType, n));
}

void widenToFloat(DType srcType, const uint16_t* src, float* dst, int64_t n) {
  const SimdLevel level = activeSimdLevel();
  (srcType == DType::Float16 ? halfToFloatKernel(level) : bf16ToFloatKernel(level))(src, dst, n);
}

void narrowFromFloat(const float* src, DType dstType, uint16_t* dst, int64_t n) {
  const SimdLevel level = activeSimdLevel();
  (dstType == DType::Float16 ? floatToHalfKernel(level) : floatToBf16Kernel(level))(src, dst, n);
}

namespace {

// Below F16C: narrow and widen through a stack buffer with the level's cast kernels.
template <DType Via>
void roundThroughStaged(const float* src, float* dst, int64_t n) {
  constexpr int64_t kChunk = 256;  // 16-bit values staged on the stack, in L1
  uint16_t staged[kChunk];
  for (int64_t i = 0; i < n; i += kChunk) {
    const int64_t len = std::min(kChunk, n - i);
    narrowFromFloat(src + i, Via, staged, len);
    widenToFloat(Via, staged, dst + i, len);
  }
}

}  // namespace

RoundFn roundThroughKernel(DType via) {
  if (activeSimdLevel() >= SimdLevel::F16c) return via == DType::Float16 ? simd::roundThroughHalfF16c : simd::roundThroughBf16Avx2;
  return via == DType::Float16 ? roundThroughStaged<DType::Float16> : roundThroughStaged<DType::BFloat16>;
}

void roundThrough(DType via, const float* src, float* dst, int64_t n) { roundThroughKernel(via)(src, dst, n); }

// SIMD for float32 <-> float16/bfloat16 at the active level, threads for large arrays;
// bit-identical to castReference.
void cast(const void* src, DType srcType, void* dst, DType dstType, int64_t n) {
  const size_t srcElem = elementSize(srcType);
  const size_t dstElem = elementSize(dstType);
  if (srcType == dstType) {
    parallelFor(n, kCastGrain, [&](int64_t b, int64_t e) {
      memcpy(static_cast<char*>(dst) + b * int64_t(dstElem), static_cast<const char*>(src) + b * int64_t(srcElem),
             size_t(e - b) * srcElem);
    });
    return;
  }
  if (srcType == DType::Bool) {
    parallelFor(n, kCastGrain, [&](int64_t b, int64_t e) {
      const auto* s = static_cast<const uint8_t*>(src) + b;
      void* d = static_cast<char*>(dst) + b * int64_t(dstElem);
      switch (dstElem) {
        case 1: castFromBool<uint8_t>(s, d, dstType, e - b); break;
        case 2: castFromBool<uint16_t>(s, d, dstType, e - b); break;
        case 4: castFromBool<uint32_t>(s, d, dstType, e - b); break;
        default: castFromBool<uint64_t>(s, d, dstType, e - b); break;
      }
    });
    return;
  }
  const SimdLevel level = activeSimdLevel();
  FromFloat fromFloat = nullptr;
  ToFloat toFloat = nullptr;
  if (srcType == DType::Float32 && dstType == DType::Float16) fromFloat = floatToHalfKernel(level);
  if (srcType == DType::Float32 && dstType == DType::BFloat16) fromFloat = floatToBf16Kernel(level);
  if (srcType == DType::Float16 && dstType == DType::Float32) toFloat = halfToFloatKernel(level);
  if (srcType == DType::BFloat16 && dstType == DType::Float32) toFloat = bf16ToFloatKernel(level);
  const auto* s = static_cast<const char*>(src);
  auto* d = static_cast<char*>(dst);
  parallelFor(n, kCastGrain, [&](int64_t b, int64_t e) {
    const void* sp = s + b * int64_t(srcElem);
    void* dp = d + b * int64_t(dstElem);
    if (fromFloat) {
      fromFloat(static_cast<const float*>(sp), static_cast<uint16_t*>(dp), e - b);
    } else if (toFloat) {
      toFloat(static_cast<const uint16_t*>(sp), static_cast<float*>(dp), e - b);
    } else {
      castReference(sp, srcType, dp, dstType, e - b);
    }
  });
}

}  // namespace mp::cpu
