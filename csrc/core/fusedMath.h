// The arithmetic of the fused ops (LayerNorm / RMSNorm, bias + GELU, cross-entropy over class
// indices), shared by the CPU kernels' scalar path, the CUDA kernels and the tests' reference.
// Rows are contiguous: x is [rows, cols]. Values load to the op-math type C (float32 for the
// 16-bit types and float32, double for float64), statistics are kept in C, and every 16-bit
// output is rounded once on store. The scalar row functions accumulate in double, so they are
// the accurate reference the vector paths are compared with.
#pragma once
#include <cstdint>

#include "hostDevice.h"
#include "unaryMath.h"

namespace mp {

// gelu (erf form, or PyTorch's tanh form) as the unary kernel computes it.
template <class T>
MP_HD T geluValue(T x, bool tanhForm) {
  return applyUnary<T>(tanhForm ? UnaryOp::GeluTanh : UnaryOp::Gelu, x, T(0), T(0));
}
// d/dx of gelu: Φ(x) + x φ(x) exactly, or the derivative of PyTorch's tanh form.
template <class T>
MP_HD T geluDerivative(T x, bool tanhForm) {
  using M = Math<T>;
  if (tanhForm) {
    const T k = T(0.79788456080286535588);
    const T t = M::tanh(k * (x + T(0.044715) * x * x * x));
    return T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * k * (T(1) + T(3 * 0.044715) * x * x);
  }
  const T cdf = T(0.5) * (T(1) + M::erf(x * T(0.70710678118654752440)));
  return cdf + x * M::exp(T(-0.5) * x * x) * T(0.39894228040143267794);
}

// One row of LayerNorm (rms = false) or RMSNorm (rms = true; no centering): y = (x - mean) * rstd
// * weight + bias, weight and bias optional and of type C. Writes the row's mean (0 for RMSNorm)
// and rstd = 1 / sqrt(var + eps) for backward.
template <class Tag, class C = typename Tag::Compute>
MP_HD void normRowForward(const typename Tag::Storage* x, const C* weight, const C* bias, typename Tag::Storage* y,
                          int64_t cols, C eps, bool rms, C* meanOut, C* rstdOut) {
  double mean = 0;
  if (!rms) {
    for (int64_t i = 0; i < cols; ++i) mean += double(Tag::load(x[i]));
    mean /= double(cols);
  }
  double squares = 0;
  for (int64_t i = 0; i < cols; ++i) {
    const double d = double(Tag::load(x[i])) - mean;
    squares += d * d;
  }
  const C m = C(mean);
  const C rstd = C(1) / Math<C>::sqrt(C(squares / double(cols)) + eps);
  for (int64_t i = 0; i < cols; ++i) {
    C v = (Tag::load(x[i]) - m) * rstd;
    if (weight) v = v * weight[i];
    if (bias) v = v + bias[i];
    y[i] = Tag::store(v);
  }
  *meanOut = m;
  *rstdOut = rstd;
}

// Backward of one row: dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * weight and
// xhat = (x - mean) * rstd (RMSNorm drops the mean(g) term); adds dy * xhat to dweight and dy to
// dbias when they are given.
template <class Tag, class C = typename Tag::Compute>
MP_HD void normRowBackward(const typename Tag::Storage* dy, const typename Tag::Storage* x, const C* weight, C mean,
                           C rstd, typename Tag::Storage* dx, C* dweight, C* dbias, int64_t cols, bool rms) {
  double sumG = 0, sumGX = 0;
  for (int64_t i = 0; i < cols; ++i) {
    const C xhat = (Tag::load(x[i]) - mean) * rstd;
    const C d = Tag::load(dy[i]);
    const C g = weight ? d * weight[i] : d;
    sumG += double(g);
    sumGX += double(g) * double(xhat);
    if (dweight) dweight[i] += d * xhat;
    if (dbias) dbias[i] += d;
  }
  const C meanG = rms ? C(0) : C(sumG / double(cols));
  const C meanGX = C(sumGX / double(cols));
  for (int64_t i = 0; i < cols; ++i) {
    const C xhat = (Tag::load(x[i]) - mean) * rstd;
    const C d = Tag::load(dy[i]);
    const C g = weight ? d * weight[i] : d;
    dx[i] = Tag::store(rstd * (g - meanG - xhat * meanGX));
  }
}

// Cross-entropy of one row of logits against class `target`, with label smoothing s:
// (1 - s) * (lse - x[target]) + s * (lse - mean(x)), lse = log(sum(exp(x))). Writes lse.
template <class Tag, class C = typename Tag::Compute>
MP_HD C crossEntropyRowForward(const typename Tag::Storage* x, int64_t cols, int32_t target, C smoothing, C* lseOut) {
  C maxValue = Tag::load(x[0]);
  double sum = 0;
  for (int64_t i = 0; i < cols; ++i) {
    const C v = Tag::load(x[i]);
    maxValue = v > maxValue || v != v ? v : maxValue;
    sum += double(v);
  }
  double sumExp = 0;
  for (int64_t i = 0; i < cols; ++i) sumExp += double(Math<C>::exp(Tag::load(x[i]) - maxValue));
  const C lse = maxValue + C(Math<double>::log(sumExp));
  *lseOut = lse;
  const C nll = lse - Tag::load(x[target]);
  return smoothing == C(0) ? nll : (C(1) - smoothing) * nll + smoothing * (lse - C(sum / double(cols)));
}

// dlogits of one row: scale * (softmax(x) - (1 - s) * onehot(target) - s / cols).
template <class Tag, class C = typename Tag::Compute>
MP_HD void crossEntropyRowBackward(const typename Tag::Storage* x, int64_t cols, int32_t target, C lse, C scale,
                                   C smoothing, typename Tag::Storage* dx) {
  const C uniform = smoothing / C(cols);
  for (int64_t i = 0; i < cols; ++i) {
    C p = Math<C>::exp(Tag::load(x[i]) - lse) - uniform;
    if (i == target) p = p - (C(1) - smoothing);
    dx[i] = Tag::store(scale * p);
  }
}

}  // namespace mp
