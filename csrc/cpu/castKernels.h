// dtype conversion on the CPU beyond the backend's cast (cpuKernels.h).
#pragma once
#include <cstdint>
#include <type_traits>

#include "../core/dtype.h"
#include "../core/elementTypes.h"

namespace mp::cpu {

// The scalar reference: every element goes through double (exact for every source type) and is
// rounded once to the destination. Single-threaded; the tests compare cast's fast paths against it.
void castReference(const void* src, DType srcType, void* dst, DType dstType, int64_t n);

// float16/bfloat16 <-> float32 over a contiguous range with the active SIMD level's kernels, on
// the calling thread (for kernels that stage 16-bit data in float32); bit-identical to
// castReference.
void widenToFloat(DType srcType, const uint16_t* src, float* dst, int64_t n);
void narrowFromFloat(const float* src, DType dstType, uint16_t* dst, int64_t n);
// dst = src rounded to `via` (float16 or bfloat16) and widened back: the float32 values of
// cast(cast(src, via), float32), at the active SIMD level. dst may be src.
void roundThrough(DType via, const float* src, float* dst, int64_t n);
// The same as a function for the active SIMD level, picked once by a caller with many short runs.
using RoundFn = void (*)(const float* src, float* dst, int64_t n);
RoundFn roundThroughKernel(DType via);

// Whether Tag's values reach the C math through those kernels (float16 and bfloat16 into float32).
template <class Tag, class C = typename Tag::Compute>
constexpr bool kWidensToFloat = std::is_same_v<C, float> && std::is_same_v<typename Tag::Storage, uint16_t>;

// n stored values of a row as C, and C values rounded back into storage: the SIMD kernels above
// for 16-bit data, Tag::load / Tag::store otherwise (the same values either way).
template <class Tag, class C = typename Tag::Compute>
void loadRow(const typename Tag::Storage* src, C* dst, int64_t n) {
  if constexpr (kWidensToFloat<Tag, C>) widenToFloat(Tag::kDType, src, dst, n);
  else for (int64_t i = 0; i < n; ++i) dst[i] = C(Tag::load(src[i]));
}

template <class Tag, class C = typename Tag::Compute>
void storeRow(const C* src, typename Tag::Storage* dst, int64_t n) {
  if constexpr (kWidensToFloat<Tag, C>) narrowFromFloat(src, Tag::kDType, dst, n);
  else for (int64_t i = 0; i < n; ++i) dst[i] = Tag::store(src[i]);
}

}  // namespace mp::cpu
