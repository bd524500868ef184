// The arithmetic of the multi-tensor optimizer and gradient-clipping kernels, shared by the CPU
// kernels, their scalar references and CUDA. Formulas follow torch.optim's (and its fused
// kernels'): values are in the compute type M (float32 for 16-bit tensors), rounded once on store.
#pragma once
#include <cmath>
#include <cstdint>
#include <vector>

#include "ampMath.h"
#include "elementTypes.h"
#include "hostDevice.h"

namespace mp {

// One multi-tensor call's operands: lists[k][i] is tensor i of list k; every list's tensor i
// holds numel[i] elements (the step counters, one float32 each, excepted). A list the options
// leave unused (momentum buffers without momentum) is empty.
struct TensorLists {
  std::vector<int64_t> numel;
  std::vector<std::vector<void*>> lists;
};

// The list positions of each kernel.
enum SgdList { kSgdParams = 0, kSgdGrads, kSgdSteps, kSgdMomentum, kSgdListCount };
enum AdamList { kAdamParams = 0, kAdamGrads, kAdamSteps, kAdamExpAvg, kAdamExpAvgSq, kAdamMaxExpAvgSq, kAdamListCount };

struct SgdOptions {
  double lr, momentum, dampening, weightDecay;
  bool nesterov, maximize;
};

struct AdamOptions {
  double lr, beta1, beta2, eps, weightDecay;
  bool decoupled;  // AdamW: weight decay applied to the parameter, not added to the gradient
  bool amsgrad, maximize;
};

// SGD of one element. `first`: the momentum buffer has never been written (its step counter is
// 0), so it starts as the gradient, as PyTorch's does. Negating the gradient first (maximize)
// matches torch.optim.SGD's implementation and its fused kernel.
template <class M>
MP_HD void sgdUpdate(M& param, M grad, M& buffer, bool first, const SgdOptions& o) {
  M g = o.maximize ? -grad : grad;
  if (o.weightDecay != 0) g += M(o.weightDecay) * param;
  if (o.momentum != 0) {
    buffer = first ? g : M(o.momentum) * buffer + M(1 - o.dampening) * g;
    g = o.nesterov ? g + M(o.momentum) * buffer : buffer;
  }
  param -= M(o.lr) * g;
}

// The per-tensor factors of Adam at step t (the step being taken, counted from 1).
template <class M>
struct AdamStepFactors {
  M stepSize;                     // lr / (1 - beta1^t)
  double biasCorrection2Inverse;  // 1 / sqrt(1 - beta2^t), that root first rounded to M
};

template <class M>
MP_HD AdamStepFactors<M> adamStepFactors(const AdamOptions& o, double t) {
  return AdamStepFactors<M>{M(o.lr / (1 - ::pow(o.beta1, t))), 1.0 / double(M(::sqrt(1 - ::pow(o.beta2, t))))};
}

// Adam / AdamW of one element, as torch's fused Adam kernel orders it.
template <class M>
MP_HD void adamUpdate(M& param, M grad, M& expAvg, M& expAvgSq, M& maxExpAvgSq, const AdamOptions& o,
                      const AdamStepFactors<M>& f) {
  M g = o.maximize ? -grad : grad;
  if (o.weightDecay != 0) {
    if (o.decoupled) {
      param -= M(o.lr * o.weightDecay) * param;
    } else {
      g += M(o.weightDecay) * param;
    }
  }
  expAvg = M(o.beta1) * expAvg + M(1 - o.beta1) * g;
  expAvgSq = M(o.beta2) * expAvgSq + M(1 - o.beta2) * g * g;
  M second = expAvgSq;
  if (o.amsgrad) {
    // NaN propagates into the running maximum, as torch.maximum does.
    maxExpAvgSq = maxExpAvgSq != maxExpAvgSq || maxExpAvgSq > expAvgSq ? maxExpAvgSq : expAvgSq;
    second = maxExpAvgSq;
  }
  // sqrt in double (the C library's, for float too) times the double reciprocal of the bias
  // correction, plus eps, rounded to M once: a multiply where a division took 16 cycles a vector
  // on the SIMD paths (the product is within about two units of the last double place of the
  // quotient, which moves a float result only within that distance of a float rounding boundary).
  const M denom = ::sqrt(second) * f.biasCorrection2Inverse + M(o.eps);
  param -= f.stepSize * expAvg / denom;
}

// Gradient norms: the accumulation of one value (|x|^p summed, or the maximum of |x| when p is
// infinite, NaN winning) in double, and the group's norm from the accumulated total.
MP_HD double normTerm(double x, double p) {
  const double a = ::fabs(x);
  if (p == 1) return a;
  if (p == 2) return a * a;
  return p == INFINITY ? a : ::pow(a, p);
}
MP_HD double normCombine(double acc, double term, double p) {
  if (p != INFINITY) return acc + term;
  if (acc != acc) return acc;
  return term != term || term > acc ? term : acc;
}
MP_HD double normFinish(double acc, double p) {
  if (p == INFINITY || p == 1) return acc;
  return p == 2 ? ::sqrt(acc) : ::pow(acc, 1 / p);
}

// clamp for clipGradValue: NaN stays NaN, as torch.clamp keeps it.
template <class M>
MP_HD M clampValue(M x, M lo, M hi) {
  // Raise to lo, then cap at hi (PyTorch's order: hi wins when lo > hi); NaN passes.
  const M atLeastLo = x < lo ? lo : x;
  return atLeastLo > hi ? hi : atLeastLo;
}

}  // namespace mp

