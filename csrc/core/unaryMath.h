// The arithmetic of the unary ops, shared by the CPU and CUDA kernels. Floats compute in their
// op-math type (float32 for the 16-bit types, double for float64); integers in 64 bits.
#pragma once
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "hostDevice.h"
#include "kernelArgs.h"

namespace mp {

// float and double spellings of the libm functions, usable from host and device code.
template <class T>
struct Math;
template <>
struct Math<float> {
  MP_HD static float exp(float x) { return ::expf(x); }
  MP_HD static float log(float x) { return ::logf(x); }
  MP_HD static float log1p(float x) { return ::log1pf(x); }
  MP_HD static float expm1(float x) { return ::expm1f(x); }
  MP_HD static float sqrt(float x) { return ::sqrtf(x); }
  MP_HD static float sin(float x) { return ::sinf(x); }
  MP_HD static float cos(float x) { return ::cosf(x); }
  MP_HD static float tanh(float x) { return ::tanhf(x); }
  MP_HD static float erf(float x) { return ::erff(x); }
  MP_HD static float pow(float x, float y) { return ::powf(x, y); }
  MP_HD static float fabs(float x) { return ::fabsf(x); }
};
template <>
struct Math<double> {
  MP_HD static double exp(double x) { return ::exp(x); }
  MP_HD static double log(double x) { return ::log(x); }
  MP_HD static double log1p(double x) { return ::log1p(x); }
  MP_HD static double expm1(double x) { return ::expm1(x); }
  MP_HD static double sqrt(double x) { return ::sqrt(x); }
  MP_HD static double sin(double x) { return ::sin(x); }
  MP_HD static double cos(double x) { return ::cos(x); }
  MP_HD static double tanh(double x) { return ::tanh(x); }
  MP_HD static double erf(double x) { return ::erf(x); }
  MP_HD static double pow(double x, double y) { return ::pow(x, y); }
  MP_HD static double fabs(double x) { return ::fabs(x); }
};

// Integer-valid ops: neg, abs, relu, clamp, sign. The rest need a floating type (TypeScript promotes).
MP_HD bool unaryOpAcceptsIntegers(UnaryOp op) {
  return op == UnaryOp::Neg || op == UnaryOp::Abs || op == UnaryOp::Relu || op == UnaryOp::Clamp ||
         op == UnaryOp::Sign;
}

// PyTorch's clamp, min(max(x, lo), hi): the upper bound wins when lo > hi, so the result is hi
// everywhere then. NaN passes (both comparisons are false).
template <class T>
MP_HD T clampUnary(T x, T lo, T hi) {
  const T atLeastLo = x < lo ? lo : x;
  return atLeastLo > hi ? hi : atLeastLo;
}

// p0 / p1: leakyRelu slope; elu alpha; softplus beta / threshold; clamp min / max; pow exponent.
template <class T>
MP_HD T applyUnary(UnaryOp op, T x, T p0, T p1) {
  if constexpr (std::is_integral_v<T>) {
    switch (op) {
      case UnaryOp::Neg: return -x;
      case UnaryOp::Abs: return x < 0 ? -x : x;
      case UnaryOp::Relu: return x > 0 ? x : 0;
      case UnaryOp::Clamp: return clampUnary(x, p0, p1);
      case UnaryOp::Sign: return x > 0 ? 1 : x < 0 ? -1 : 0;
      default: return x;
    }
  } else {
    using M = Math<T>;
    switch (op) {
      case UnaryOp::Neg: return -x;
      case UnaryOp::Abs: return M::fabs(x);
      case UnaryOp::Exp: return M::exp(x);
      case UnaryOp::Log: return M::log(x);
      case UnaryOp::Log1p: return M::log1p(x);
      case UnaryOp::Expm1: return M::expm1(x);
      case UnaryOp::Sqrt: return M::sqrt(x);
      case UnaryOp::Rsqrt: return T(1) / M::sqrt(x);
      case UnaryOp::Reciprocal: return T(1) / x;
      case UnaryOp::Sin: return M::sin(x);
      case UnaryOp::Cos: return M::cos(x);
      case UnaryOp::Tanh: return M::tanh(x);
      case UnaryOp::Sigmoid: return T(1) / (T(1) + M::exp(-x));
      // NaN must pass through relu and clamp (x > 0 is false for NaN, so test the other way).
      case UnaryOp::Relu: return x <= 0 ? T(0) : x;
      case UnaryOp::LeakyRelu: return x < 0 ? x * p0 : x;
      case UnaryOp::Elu: return x <= 0 ? p0 * M::expm1(x) : x;
      case UnaryOp::Gelu: return T(0.5) * x * (T(1) + M::erf(x * T(0.70710678118654752440)));
      case UnaryOp::GeluTanh: {
        const T inner = T(0.79788456080286535588) * (x + T(0.044715) * x * x * x);
        return T(0.5) * x * (T(1) + M::tanh(inner));
      }
      case UnaryOp::Silu: return x / (T(1) + M::exp(-x));
      // PyTorch: x for beta * x > threshold, else log(1 + exp(beta * x)) / beta.
      case UnaryOp::Softplus: return x * p0 > p1 ? x : M::log1p(M::exp(x * p0)) / p0;
      case UnaryOp::Clamp: return clampUnary(x, p0, p1);
      case UnaryOp::PowScalar: return M::pow(x, p0);
      case UnaryOp::Erf: return M::erf(x);
      // Zeros and NaN fall through unchanged (so -0 stays -0 and NaN stays NaN).
      case UnaryOp::Sign: return x > 0 ? T(1) : x < 0 ? T(-1) : x;
    }
    return x;
  }
}

}  // namespace mp
