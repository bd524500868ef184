// Turns CUDA runtime failures into mp::Error (code ERR_CUDA, or ERR_OUT_OF_MEMORY) with the
// runtime's own name and description.
#pragma once
#include <cuda_runtime.h>

#include <string>

#include "../core/errors.h"

namespace mp::cuda {

inline void check(cudaError_t status, const char* what) {
  if (status == cudaSuccess) return;
  cudaGetLastError();  // clear the sticky-free error state so later calls can proceed
  const std::string detail = std::string(what) + ": " + cudaGetErrorName(status) + ": " + cudaGetErrorString(status);
  if (status == cudaErrorMemoryAllocation) throwMixprecError("ERR_OUT_OF_MEMORY", "out of memory on cuda: " + detail);
  throwMixprecError("ERR_CUDA", "CUDA error in " + detail);
}

// The stream all of mixprec's work on `device` runs on (created on first use).
cudaStream_t streamFor(int device);
// Makes `device` current on this thread and returns its stream.
cudaStream_t enter(int device);

constexpr int kThreads = 256;
inline unsigned blocksFor(int64_t n) {
  const int64_t b = (n + kThreads - 1) / kThreads;
  return unsigned(b < 65535 * 16 ? (b > 0 ? b : 1) : 65535 * 16);
}

// A grid-stride loop over [0, n): blocksFor caps the grid, so a thread may take several indices.
#define MP_GRID_LOOP(i, n) \
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (n); i += int64_t(gridDim.x) * blockDim.x)

}  // namespace mp::cuda
