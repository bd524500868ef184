// Reading the arguments of the multi-tensor bindings (optimizers, gradient clipping, AMP): each
// takes one object whose `lists` field is {dtype, numels, handles, offsets}, where handles[l][i]
// and offsets[l][i] locate tensor i of list l, plus float32 device scalars {storage, offset}.
// Every storage, offset and size is checked.
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
  DType dtype = DType::Float32;
  TensorLists t;
  Device device;
};

// The lists of f["lists"], one per spec, for a floating dtype.
MultiTensor readLists(const Fields& f, const char* function, std::initializer_list<ListSpec> specs);

// A float32 one-element tensor {storage, offset} on `device` at `name`, or nullptr when it is
// null and the scalar is optional.
float* deviceScalar(const Fields& f, const char* function, const char* name, Device device, bool optional);

// The backend a multi-tensor binding runs on: the tensors' device's, or (the test surface's
// `reference` twins) the CPU references, which need cpu tensors.
Backend& backendOf(const MultiTensor& m, const char* function, bool reference);

}  // namespace mp::napi
