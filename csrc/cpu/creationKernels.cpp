#include "cpuKernels.h"

#include <cstring>

#include "../core/elementTypes.h"
#include "../core/threadPool.h"

namespace mp::cpu {

void arange(DType dtype, void* out, int64_t n, double start, double step) {
  MP_DISPATCH_DTYPE(dtype, {
    auto* o = static_cast<typename Tag::Storage*>(out);
    parallelFor(n, 1 << 15, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) o[i] = Tag::fromDouble(start + double(i) * step);
    });
  });
}

void linspace(DType dtype, void* out, int64_t n, double start, double end) {
  const double step = n > 1 ? (end - start) / double(n - 1) : 0.0;
  const int64_t half = n == 1 ? 1 : n / 2;  // a single step is `start`, as in PyTorch
  MP_DISPATCH_DTYPE(dtype, {
    auto* o = static_cast<typename Tag::Storage*>(out);
    parallelFor(n, 1 << 15, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        o[i] = Tag::fromDouble(i < half ? start + double(i) * step : end - double(n - 1 - i) * step);
      }
    });
  });
}

void eye(DType dtype, void* out, int64_t rows, int64_t cols) {
  MP_DISPATCH_DTYPE(dtype, {
    auto* o = static_cast<typename Tag::Storage*>(out);
    memset(o, 0, size_t(rows * cols) * sizeof(*o));
    const typename Tag::Storage one = Tag::fromDouble(1.0);
    for (int64_t i = 0; i < rows && i < cols; ++i) o[i * cols + i] = one;
  });
}

}  // namespace mp::cpu
