// A block of tensor memory on one device, and the per-environment accounting of such blocks.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "backend.h"
#include "dtype.h"

namespace mp {

// Live blocks and bytes per device and dtype, plus peaks. One per JS environment (main thread
// or worker); storages keep it alive so finalizers running after teardown stay safe.
class MemoryStats {
 public:
  void add(Device device, DType dtype, size_t bytes);
  void remove(Device device, DType dtype, size_t bytes);
  void resetPeak();

  struct Slot {
    int64_t count = 0;
    int64_t bytes = 0;
  };
  const Slot& slot(Device device, DType dtype) const { return perDevice(device).slots[int(dtype)]; }
  int64_t deviceBytes(Device device) const { return perDevice(device).bytes; }
  int64_t devicePeak(Device device) const { return perDevice(device).peak; }
  int64_t totalBytes() const { return totalBytes_; }
  int64_t totalPeak() const { return totalPeak_; }

 private:
  struct PerDevice {
    std::array<Slot, kNumDTypes> slots{};
    int64_t bytes = 0;
    int64_t peak = 0;
  };
  const PerDevice& perDevice(Device d) const { return devices_[int(d.type)][d.index]; }
  PerDevice& perDevice(Device d) { return devices_[int(d.type)][d.index]; }
  std::array<std::array<PerDevice, kMaxDevicesPerType>, kNumDeviceTypes> devices_{};
  int64_t totalBytes_ = 0;
  int64_t totalPeak_ = 0;
};

struct Storage {
  void* data = nullptr;
  size_t bytes = 0;
  Device device;
  DType dtype = DType::Float32;
  bool released = false;
  std::shared_ptr<MemoryStats> stats;
};

// Allocates `bytes` on `device` (zeroed when asked). Throws mp::Error (ERR_OUT_OF_MEMORY,
// ERR_CUDA_UNAVAILABLE, ...) and never returns a null block.
Storage* allocateStorage(const std::shared_ptr<MemoryStats>& stats, Device device, DType dtype, size_t bytes,
                         bool zeroed);

// Frees the memory of a storage (idempotent); the Storage object itself stays valid.
void releaseStorage(Storage* s);

}  // namespace mp
