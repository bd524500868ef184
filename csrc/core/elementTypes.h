// Per-dtype traits for kernels: the stored type, the type arithmetic runs in (float32 for the
// 16-bit types), and exact conversions to and from double used by the cast reference.
#pragma once
#include <cstdint>

#include "dtype.h"
#include "errors.h"
#include "floatBits.h"
#include "hostDevice.h"

namespace mp {

struct F32Tag {
  using Storage = float;
  using Compute = float;
  static constexpr DType kDType = DType::Float32;
  MP_HD static Compute load(Storage v) { return v; }
  MP_HD static Storage store(Compute v) { return v; }
  MP_HD static double toDouble(Storage v) { return floatToDouble(v); }
  MP_HD static Storage fromDouble(double d) { return doubleToFloat(d); }
};
struct F16Tag {
  using Storage = uint16_t;
  using Compute = float;
  static constexpr DType kDType = DType::Float16;
  MP_HD static Compute load(Storage v) { return halfBitsToFloat(v); }
  MP_HD static Storage store(Compute v) { return floatToHalfBits(v); }
  MP_HD static double toDouble(Storage v) { return halfBitsToDouble(v); }
  MP_HD static Storage fromDouble(double d) { return doubleToHalfBits(d); }
};
struct BF16Tag {
  using Storage = uint16_t;
  using Compute = float;
  static constexpr DType kDType = DType::BFloat16;
  MP_HD static Compute load(Storage v) { return bf16BitsToFloat(v); }
  MP_HD static Storage store(Compute v) { return floatToBf16Bits(v); }
  MP_HD static double toDouble(Storage v) { return bf16BitsToDouble(v); }
  MP_HD static Storage fromDouble(double d) { return doubleToBf16Bits(d); }
};
struct F64Tag {
  using Storage = double;
  using Compute = double;
  static constexpr DType kDType = DType::Float64;
  MP_HD static Compute load(Storage v) { return v; }
  MP_HD static Storage store(Compute v) { return v; }
  MP_HD static double toDouble(Storage v) { return v; }
  MP_HD static Storage fromDouble(double d) { return d; }
};
struct I32Tag {
  using Storage = int32_t;
  using Compute = int32_t;
  static constexpr DType kDType = DType::Int32;
  MP_HD static Compute load(Storage v) { return v; }
  MP_HD static Storage store(Compute v) { return v; }
  MP_HD static double toDouble(Storage v) { return double(v); }
  MP_HD static Storage fromDouble(double d) { return doubleToInt32(d); }
};
struct BoolTag {
  using Storage = uint8_t;
  using Compute = int32_t;
  static constexpr DType kDType = DType::Bool;
  MP_HD static Compute load(Storage v) { return v ? 1 : 0; }
  MP_HD static Storage store(Compute v) { return v ? 1 : 0; }
  MP_HD static double toDouble(Storage v) { return v ? 1.0 : 0.0; }
  MP_HD static Storage fromDouble(double d) { return d != 0.0 ? 1 : 0; }  // NaN != 0: true
};

}  // namespace mp

// Runs the body (the variadic part, so it may hold commas) with `Tag` bound to DTYPE's traits.
#define MP_DISPATCH_DTYPE(DTYPE, ...)                 \
  switch (DTYPE) {                                     \
    case ::mp::DType::Float32: { using Tag = ::mp::F32Tag; __VA_ARGS__; break; }  \
    case ::mp::DType::Float16: { using Tag = ::mp::F16Tag; __VA_ARGS__; break; }  \
    case ::mp::DType::BFloat16: { using Tag = ::mp::BF16Tag; __VA_ARGS__; break; } \
    case ::mp::DType::Float64: { using Tag = ::mp::F64Tag; __VA_ARGS__; break; }  \
    case ::mp::DType::Int32: { using Tag = ::mp::I32Tag; __VA_ARGS__; break; }    \
    case ::mp::DType::Bool: { using Tag = ::mp::BoolTag; __VA_ARGS__; break; }    \
  }

// Like MP_DISPATCH_DTYPE for the floating dtypes only: the kernels that take nothing else
// (optimizers, AMP unscale, the fused ops), whose bindings refuse the other dtypes first.
#define MP_DISPATCH_FLOATING(DTYPE, ...)                                              \
  switch (DTYPE) {                                                                  \
    case ::mp::DType::Float32: { using Tag = ::mp::F32Tag; __VA_ARGS__; break; }     \
    case ::mp::DType::Float16: { using Tag = ::mp::F16Tag; __VA_ARGS__; break; }     \
    case ::mp::DType::BFloat16: { using Tag = ::mp::BF16Tag; __VA_ARGS__; break; }   \
    case ::mp::DType::Float64: { using Tag = ::mp::F64Tag; __VA_ARGS__; break; }     \
    default: break;                                                                 \
  }

// Runs the statements after DTYPE with `Bits` bound to an unsigned type of the dtype's element
// width: for kernels that move values without looking at them (copies, where, gather).
#define MP_DISPATCH_WIDTH(DTYPE, ...)                                  \
  switch (::mp::elementSize(DTYPE)) {                                  \
    case 1: { using Bits = uint8_t; __VA_ARGS__; break; }              \
    case 2: { using Bits = uint16_t; __VA_ARGS__; break; }             \
    case 4: { using Bits = uint32_t; __VA_ARGS__; break; }             \
    default: { using Bits = unsigned long long; __VA_ARGS__; break; }  \
  }
