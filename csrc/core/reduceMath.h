// One output of the non-sum reductions and of softmax, over a column of `size` values spaced
// `stride` apart. Shared by the CPU (a loop over outputs) and CUDA (a thread per output); all
// arithmetic in double, rounded once into the result dtype by the caller.
#pragma once
#include <cmath>
#include <cstdint>

#include <type_traits>

#include "elementTypes.h"
#include "hostDevice.h"
#include "kernelArgs.h"

namespace mp {

#define MP_REDUCE_KINDS(X)                                                                            \
  X(Prod, "prod") X(Max, "max") X(Min, "min") X(ArgMax, "argmax") X(ArgMin, "argmin") X(LogSumExp, "logsumexp") \
  X(Var, "var") X(Std, "std")
MP_DEFINE_ENUM(ReduceKind, MP_REDUCE_KINDS)

// An integer sum (accumulated in 64 bits) as an int32 result wraps modulo 2^32, as int32 add does
// and as PyTorch's int32 arithmetic does (mixprec has no int64 to widen into); float results take
// the exact total rounded once, and mean divides it.
template <class Out, class Acc>
MP_HD typename Out::Storage sumResult(Acc total, bool mean, int64_t size) {
  if constexpr (std::is_integral_v<Acc> && std::is_same_v<Out, I32Tag>) {
    if (!mean) return int32_t(uint32_t(uint64_t(total)));
  }
  const double v = double(total);
  return Out::fromDouble(mean ? v / double(size) : v);
}

// p0: the correction (degrees of freedom removed) of Var / Std.
template <class Tag>
MP_HD double reduceColumn(ReduceKind kind, const typename Tag::Storage* x, int64_t size, int64_t stride, double p0) {
  auto at = [&](int64_t r) { return double(Tag::load(x[r * stride])); };
  switch (kind) {
    case ReduceKind::Prod: {
      if constexpr (std::is_integral_v<typename Tag::Compute>) {
        // Integer products wrap modulo 2^32 like sums (the double is exact: an int32 value).
        uint32_t w = 1;
        for (int64_t r = 0; r < size; ++r) w *= uint32_t(Tag::load(x[r * stride]));
        return double(int32_t(w));
      }
      double p = 1;
      for (int64_t r = 0; r < size; ++r) p *= at(r);
      return p;
    }
    case ReduceKind::Max:
    case ReduceKind::Min:
    case ReduceKind::ArgMax:
    case ReduceKind::ArgMin: {
      // NaN wins (PyTorch's max/argmax propagate it); the first extreme index is kept.
      const bool wantMax = kind == ReduceKind::Max || kind == ReduceKind::ArgMax;
      double best = at(0);
      int64_t index = 0;
      for (int64_t r = 1; r < size && best == best; ++r) {
        const double v = at(r);
        if (v != v || (wantMax ? v > best : v < best)) {
          best = v;
          index = r;
        }
      }
      return kind == ReduceKind::Max || kind == ReduceKind::Min ? best : double(index);
    }
    case ReduceKind::LogSumExp: {
      double m = -INFINITY;
      for (int64_t r = 0; r < size; ++r) m = at(r) > m || at(r) != at(r) ? at(r) : m;
      if (m != m || m == INFINITY || m == -INFINITY) return m;
      double s = 0;
      for (int64_t r = 0; r < size; ++r) s += ::exp(at(r) - m);
      return m + ::log(s);
    }
    case ReduceKind::Var:
    case ReduceKind::Std: {
      double mean = 0;
      for (int64_t r = 0; r < size; ++r) mean += at(r);
      mean /= double(size);
      double ss = 0;
      for (int64_t r = 0; r < size; ++r) ss += (at(r) - mean) * (at(r) - mean);
      const double v = ss / (double(size) - p0);
      return kind == ReduceKind::Var ? v : ::sqrt(v);
    }
  }
  return 0;
}

// softmax (or logSoftmax) of one column, written to y with the same stride.
template <class Tag>
MP_HD void softmaxColumn(const typename Tag::Storage* x, typename Tag::Storage* y, int64_t size, int64_t stride, bool log) {
  auto at = [&](int64_t r) { return double(Tag::load(x[r * stride])); };
  double m = -INFINITY;
  for (int64_t r = 0; r < size; ++r) m = at(r) > m || at(r) != at(r) ? at(r) : m;
  double s = 0;
  for (int64_t r = 0; r < size; ++r) s += ::exp(at(r) - m);
  const double logS = ::log(s);
  for (int64_t r = 0; r < size; ++r) {
    const double v = log ? at(r) - m - logS : ::exp(at(r) - m) / s;
    y[r * stride] = Tag::fromDouble(v);
  }
}

}  // namespace mp
