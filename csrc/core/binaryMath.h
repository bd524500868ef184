// The arithmetic of the elementwise ops, shared by the CPU and CUDA kernels.
#pragma once
#include <cstdint>
#include <type_traits>

#include "hostDevice.h"
#include "kernelArgs.h"

namespace mp {

// Integers compute in 64 bits so overflow wraps (as PyTorch's does) instead of being undefined.
template <class Tag>
using OpMath = std::conditional_t<std::is_integral_v<typename Tag::Compute>, int64_t, typename Tag::Compute>;

template <BinaryOp Op, class T>
MP_HD T applyBinary(T x, T y) {
  if constexpr (Op == BinaryOp::Add) return x + y;
  if constexpr (Op == BinaryOp::Sub) return x - y;
  if constexpr (Op == BinaryOp::Mul) return x * y;
  if constexpr (Op == BinaryOp::Div) return x / y;
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
MP_HD typename Tag::Storage negStored(typename Tag::Storage x) {
  using M = OpMath<Tag>;
  return Tag::store(typename Tag::Compute(-M(Tag::load(x))));
}

}  // namespace mp
