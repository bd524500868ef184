// Element types. lib/dtype.ts reads the codes and sizes from the addon (native.enums).
#pragma once
#include <cstddef>
#include <cstdint>

#include "enumTable.h"

namespace mp {

// X(enumerator, name, bytes per element); the order is the code.
#define MP_DTYPES(X)                                                                       \
  X(Float32, "float32", 4) X(Float16, "float16", 2) X(BFloat16, "bfloat16", 2) X(Float64, "float64", 8) \
  X(Int32, "int32", 4) X(Bool, "bool", 1)
MP_DEFINE_ENUM(DType, MP_DTYPES)

#define MP_DTYPE_SIZE(Name, name, bytes) bytes,
inline constexpr size_t kDTypeSizes[] = {MP_DTYPES(MP_DTYPE_SIZE)};
#undef MP_DTYPE_SIZE

inline size_t elementSize(DType t) { return kDTypeSizes[int32_t(t)]; }
inline const char* dtypeName(DType t) { return kDTypeNames[int32_t(t)]; }

}  // namespace mp
