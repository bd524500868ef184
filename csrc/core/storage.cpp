#include "storage.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "../cuda/cudaBackend.h"
#include "cpuBlockCache.h"
#include "errors.h"

namespace mp {

void MemoryStats::add(int device, DType dtype, size_t bytes) {
  Slot& s = slots_[index(device)][int(dtype)];
  s.count += 1;
  s.bytes += int64_t(bytes);
  deviceBytes_[index(device)] += int64_t(bytes);
  totalBytes_ += int64_t(bytes);
  if (deviceBytes_[index(device)] > devicePeak_[index(device)]) devicePeak_[index(device)] = deviceBytes_[index(device)];
  if (totalBytes_ > totalPeak_) totalPeak_ = totalBytes_;
}

void MemoryStats::remove(int device, DType dtype, size_t bytes) {
  Slot& s = slots_[index(device)][int(dtype)];
  s.count -= 1;
  s.bytes -= int64_t(bytes);
  deviceBytes_[index(device)] -= int64_t(bytes);
  totalBytes_ -= int64_t(bytes);
}

void MemoryStats::resetPeak() {
  for (size_t i = 0; i < devicePeak_.size(); ++i) devicePeak_[i] = deviceBytes_[i];
  totalPeak_ = totalBytes_;
}

namespace {

constexpr size_t kCpuAlignment = 64;

std::string formatBytes(size_t bytes) {
  const double gib = double(bytes) / (1024.0 * 1024.0 * 1024.0);
  if (gib < 1.0) return std::to_string(bytes) + " bytes";
  char buf[64];
  snprintf(buf, sizeof buf, "%zu bytes (%.1f GiB)", bytes, gib);
  return buf;
}

size_t physicalMemoryBytes() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long pageSize = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || pageSize <= 0) return SIZE_MAX;
  return size_t(pages) * size_t(pageSize);
}

void* allocateCpu(size_t bytes, bool zeroed) {
  // A request larger than the machine's RAM would pass malloc under overcommit and then get the
  // process killed when touched; refuse it up front so the caller gets an error instead.
  if (bytes > physicalMemoryBytes()) {
    throwMixprecError("ERR_OUT_OF_MEMORY", "out of memory: cannot allocate " + formatBytes(bytes) +
                                               " on cpu (the machine has " + formatBytes(physicalMemoryBytes()) + ")");
  }
  const size_t cached = cpuBlockCache::cachedSize(bytes);
  void* p = cached ? cpuBlockCache::take(cached) : nullptr;
  if (!p) {
    const size_t rounded = cached ? cached : (bytes + kCpuAlignment - 1) / kCpuAlignment * kCpuAlignment;
    if (posix_memalign(&p, kCpuAlignment, rounded == 0 ? kCpuAlignment : rounded) != 0 || p == nullptr) {
      throwMixprecError("ERR_OUT_OF_MEMORY", "out of memory: cannot allocate " + formatBytes(bytes) + " on cpu");
    }
  }
  if (zeroed) memset(p, 0, bytes);
  return p;
}

}  // namespace

Storage* allocateStorage(const std::shared_ptr<MemoryStats>& stats, int device, DType dtype, size_t bytes,
                         bool zeroed) {
  void* data = device == kCpuDevice ? allocateCpu(bytes, zeroed) : cuda::allocate(device, bytes, zeroed);
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
  if (s->device == kCpuDevice) {
    const size_t cached = cpuBlockCache::cachedSize(s->bytes);
    if (cached) {
      cpuBlockCache::give(s->data, cached);
    } else {
      free(s->data);
    }
  } else {
    cuda::deferFree(s->device, s->data);
  }
  s->data = nullptr;
  s->stats->remove(s->device, s->dtype, s->bytes);
}

}  // namespace mp
