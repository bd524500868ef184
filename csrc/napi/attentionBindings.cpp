// The fused attention's entry points: read and check the argument object, pick the backend, run.
// lib/ops/attention.ts decides everything else (shapes, masks, dropout's counters, autograd).
#include <cmath>
#include <string>
#include <vector>

#include "../core/errors.h"
#include "args.h"
#include "bindings.h"
#include "guarded.h"

namespace mp::napi {
namespace {

// shape: {batch, heads, L, S, E, Ev, scale, causal, maskKind, maskStrides: [outer, head, row, col],
// dropoutP, seed, offset} (seed and offset BigInts).
AttentionShape readAttentionShape(const Fields& f, const char* name) {
  const Fields g = f["shape"].object();
  AttentionShape s;
  s.batch = g["batch"].count();
  s.heads = g["heads"].count();
  s.L = g["L"].count();
  s.S = g["S"].count();
  s.E = g["E"].count();
  s.Ev = g["Ev"].count();
  if (s.heads < 1 || s.batch % s.heads != 0) g.fail("heads", "a positive divisor of batch");
  s.scale = g["scale"].number();
  if (!std::isfinite(s.scale)) g.fail("scale", "a finite number");
  s.causal = g["causal"].boolean();
  const int32_t kind = g["maskKind"].int32();
  if (kind < 0 || kind > 2) g.fail("maskKind", "0 (none), 1 (bool) or 2 (additive)");
  s.mask = AttentionMask(kind);
  if (s.mask != AttentionMask::None) {
    const Value stridesField = g["maskStrides"];
    const std::vector<int64_t> strides = stridesField.int64Array();
    if (strides.size() != 4) stridesField.fail("4 strides [outer, head, row, col]");
    for (int64_t x : strides) {
      if (x < 0) stridesField.fail("non-negative strides");
    }
    s.maskOuterStride = strides[0];
    s.maskHeadStride = strides[1];
    s.maskRowStride = strides[2];
    s.maskColStride = strides[3];
  }
  s.dropoutP = g["dropoutP"].number();
  if (!(s.dropoutP >= 0 && s.dropoutP <= 1)) g.fail("dropoutP", "a probability in [0, 1]");
  if (s.dropoutP > 0) s.dropout = RandomState{g["seed"].uint64(), g["offset"].uint64()};
  checkedProduct(name, {s.batch, s.L, s.S});
  return s;
}

// The mask's view, checked to hold the span its strides reach, on the device of q; nullptr
// without a mask (or with nothing to read).
const void* maskOf(const Fields& f, const AttentionShape& s, DType dtype, const View& q, const char* name) {
  if (s.mask == AttentionMask::None || s.batch == 0 || s.L == 0 || s.S == 0) return nullptr;
  const int64_t span = (s.batch / s.heads - 1) * s.maskOuterStride + (s.heads - 1) * s.maskHeadStride +
                       (s.L - 1) * s.maskRowStride + (s.S - 1) * s.maskColStride + 1;
  const View mask = f.view("mask", span, s.mask == AttentionMask::Bool ? DType::Bool : dtype);
  requireSameDevice(name, {q, mask});
  return mask.data();
}

DType checkedDtype(const Fields& f) {
  const DType dtype = f["dtype"].dtype();
  if (dtype == DType::Int32 || dtype == DType::Bool) f.fail("dtype", "float32, float16, bfloat16 or float64");
  return dtype;
}

DType lseType(DType dtype) { return dtype == DType::Float64 ? DType::Float64 : DType::Float32; }

// attentionForward({dtype, q, k, v, mask, out, lse, shape}): operands are {storage, offset}.
Napi::Value attentionForward(const Napi::CallbackInfo& cb) {
  const char* name = "attentionForward";
  const Fields f = Args(cb, name, 1).fields(0);
  const DType dtype = checkedDtype(f);
  const AttentionShape s = readAttentionShape(f, name);
  const View q = f.view("q", checkedProduct(name, {s.batch, s.L, s.E}), dtype);
  const View k = f.view("k", checkedProduct(name, {s.batch, s.S, s.E}), dtype);
  const View v = f.view("v", checkedProduct(name, {s.batch, s.S, s.Ev}), dtype);
  const View out = f.view("out", checkedProduct(name, {s.batch, s.L, s.Ev}), dtype);
  const View lse = f.view("lse", checkedProduct(name, {s.batch, s.L}), lseType(dtype));
  const void* mask = maskOf(f, s, dtype, q, name);
  requireSameDevice(name, {q, k, v, out, lse});
  if (out.numel == 0) return cb.Env().Undefined();
  out.backend().attentionForward(out.index(), dtype, q.data(), k.data(), v.data(), mask, out.data(), lse.data(), s);
  return cb.Env().Undefined();
}

// attentionBackward({dtype, q, k, v, mask, out, gradOut, lse, gradQ, gradK, gradV, shape}).
Napi::Value attentionBackward(const Napi::CallbackInfo& cb) {
  const char* name = "attentionBackward";
  const Fields f = Args(cb, name, 1).fields(0);
  const DType dtype = checkedDtype(f);
  const AttentionShape s = readAttentionShape(f, name);
  const int64_t nq = checkedProduct(name, {s.batch, s.L, s.E}), nk = checkedProduct(name, {s.batch, s.S, s.E});
  const int64_t nv = checkedProduct(name, {s.batch, s.S, s.Ev}), no = checkedProduct(name, {s.batch, s.L, s.Ev});
  const View q = f.view("q", nq, dtype), k = f.view("k", nk, dtype), v = f.view("v", nv, dtype);
  const View out = f.view("out", no, dtype), gradOut = f.view("gradOut", no, dtype);
  const View lse = f.view("lse", checkedProduct(name, {s.batch, s.L}), lseType(dtype));
  const View gradQ = f.view("gradQ", nq, dtype), gradK = f.view("gradK", nk, dtype), gradV = f.view("gradV", nv, dtype);
  const void* mask = maskOf(f, s, dtype, q, name);
  requireSameDevice(name, {q, k, v, out, gradOut, lse, gradQ, gradK, gradV});
  if (s.batch == 0 || s.L == 0 || s.S == 0) return cb.Env().Undefined();
  q.backend().attentionBackward(q.index(), dtype, q.data(), k.data(), v.data(), mask, out.data(), gradOut.data(),
                                lse.data(), gradQ.data(), gradK.data(), gradV.data(), s);
  return cb.Env().Undefined();
}

}  // namespace

void registerAttentionBindings(Napi::Env env, Napi::Object exports) {
  exportFunction<attentionForward>(env, exports, "attentionForward");
  exportFunction<attentionBackward>(env, exports, "attentionBackward");
}

}  // namespace mp::napi
