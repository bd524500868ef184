// Random fills (the same Philox stream as the CPU) and arange / linspace / eye on CUDA.
#include "../core/elementTypes.h"
#include "../core/randomValue.h"
#include "cudaBackend.h"
#include "cudaCheck.h"

namespace mp::cuda {
namespace {

template <class Tag>
__global__ void randomKernel(typename Tag::Storage* out, int64_t n, RandomKind kind, RandomState state, double a,
                             double b) {
  MP_GRID_LOOP(i, n) { out[i] = Tag::fromDouble(randomValue(kind, Tag::kDType, state, i, a, b)); }
}

template <class Tag>
__global__ void arangeKernel(typename Tag::Storage* out, int64_t n, double start, double step) {
  MP_GRID_LOOP(i, n) { out[i] = Tag::fromDouble(start + double(i) * step); }
}

template <class Tag>
__global__ void linspaceKernel(typename Tag::Storage* out, int64_t n, double start, double end, double step) {
  const int64_t half = n == 1 ? 1 : n / 2;  // a single step is `start`, as in PyTorch
  MP_GRID_LOOP(i, n) { out[i] = Tag::fromDouble(i < half ? start + double(i) * step : end - double(n - 1 - i) * step); }
}

template <class Tag>
__global__ void eyeKernel(typename Tag::Storage* out, int64_t rows, int64_t cols) {
  MP_GRID_LOOP(i, rows * cols) { out[i] = Tag::fromDouble(i / cols == i % cols ? 1.0 : 0.0); }
}

}  // namespace

void random(int device, RandomKind kind, DType dtype, void* out, int64_t n, const RandomState& state, double a,
            double b) {
  if (n == 0) return;
  cudaStream_t stream = enter(device);
  MP_DISPATCH_DTYPE(dtype, randomKernel<Tag><<<blocksFor(n), kThreads, 0, stream>>>(
                               static_cast<typename Tag::Storage*>(out), n, kind, state, a, b));
  check(cudaGetLastError(), "random kernel launch");
}

void arange(int device, DType dtype, void* out, int64_t n, double start, double step) {
  if (n == 0) return;
  cudaStream_t stream = enter(device);
  MP_DISPATCH_DTYPE(dtype, arangeKernel<Tag><<<blocksFor(n), kThreads, 0, stream>>>(
                               static_cast<typename Tag::Storage*>(out), n, start, step));
  check(cudaGetLastError(), "arange kernel launch");
}

void linspace(int device, DType dtype, void* out, int64_t n, double start, double end) {
  if (n == 0) return;
  cudaStream_t stream = enter(device);
  const double step = n > 1 ? (end - start) / double(n - 1) : 0.0;
  MP_DISPATCH_DTYPE(dtype, linspaceKernel<Tag><<<blocksFor(n), kThreads, 0, stream>>>(
                               static_cast<typename Tag::Storage*>(out), n, start, end, step));
  check(cudaGetLastError(), "linspace kernel launch");
}

void eye(int device, DType dtype, void* out, int64_t rows, int64_t cols) {
  if (rows * cols == 0) return;
  cudaStream_t stream = enter(device);
  MP_DISPATCH_DTYPE(dtype, eyeKernel<Tag><<<blocksFor(rows * cols), kThreads, 0, stream>>>(
                               static_cast<typename Tag::Storage*>(out), rows, cols));
  check(cudaGetLastError(), "eye kernel launch");
}

}  // namespace mp::cuda
