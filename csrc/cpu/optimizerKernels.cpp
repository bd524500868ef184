#include "optimizerKernels.h"
#include "cpuKernels.h"

#include <algorithm>
#include <type_traits>

#include "../core/elementTypes.h"
#include "cpuFeatures.h"
#include "multiTensor.h"
#include "optimizerSimd.h"

namespace mp::cpu {
namespace {

float* stepAt(const TensorLists& t, int list, size_t i) { return static_cast<float*>(t.lists[list][i]); }

// The vector loops the threaded (non-reference) path takes, or null.
template <class Tag>
const simd::MultiTensorLoops* vectorLoops(bool reference) {
  return !reference && std::is_same_v<typename Tag::Compute, float> ? simd::multiTensorLoops() : nullptr;
}

template <class Tag>
void sgdTyped(const TensorLists& t, float gradScale, const SgdOptions& o, bool reference) {
  using M = typename Tag::Compute;
  const bool momentum = o.momentum != 0;
  std::vector<char> first(t.numel.size(), 0);
  for (size_t i = 0; momentum && i < first.size(); ++i) first[i] = *stepAt(t, kSgdSteps, i) == 0;
  const simd::MultiTensorLoops* vector = vectorLoops<Tag>(reference);
  forEachElement(t.numel, reference, [&](size_t i, int64_t begin, int64_t end) {
    auto* p = at<Tag>(t, kSgdParams, i);
    const auto* g = at<Tag>(t, kSgdGrads, i);
    auto* buf = momentum ? at<Tag>(t, kSgdMomentum, i) : nullptr;
    if constexpr (std::is_same_v<M, float>) {
      if (vector && vector->sgd(Tag::kDType, p + begin, g + begin, buf ? buf + begin : nullptr, end - begin, gradScale,
                                first[i] != 0, o)) {
        return;
      }
    }
    for (int64_t k = begin; k < end; ++k) {
      M param = Tag::load(p[k]);
      M b = buf ? Tag::load(buf[k]) : M(0);
      sgdUpdate<M>(param, Tag::load(g[k]) / M(gradScale), b, first[i] != 0, o);
      p[k] = Tag::store(param);
      if (buf) buf[k] = Tag::store(b);
    }
  });
  for (size_t i = 0; momentum && i < first.size(); ++i) *stepAt(t, kSgdSteps, i) += 1;
}

template <class Tag>
void adamTyped(const TensorLists& t, float gradScale, const AdamOptions& o, bool reference) {
  using M = typename Tag::Compute;
  std::vector<AdamStepFactors<M>> factors(t.numel.size());
  for (size_t i = 0; i < factors.size(); ++i) factors[i] = adamStepFactors<M>(o, double(*stepAt(t, kAdamSteps, i)) + 1);
  const simd::MultiTensorLoops* vector = vectorLoops<Tag>(reference);
  forEachElement(t.numel, reference, [&](size_t i, int64_t begin, int64_t end) {
    auto* p = at<Tag>(t, kAdamParams, i);
    const auto* g = at<Tag>(t, kAdamGrads, i);
    auto* m = at<Tag>(t, kAdamExpAvg, i);
    auto* v = at<Tag>(t, kAdamExpAvgSq, i);
    auto* vmax = o.amsgrad ? at<Tag>(t, kAdamMaxExpAvgSq, i) : nullptr;
    if constexpr (std::is_same_v<M, float>) {
      if (vector && vector->adam(Tag::kDType, p + begin, g + begin, m + begin, v + begin, vmax ? vmax + begin : nullptr,
                                 end - begin, gradScale, o, factors[i])) {
        return;
      }
    }
    for (int64_t k = begin; k < end; ++k) {
      M param = Tag::load(p[k]), expAvg = Tag::load(m[k]), expAvgSq = Tag::load(v[k]);
      M maxSq = vmax ? Tag::load(vmax[k]) : M(0);
      adamUpdate<M>(param, Tag::load(g[k]) / M(gradScale), expAvg, expAvgSq, maxSq, o, factors[i]);
      p[k] = Tag::store(param);
      m[k] = Tag::store(expAvg);
      v[k] = Tag::store(expAvgSq);
      if (vmax) vmax[k] = Tag::store(maxSq);
    }
  });
  for (size_t i = 0; i < factors.size(); ++i) *stepAt(t, kAdamSteps, i) += 1;
}

template <class Tag>
double accumulateNorm(const TensorLists& t, size_t i, int64_t begin, int64_t end, double p, double acc) {
  const auto* x = at<Tag>(t, 0, i);
  for (int64_t k = begin; k < end; ++k) acc = normCombine(acc, normTerm(double(Tag::load(x[k])), p), p);
  return acc;
}

template <class Tag>
float normTyped(const TensorLists& t, double p, bool reference) {
  double total = 0;
  if (reference) {
    for (size_t i = 0; i < t.numel.size(); ++i) total = accumulateNorm<Tag>(t, i, 0, t.numel[i], p, total);
    return float(normFinish(total, p));
  }
  // Fixed blocks, combined in order: the result does not depend on the number of threads.
  const std::vector<int64_t> start = startsOf(t.numel);
  const int64_t blocks = (start.back() + kGrain - 1) / kGrain;
  std::vector<double> partial(size_t(blocks), 0.0);
  parallelFor(blocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      forRange(start, b * kGrain, std::min(start.back(), (b + 1) * kGrain), [&](size_t i, int64_t begin, int64_t end) {
        partial[size_t(b)] = accumulateNorm<Tag>(t, i, begin, end, p, partial[size_t(b)]);
      });
    }
  });
  for (double v : partial) total = normCombine(total, v, p);
  return float(normFinish(total, p));
}

template <class Tag>
void scaleTyped(const TensorLists& t, float scale, bool reference) {
  using M = typename Tag::Compute;
  forEachElement(t.numel, reference, [&](size_t i, int64_t begin, int64_t end) {
    auto* x = at<Tag>(t, 0, i);
    for (int64_t k = begin; k < end; ++k) x[k] = Tag::store(Tag::load(x[k]) * M(scale));
  });
}

template <class Tag>
void clampTyped(const TensorLists& t, double lo, double hi, bool reference) {
  using M = typename Tag::Compute;
  forEachElement(t.numel, reference, [&](size_t i, int64_t begin, int64_t end) {
    auto* x = at<Tag>(t, 0, i);
    for (int64_t k = begin; k < end; ++k) x[k] = Tag::store(clampValue<M>(Tag::load(x[k]), M(lo), M(hi)));
  });
}

void sgdRun(DType dtype, const TensorLists& t, const float* gradScale, const float* foundInf, const SgdOptions& o,
            bool reference) {
  if (skipped(foundInf, gradScale)) return;
  const float scale = gradScale ? *gradScale : 1.0f;
  MP_DISPATCH_FLOATING(dtype, sgdTyped<Tag>(t, scale, o, reference));
}

void adamRun(DType dtype, const TensorLists& t, const float* gradScale, const float* foundInf, const AdamOptions& o,
             bool reference) {
  if (skipped(foundInf, gradScale)) return;
  const float scale = gradScale ? *gradScale : 1.0f;
  MP_DISPATCH_FLOATING(dtype, adamTyped<Tag>(t, scale, o, reference));
}

}  // namespace

// Each kernel and its scalar reference share one implementation; `reference` picks the serial loop.
void sgdStep(DType dtype, const TensorLists& t, const float* gradScale, const float* foundInf, const SgdOptions& o) {
  sgdRun(dtype, t, gradScale, foundInf, o, false);
}
void sgdStepReference(DType dtype, const TensorLists& t, const float* gradScale, const float* foundInf,
                      const SgdOptions& o) {
  sgdRun(dtype, t, gradScale, foundInf, o, true);
}

void adamStep(DType dtype, const TensorLists& t, const float* gradScale, const float* foundInf, const AdamOptions& o) {
  adamRun(dtype, t, gradScale, foundInf, o, false);
}
void adamStepReference(DType dtype, const TensorLists& t, const float* gradScale, const float* foundInf,
                       const AdamOptions& o) {
  adamRun(dtype, t, gradScale, foundInf, o, true);
}

void multiTensorNorm(DType dtype, const TensorLists& t, double p, float* out) {
  MP_DISPATCH_FLOATING(dtype, *out = normTyped<Tag>(t, p, false));
}
void multiTensorNormReference(DType dtype, const TensorLists& t, double p, float* out) {
  MP_DISPATCH_FLOATING(dtype, *out = normTyped<Tag>(t, p, true));
}

void multiTensorScale(DType dtype, const TensorLists& t, const float* scale) {
  MP_DISPATCH_FLOATING(dtype, scaleTyped<Tag>(t, *scale, false));
}
void multiTensorScaleReference(DType dtype, const TensorLists& t, const float* scale) {
  MP_DISPATCH_FLOATING(dtype, scaleTyped<Tag>(t, *scale, true));
}

void multiTensorClamp(DType dtype, const TensorLists& t, double lo, double hi) {
  MP_DISPATCH_FLOATING(dtype, clampTyped<Tag>(t, lo, hi, false));
}
void multiTensorClampReference(DType dtype, const TensorLists& t, double lo, double hi) {
  MP_DISPATCH_FLOATING(dtype, clampTyped<Tag>(t, lo, hi, true));
}

}  // namespace mp::cpu

// The multi-tensor loops of the active SIMD level (optimizerSimd.h); ampKernels.cpp uses them too.
namespace mp::simd {

const MultiTensorLoops* multiTensorLoops() {
  static constexpr MultiTensorLoops kAvx512{adamRangeAvx512, sgdRangeAvx512, unscaleRangeAvx512};
  static constexpr MultiTensorLoops kAvx2{adamRangeAvx2, sgdRangeAvx2, unscaleRangeAvx2};
  const SimdLevel level = activeSimdLevel();
  if (level >= SimdLevel::Avx512) return &kAvx512;
  if (level >= SimdLevel::F16c) return &kAvx2;
  return nullptr;
}

}  // namespace mp::simd
