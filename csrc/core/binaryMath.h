// The arithmetic of the elementwise ops, shared by the CPU and CUDA kernels.
#pragma once
#include <cstdint>
#include <type_traits>

#include "hostDevice.h"
#include "kernelArgs.h"
#include "unaryMath.h"

namespace mp {

// Integers compute in 64 bits so overflow wraps (as PyTorch's does) instead of being undefined.
template <class Tag>
using OpMath = std::conditional_t<std::is_integral_v<typename Tag::Compute>, int64_t, typename Tag::Compute>;

// x^y for integers, by squaring; a negative power truncates toward zero like 1 / x^-y.
MP_HD int64_t integerPow(int64_t x, int64_t y) {
  if (y < 0) return x == 1 ? 1 : x == -1 ? ((y & 1) ? -1 : 1) : 0;
  uint64_t base = uint64_t(x);  // unsigned: overflow wraps instead of being undefined
  uint64_t r = 1;
  for (; y > 0; y >>= 1) {
    if (y & 1) r *= base;
    base *= base;
  }
  return int64_t(r);
}

template <BinaryOp Op, class T>
MP_HD T applyBinary(T x, T y) {
  if constexpr (Op == BinaryOp::Add) return x + y;
  if constexpr (Op == BinaryOp::Sub) return x - y;
  if constexpr (Op == BinaryOp::Mul) return x * y;
  if constexpr (Op == BinaryOp::Div) return x / y;
  if constexpr (Op == BinaryOp::Pow) {
    if constexpr (std::is_integral_v<T>) return integerPow(x, y);
    else return Math<T>::pow(x, y);
  }
  // maximum / minimum propagate NaN from either side, as PyTorch's do.
  if constexpr (Op == BinaryOp::Maximum) return (x != x || x > y) ? x : y;
  if constexpr (Op == BinaryOp::Minimum) return (x != x || x < y) ? x : y;
  // relu's gradient x through its output y, as PyTorch's threshold_backward: y <= 0 gives 0 (not
  // x * 0, so an infinite gradient where relu was off stays out), a NaN y lets x through.
  if constexpr (Op == BinaryOp::ReluGrad) return y <= T(0) ? T(0) : x;
}

// Loads both operands, computes in the op-math type, rounds once on store.
template <class Tag, BinaryOp Op>
MP_HD typename Tag::Storage binaryStored(typename Tag::Storage x, typename Tag::Storage y) {
  using M = OpMath<Tag>;
  return Tag::store(typename Tag::Compute(applyBinary<Op, M>(M(Tag::load(x)), M(Tag::load(y)))));
}

template <class Tag, BinaryOp Op>
MP_HD typename Tag::Storage binaryScalarStored(typename Tag::Storage x, OpMath<Tag> s, bool scalarFirst) {
  using M = OpMath<Tag>;
  const M v = M(Tag::load(x));
  return Tag::store(typename Tag::Compute(scalarFirst ? applyBinary<Op, M>(s, v) : applyBinary<Op, M>(v, s)));
}

template <class Tag>
MP_HD typename Tag::Storage unaryStored(UnaryOp op, typename Tag::Storage x, OpMath<Tag> p0, OpMath<Tag> p1) {
  using M = OpMath<Tag>;
  return Tag::store(typename Tag::Compute(applyUnary<M>(op, M(Tag::load(x)), p0, p1)));
}

template <CompareOp Op, class T>
MP_HD bool applyCompare(T x, T y) {
  if constexpr (Op == CompareOp::Eq) return x == y;
  if constexpr (Op == CompareOp::Ne) return x != y;
  if constexpr (Op == CompareOp::Lt) return x < y;
  if constexpr (Op == CompareOp::Le) return x <= y;
  if constexpr (Op == CompareOp::Gt) return x > y;
  if constexpr (Op == CompareOp::Ge) return x >= y;
}

}  // namespace mp
