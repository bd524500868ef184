// The arithmetic of GradScaler's kernels, shared by the CPU and CUDA: the non-finite check with
// unscaling (PyTorch's _amp_foreach_non_finite_check_and_unscale_) and the loss-scale update
// (_amp_update_scale_, plus optional hysteresis and bounds). Values are in the compute type
// (float32 for 16-bit gradients), rounded once on store.
#pragma once
#include <cstdint>

#include "hostDevice.h"

namespace mp {

struct ScaleUpdateOptions {
  double growthFactor, backoffFactor;
  int32_t growthInterval;
  // Consecutive overflowing steps tolerated before backing off (1: back off at once, PyTorch's).
  int32_t hysteresis;
  // Bounds of the scale (0 and +inf: none).
  double minScale, maxScale;
};

// The int32 counters a scaler keeps on its device, updated by every scale update.
enum ScalerStat { kStatSteps = 0, kStatSkipped, kStatGrowths, kStatBackoffs, kStatFloorHits, kStatLast, kStatCount };
// Bits of stats[kStatLast], what the latest update did.
enum ScalerEvent { kEventSkip = 1, kEventBackoff = 2, kEventGrowth = 4, kEventFloor = 8 };

// 1 / scale computed in float64 and rounded to float32, as PyTorch's GradScaler.
MP_HD float inverseScale(float scale) { return float(1.0 / double(scale)); }

// Finite without <cmath>'s host/device split: inf - inf and NaN - NaN are NaN.
template <class M>
MP_HD bool isFiniteValue(M v) {
  return v - v == M(0);
}

// The smallest normal float32 (FLT_MIN, 2^-126): the scale's hard floor. Below it the scale is
// subnormal or zero and 1/scale rounds to inf, which turns every unscaled gradient into inf/NaN.
constexpr double kMinNormalScale = 1.1754943508222875e-38;

// A scale the kernels may divide by: a finite, normal, positive float32 whose inverse is finite.
MP_HD bool usableScale(float scale) {
  return double(scale) >= kMinNormalScale && isFiniteValue(scale) && isFiniteValue(inverseScale(scale));
}

// One scale update. foundInf: the sum of the step's found-inf flags (non-zero: an overflow).
// Growth happens only when the clean-step count reaches growthInterval exactly, never to a
// non-finite scale, and the count restarts even when growth is refused (PyTorch's rule).
MP_HD void updateScale(float* scale, int32_t* tracker, int32_t* hysteresisLeft, float foundInf, int32_t* stats,
                              const ScaleUpdateOptions& o) {
  int32_t events = 0;
  stats[kStatSteps] += 1;
  if (foundInf != 0) {
    events |= kEventSkip;
    stats[kStatSkipped] += 1;
    *tracker = 0;
    if (*hysteresisLeft > 1) {
      *hysteresisLeft -= 1;
    } else {
      // The floor is minScale, never below the smallest normal float32 (a caller passing 0 still
      // gets a usable scale); `!(next >= floor)` also catches a NaN product.
      const double floor = o.minScale > kMinNormalScale ? o.minScale : kMinNormalScale;
      float next = float(double(*scale) * o.backoffFactor);
      if (!(double(next) >= floor)) {
        next = float(floor);
        events |= kEventFloor;
        stats[kStatFloorHits] += 1;
      }
      if (next != *scale) {
        events |= kEventBackoff;
        stats[kStatBackoffs] += 1;
      }
      *scale = next;
      *hysteresisLeft = o.hysteresis;
    }
  } else {
    *hysteresisLeft = o.hysteresis;
    const int32_t successful = *tracker + 1;
    if (successful == o.growthInterval) {
      float candidate = float(double(*scale) * o.growthFactor);
      if (double(candidate) > o.maxScale) candidate = float(o.maxScale);
      if (isFiniteValue(candidate) && candidate != *scale) {
        *scale = candidate;
        events |= kEventGrowth;
        stats[kStatGrowths] += 1;
      }
      *tracker = 0;
    } else {
      *tracker = successful;
    }
  }
  stats[kStatLast] = events;
}

}  // namespace mp
