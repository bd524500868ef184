// The test surface (`_test`) beyond the *Reference twins the kernel bindings register: the peak
// probe the benchmarks divide by. The library never calls these.
#include "../cpu/peakProbe.h"
#include "args.h"
#include "bindings.h"
#include "guarded.h"

namespace mp::napi {
namespace {

// peakProbe(kind, iterations): GFLOP/s of a register-only multiply-add loop on this thread
// (kind 0 = zmm FMA, 1 = zmm VDPBF16PS, 2 = ymm FMA); 0 when the CPU lacks the instructions.
Napi::Value peakProbe(const Napi::CallbackInfo& cb) {
  Args args(cb, "peakProbe", 2);
  const auto kind = cpu::PeakKind(args.enumValue(0, "kind", cpu::isValidPeakKind));
  return Napi::Number::New(cb.Env(), cpu::peakProbe(kind, args.count(1, "iterations")));
}

}  // namespace

void registerTestBindings(Napi::Env env, Napi::Object test) {
  exportFunction<peakProbe>(env, test, "peakProbe");
}

}  // namespace mp::napi
