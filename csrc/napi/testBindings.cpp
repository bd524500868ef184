// The test surface (`_test`): the CPU scalar references and the peak probe, which the tests and
// benchmarks compare the fast paths against and the library never calls. The references that
// share a binding's argument reading (matmul, the multi-tensor calls) are registered there.
#include "../cpu/castKernels.h"
#include "../cpu/peakProbe.h"
#include "args.h"
#include "bindings.h"
#include "guarded.h"

namespace mp::napi {
namespace {

// castReference(src, srcOffset, srcDtype, dst, dstOffset, dstDtype, n): cast's scalar reference.
Napi::Value castReference(const Napi::CallbackInfo& cb) {
  Args args(cb, "castReference", 7);
  const int64_t n = args.count(6, "n");
  const View src = args.view(0, "src", n, args.dtype(2, "srcDtype"));
  const View dst = args.view(3, "dst", n, args.dtype(5, "dstDtype"));
  requireCpu("castReference", src);
  requireCpu("castReference", dst);
  cpu::castReference(src.data(), src.dtype, dst.data(), dst.dtype, n);
  return cb.Env().Undefined();
}

// peakProbe(kind, iterations): GFLOP/s of a register-only multiply-add loop on this thread
// (kind 0 = zmm FMA, 1 = zmm VDPBF16PS, 2 = ymm FMA); 0 when the CPU lacks the instructions.
Napi::Value peakProbe(const Napi::CallbackInfo& cb) {
  Args args(cb, "peakProbe", 2);
  const auto kind = cpu::PeakKind(args.enumValue(0, "kind", cpu::isValidPeakKind));
  return Napi::Number::New(cb.Env(), cpu::peakProbe(kind, args.count(1, "iterations")));
}

}  // namespace

void registerTestBindings(Napi::Env env, Napi::Object test) {
  exportFunction<castReference>(env, test, "castReference");
  exportFunction<peakProbe>(env, test, "peakProbe");
}

}  // namespace mp::napi
