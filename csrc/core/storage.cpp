#include "storage.h"

namespace mp {

void MemoryStats::add(Device device, DType dtype, size_t bytes) {
  PerDevice& d = perDevice(device);
  Slot& s = d.slots[int(dtype)];
  s.count += 1;
  s.bytes += int64_t(bytes);
  d.bytes += int64_t(bytes);
  totalBytes_ += int64_t(bytes);
  if (d.bytes > d.peak) d.peak = d.bytes;
  if (totalBytes_ > totalPeak_) totalPeak_ = totalBytes_;
}

void MemoryStats::remove(Device device, DType dtype, size_t bytes) {
  PerDevice& d = perDevice(device);
  Slot& s = d.slots[int(dtype)];
  s.count -= 1;
  s.bytes -= int64_t(bytes);
  d.bytes -= int64_t(bytes);
  totalBytes_ -= int64_t(bytes);
}

void MemoryStats::resetPeak() {
  for (auto& type : devices_) {
    for (PerDevice& d : type) d.peak = d.bytes;
  }
  totalPeak_ = totalBytes_;
}

Storage* allocateStorage(const std::shared_ptr<MemoryStats>& stats, Device device, DType dtype, size_t bytes,
                         bool zeroed) {
  void* data = backendFor(device).allocate(device.index, bytes, zeroed);
  auto* s = new Storage();
  s->data = data;
  s->bytes = bytes;
  s->device = device;
  s->dtype = dtype;
  s->stats = stats;
  stats->add(device, dtype, bytes);
  return s;
}

void releaseStorage(Storage* s) {
  if (s->released) return;
  s->released = true;
  backendFor(s->device).deferFree(s->device.index, s->data, s->bytes);
  s->data = nullptr;
  s->stats->remove(s->device, s->dtype, s->bytes);
}

}  // namespace mp
