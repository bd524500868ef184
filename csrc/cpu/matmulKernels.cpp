#include "matmulKernels.h"

#include <algorithm>
#include <type_traits>
#include <vector>

#include "../core/binaryMath.h"
#include "../core/elementTypes.h"
#include "../core/threadPool.h"

namespace mp::cpu {
namespace {

template <class Tag>
void matmulTyped(const void* av, const void* bv, void* outv, const MatmulShape& s) {
  using S = typename Tag::Storage;
  using Acc = OpMath<Tag>;
  const auto* a = static_cast<const S*>(av);
  const auto* b = static_cast<const S*>(bv);
  auto* out = static_cast<S*>(outv);
  int64_t batches = 1;
  for (int d = 0; d < s.batch.ndim; ++d) batches *= s.batch.shape[d];
  std::vector<Acc> packedB(size_t(s.k * s.n));
  for (int64_t bi = 0; bi < batches; ++bi) {
    int64_t offA = 0, offB = 0;
    broadcastOffsets(s.batch, bi, offA, offB);
    const S* A = a + offA;
    const S* B = b + offB;
    // B row-major in the accumulation type: the inner loop below runs over contiguous columns.
    for (int64_t kk = 0; kk < s.k; ++kk) {
      for (int64_t j = 0; j < s.n; ++j) packedB[size_t(kk * s.n + j)] = Acc(Tag::load(B[kk * s.b.rowStride + j * s.b.colStride]));
    }
    S* C = out + bi * s.m * s.n;
    const int64_t rowWork = std::max<int64_t>(s.n * s.k, 1);
    parallelFor(s.m, rowWork >= (1 << 15) ? 1 : (1 << 15) / rowWork, [&](int64_t begin, int64_t end) {
      std::vector<Acc> row(size_t(s.n));
      for (int64_t i = begin; i < end; ++i) {
        std::fill(row.begin(), row.end(), Acc(0));
        for (int64_t kk = 0; kk < s.k; ++kk) {
          const Acc x = Acc(Tag::load(A[i * s.a.rowStride + kk * s.a.colStride]));
          const Acc* brow = packedB.data() + kk * s.n;
          for (int64_t j = 0; j < s.n; ++j) row[size_t(j)] += x * brow[j];
        }
        for (int64_t j = 0; j < s.n; ++j) C[i * s.n + j] = Tag::store(typename Tag::Compute(row[size_t(j)]));
      }
    });
  }
}

}  // namespace

void matmul(DType dtype, const void* a, const void* b, void* out, const MatmulShape& shape) {
  MP_DISPATCH_DTYPE(dtype, matmulTyped<Tag>(a, b, out, shape));
}

}  // namespace mp::cpu
