#include "castKernels.h"

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

void floatToHalfPortable(const float* s, uint16_t* d, int64_t n) {
  for (int64_t i = 0; i < n; ++i) d[i] = floatToHalfBits(s[i]);
}
void halfToFloatPortable(const uint16_t* s, float* d, int64_t n) {
  for (int64_t i = 0; i < n; ++i) d[i] = halfBitsToFloat(s[i]);
}
void floatToBf16Portable(const float* s, uint16_t* d, int64_t n) {
  for (int64_t i = 0; i < n; ++i) d[i] = floatToBf16Bits(s[i]);
}
void bf16ToFloatPortable(const uint16_t* s, float* d, int64_t n) {
  for (int64_t i = 0; i < n; ++i) d[i] = bf16BitsToFloat(s[i]);
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

template <class S>
void castFrom(const void* src, void* dst, DType dstType, int64_t n) {
  MP_DISPATCH_DTYPE(dstType, castLoop<S, Tag>(src, dst, n));
}


}  // namespace

void castReference(const void* src, DType srcType, void* dst, DType dstType, int64_t n) {
  MP_DISPATCH_DTYPE(srcType, castFrom<Tag>(src, dst, dstType, n));
}

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
