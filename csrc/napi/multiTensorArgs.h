// Reading the arguments of the multi-tensor bindings (optimizers, gradient clipping, AMP):
// (dtype, numels, handles, offsets, ...) where handles[l][i] and offsets[l][i] locate tensor i of
// list l, plus float32 device scalars. Every storage, offset and size is checked.
#pragma once
#include <initializer_list>

#include "../core/optimizerMath.h"
#include "args.h"

namespace mp::napi {

struct ListSpec {
  const char* name;
  bool counter;  // float32 step counters, one element each
  bool used;     // whether these options read the list
};

struct MultiTensor {
  TensorLists t;
  int device = kCpuDevice;
};

// The lists at arguments 1..3 (numels, handles, offsets), one per spec, for floating `dtype`.
MultiTensor readLists(const Napi::CallbackInfo& cb, const Args& args, const char* function, DType dtype,
                      std::initializer_list<ListSpec> specs);

// A float32 one-element tensor on `device` at arguments (index, index + 1), or nullptr when the
// handle is null and the scalar is optional.
float* deviceScalar(const Napi::CallbackInfo& cb, const Args& args, const char* function, size_t index,
                    const char* name, int device, bool optional);

// The `reference` flag at `index`: the scalar reference runs on CPU storages only.
bool reference(const Args& args, size_t index, const MultiTensor& m, const char* function);

}  // namespace mp::napi
