// A block of tensor memory on one device, and the per-environment accounting of such blocks.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "dtype.h"

namespace mp {

constexpr int kMaxCudaDevices = 16;
constexpr int kCpuDevice = -1;

// Live blocks and bytes per device and dtype, plus peaks. One per JS environment (main thread
// or worker); storages keep it alive so finalizers running after teardown stay safe.
class MemoryStats {
 public:
  void add(int device, DType dtype, size_t bytes);
  void remove(int device, DType dtype, size_t bytes);
  void resetPeak();

  struct Slot {
    int64_t count = 0;
    int64_t bytes = 0;
  };
  const Slot& slot(int device, DType dtype) const { return slots_[index(device)][int(dtype)]; }
  int64_t deviceBytes(int device) const { return deviceBytes_[index(device)]; }
  int64_t devicePeak(int device) const { return devicePeak_[index(device)]; }
  int64_t totalBytes() const { return totalBytes_; }
  int64_t totalPeak() const { return totalPeak_; }

 private:
  static int index(int device) { return device + 1; }
  std::array<std::array<Slot, kNumDTypes>, kMaxCudaDevices + 1> slots_{};
  std::array<int64_t, kMaxCudaDevices + 1> deviceBytes_{};
  std::array<int64_t, kMaxCudaDevices + 1> devicePeak_{};
  int64_t totalBytes_ = 0;
  int64_t totalPeak_ = 0;
};

struct Storage {
  void* data = nullptr;
  size_t bytes = 0;
  int device = kCpuDevice;
  DType dtype = DType::Float32;
  bool released = false;
  std::shared_ptr<MemoryStats> stats;
};

// Allocates `bytes` on `device` (zeroed when asked). Throws mp::Error (ERR_OUT_OF_MEMORY,
// ERR_CUDA_UNAVAILABLE, ...) and never returns a null block.
Storage* allocateStorage(const std::shared_ptr<MemoryStats>& stats, int device, DType dtype,
                         size_t bytes, bool zeroed);

// Frees the memory of a storage (idempotent); the Storage object itself stays valid.
void releaseStorage(Storage* s);

}  // namespace mp
