#include "ampKernels.h"
#include "cpuKernels.h"

#include <type_traits>

#include "../core/elementTypes.h"
#include "cpuFeatures.h"
#include "multiTensor.h"
#include "optimizerSimd.h"

namespace mp::cpu {
namespace {

// Threads may flag the same scalar at once; they all store 1.0f, so a relaxed atomic store is enough.
void flag(float* p) { __atomic_store_n(reinterpret_cast<uint32_t*>(p), 0x3f800000u, __ATOMIC_RELAXED); }

template <class Tag>
void unscaleTyped(const TensorLists& t, float inv, float* foundInf, float* flags, bool reference) {
  using M = typename Tag::Compute;
  const bool multiply = inv != 1.0f;
  const simd::MultiTensorLoops* vector = !reference && std::is_same_v<M, float> ? simd::multiTensorLoops() : nullptr;
  forEachElement(t.numel, reference, [&](size_t i, int64_t begin, int64_t end) {
    auto* x = at<Tag>(t, 0, i);
    bool bad = false;
    const bool done = vector && vector->unscale(Tag::kDType, x + begin, end - begin, inv, multiply, &bad);
    for (int64_t k = done ? end : begin; k < end; ++k) {
      const M v = Tag::load(x[k]);
      bad |= !isFiniteValue(v);
      if (multiply) x[k] = Tag::store(v * M(inv));
    }
    if (bad) {
      flag(foundInf);
      if (flags) flag(flags + i);
    }
  });
}

}  // namespace

void unscaleAndCheck(DType dtype, const TensorLists& t, const float* scale, float* foundInf, float* flags) {
  // A scale whose inverse is not finite would make every gradient inf/NaN: the step overflows.
  if (scale && !usableScale(*scale)) return flag(foundInf);
  const float inv = scale ? inverseScale(*scale) : 1.0f;
  MP_DISPATCH_FLOATING(dtype, unscaleTyped<Tag>(t, inv, foundInf, flags, false));
}

void unscaleAndCheckReference(DType dtype, const TensorLists& t, const float* scale, float* foundInf, float* flags) {
  if (scale && !usableScale(*scale)) return flag(foundInf);
  const float inv = scale ? inverseScale(*scale) : 1.0f;
  MP_DISPATCH_FLOATING(dtype, unscaleTyped<Tag>(t, inv, foundInf, flags, true));
}

void updateScale(float* scale, int32_t* tracker, int32_t* hysteresisLeft, const float* foundInf, int32_t* stats,
                 const ScaleUpdateOptions& o) {
  mp::updateScale(scale, tracker, hysteresisLeft, *foundInf, stats, o);
}

}  // namespace mp::cpu
