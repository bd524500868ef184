// Element types. The numeric codes are shared with lib/dtype.ts; keep them in sync.
#pragma once
#include <cstddef>
#include <cstdint>

namespace mp {

enum class DType : int32_t { Float32 = 0, Float16 = 1, BFloat16 = 2, Float64 = 3, Int32 = 4, Bool = 5 };
constexpr int kNumDTypes = 6;

inline bool isValidDType(int32_t code) { return code >= 0 && code < kNumDTypes; }

inline size_t elementSize(DType t) {
  switch (t) {
    case DType::Float32: return 4;
    case DType::Float16: return 2;
    case DType::BFloat16: return 2;
    case DType::Float64: return 8;
    case DType::Int32: return 4;
    case DType::Bool: return 1;
  }
  return 0;
}

inline const char* dtypeName(DType t) {
  switch (t) {
    case DType::Float32: return "float32";
    case DType::Float16: return "float16";
    case DType::BFloat16: return "bfloat16";
    case DType::Float64: return "float64";
    case DType::Int32: return "int32";
    case DType::Bool: return "bool";
  }
  return "unknown";
}

}  // namespace mp
