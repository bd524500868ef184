#include "cpuKernels.h"

#include "../core/elementTypes.h"
#include "../core/randomValue.h"
#include "../core/threadPool.h"

namespace mp::cpu {

void random(RandomKind kind, DType dtype, void* out, int64_t n, const RandomState& state, double a, double b) {
  MP_DISPATCH_DTYPE(dtype, {
    auto* o = static_cast<typename Tag::Storage*>(out);
    parallelFor(n, 1 << 14, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) o[i] = Tag::fromDouble(randomValue(kind, dtype, state, i, a, b));
    });
  });
}

}  // namespace mp::cpu
