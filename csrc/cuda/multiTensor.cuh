// Helpers of the multi-tensor CUDA kernels (optimizers, gradient clipping, AMP unscaling):
// tensors go to a kernel in batches of pointers passed by value; blockIdx.y picks the tensor.
#pragma once
#include <algorithm>

#include "../core/optimizerMath.h"
#include "cudaCheck.h"

namespace mp::cuda {

// 32 tensors of 6 lists keep a batch well inside the 4 KiB of kernel parameters.
constexpr int kBatchTensors = 32;
constexpr unsigned kMaxBlocksPerTensor = 1024;

struct Batch {
  int count = 0;
  int first = 0;  // index in the whole list of the batch's tensor 0

  int64_t numel[kBatchTensors] = {};
  void* ptr[kAdamListCount][kBatchTensors] = {};
};

// Splits the lists into batches and calls launch(batch, blocksPerTensor) for each.
template <class Launch>
void forEachBatch(const TensorLists& t, const Launch& launch) {
  const size_t n = t.numel.size();
  for (size_t first = 0; first < n; first += kBatchTensors) {
    Batch b;
    b.count = int(std::min(n - first, size_t(kBatchTensors)));
    b.first = int(first);
    int64_t largest = 0;
    for (int i = 0; i < b.count; ++i) {
      b.numel[i] = t.numel[first + i];
      largest = std::max(largest, b.numel[i]);
      for (size_t l = 0; l < t.lists.size(); ++l) b.ptr[l][i] = t.lists[l].empty() ? nullptr : t.lists[l][first + i];
    }
    launch(b, std::min(blocksFor(largest), kMaxBlocksPerTensor));
  }
}

#define MP_TENSOR_LOOP(k, b) MP_GRID_LOOP(k, (b).numel[blockIdx.y])

}  // namespace mp::cuda
