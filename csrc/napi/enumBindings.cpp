// native.enums: every code that crosses into JavaScript, as {name: code} objects built from the
// enums' X-macro lists, so lib/ reads its codes instead of mirroring them by hand.
#include "../core/dtype.h"
#include "../core/kernelArgs.h"
#include "../core/reduceMath.h"
#include "../cpu/peakProbe.h"
#include "bindings.h"

namespace mp::napi {
namespace {

// Frozen: a module that resolved its codes at load must not see them change later.
template <size_t N>
Napi::Object codeTable(Napi::Env env, const char* const (&names)[N]) {
  Napi::Object table = Napi::Object::New(env);
  for (size_t code = 0; code < N; ++code) table.Set(names[code], static_cast<int32_t>(code));
  table.Freeze();
  return table;
}

}  // namespace

void registerEnumBindings(Napi::Env env, Napi::Object exports) {
  Napi::Object dtypeSize = Napi::Object::New(env);
  for (int32_t code = 0; code < kNumDTypes; ++code) {
    dtypeSize.Set(kDTypeNames[code], static_cast<double>(kDTypeSizes[code]));
  }
  dtypeSize.Freeze();

  Napi::Object enums = Napi::Object::New(env);
  enums.Set("dtype", codeTable(env, kDTypeNames));
  enums.Set("dtypeSize", dtypeSize);
  enums.Set("binaryOp", codeTable(env, kBinaryOpNames));
  enums.Set("unaryOp", codeTable(env, kUnaryOpNames));
  enums.Set("compareOp", codeTable(env, kCompareOpNames));
  enums.Set("reduceKind", codeTable(env, kReduceKindNames));
  enums.Set("randomKind", codeTable(env, kRandomKindNames));
  enums.Set("peakKind", codeTable(env, cpu::kPeakKindNames));
  enums.Freeze();
  exports.Set("enums", enums);
}

}  // namespace mp::napi
