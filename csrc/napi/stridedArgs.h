// Reading strided operands: an output shape and operands {storage, offset, strides} read along
// it, as the elementwise, where and matmul bindings take them.
#pragma once
#include <cstdint>
#include <vector>

#include "args.h"

namespace mp::napi {

struct OutputShape {
  std::vector<int64_t> sizes;
  int64_t numel = 1;
};

// At most kMaxDims non-negative sizes at `name`.
OutputShape readShape(const Fields& f, const char* function, const char* name);

// A geometry (BroadcastGeometry, WhereGeometry) with `shape`'s rank and sizes, strides still 0.
template <class Geometry>
Geometry geometryOf(const OutputShape& shape) {
  Geometry g;
  g.ndim = int(shape.sizes.size());
  for (int d = 0; d < g.ndim; ++d) g.shape[d] = shape.sizes[d];
  return g;
}

// The operand {storage, offset, <stridesField>}, one stride per dimension of `shape` copied into
// `strides`, checked to stay inside its storage when read along `shape` (`extra` elements past
// the strided span's last one: a matrix inside each batch entry).
View stridedOperand(const Fields& operand, const OutputShape& shape, DType dtype, int64_t* strides,
                    const char* stridesField = "strides", int64_t extra = 1);

}  // namespace mp::napi
