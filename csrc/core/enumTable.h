// Enums whose codes cross into JavaScript are written once, as an X-macro list of
// X(Enumerator, "jsName"[, extra...]) in declaration (= code) order; MP_DEFINE_ENUM turns such a
// list into the enum, its count, its validity check and its name table, and the addon exports the
// name table as the codes lib/ reads (csrc/napi/enumBindings.cpp), so nothing is mirrored by hand.
#pragma once
#include <cstdint>

#define MP_ENUM_ENUMERATOR(Name, ...) Name,
// The name is the first of the variadic arguments; the trailing 0 keeps __VA_ARGS__ of the inner
// macro non-empty for two-argument entries (an empty one is not standard C++17).
#define MP_ENUM_FIRST_(first, ...) first
#define MP_ENUM_NAME(Name, ...) MP_ENUM_FIRST_(__VA_ARGS__, 0),

// The count is not an enumerator, so switches over the enum stay exhaustive under -Wswitch.
#define MP_DEFINE_ENUM(Enum, LIST)                                                        \
  enum class Enum : int32_t { LIST(MP_ENUM_ENUMERATOR) };                                 \
  inline constexpr const char* k##Enum##Names[] = {LIST(MP_ENUM_NAME)};                  \
  inline constexpr int32_t kNum##Enum##s = int32_t(sizeof(k##Enum##Names) / sizeof(k##Enum##Names[0])); \
  inline bool isValid##Enum(int32_t v) { return v >= 0 && v < kNum##Enum##s; }
