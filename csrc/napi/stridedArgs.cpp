#include "stridedArgs.h"

#include <string>

namespace mp::napi {

OutputShape readShape(const Fields& f, const char* function, const char* name) {
  const Value v = f[name];
  OutputShape s;
  s.sizes = v.int64Array();
  if (s.sizes.size() > size_t(kMaxDims)) v.fail("at most " + std::to_string(kMaxDims) + " dimensions");
  for (int64_t size : s.sizes) {
    if (size < 0) v.fail("non-negative sizes");
    s.numel = checkedProduct(function, {s.numel, size});
  }
  return s;
}

View stridedOperand(const Fields& operand, const OutputShape& shape, DType dtype, int64_t* strides,
                    const char* stridesField, int64_t extra) {
  const Value stridesValue = operand[stridesField];
  const std::vector<int64_t> values = stridesValue.int64Array();
  const int64_t span = spanOf(stridesValue, shape.sizes, values);
  for (size_t d = 0; d < values.size(); ++d) strides[d] = values[d];
  return operand.asView(span == 0 || extra == 0 ? 0 : span - 1 + extra, dtype);
}

}  // namespace mp::napi
