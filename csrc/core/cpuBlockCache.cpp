#include "cpuBlockCache.h"

#include <unistd.h>

#include <cstdlib>
#include <list>
#include <mutex>
#include <unordered_map>
#include <utility>

namespace mp::cpuBlockCache {
namespace {

constexpr size_t kMinCached = size_t(64) << 10;
constexpr size_t kPage = 4096;

// MIXPREC_CPU_CACHE_BYTES sets the limit (0 turns the cache off); the default is an eighth of
// the machine's memory, at most 2 GiB.
int64_t limitFromEnvironment() {
  if (const char* v = std::getenv("MIXPREC_CPU_CACHE_BYTES")) {
    char* end = nullptr;
    const long long n = std::strtoll(v, &end, 10);
    if (end != v && n >= 0) return n;
  }
  const long pages = sysconf(_SC_PHYS_PAGES), pageSize = sysconf(_SC_PAGE_SIZE);
  const int64_t eighth = pages > 0 && pageSize > 0 ? int64_t(pages) * pageSize / 8 : int64_t(256) << 20;
  return eighth < (int64_t(2) << 30) ? eighth : int64_t(2) << 30;
}

// Blocks by size, each size's blocks most recent first; `order` holds every block, least recently
// cached first, so the limit evicts what has waited longest.
struct Cache {
  std::mutex mutex;
  const int64_t limit = limitFromEnvironment();
  int64_t bytes = 0, hits = 0, misses = 0;
  std::list<std::pair<size_t, void*>> order;
  std::unordered_map<size_t, std::list<std::list<std::pair<size_t, void*>>::iterator>> bySize;

  void evictOldest() {
    const auto [size, block] = order.front();
    auto& blocks = bySize[size];
    blocks.pop_back();
    if (blocks.empty()) bySize.erase(size);
    order.pop_front();
    bytes -= int64_t(size);
    std::free(block);
  }
};

// Never destroyed: storages freed by finalizers during process exit still find it.
Cache& cache() {
  static Cache* c = new Cache();
  return *c;
}

}  // namespace

size_t cachedSize(size_t bytes) { return bytes < kMinCached ? 0 : (bytes + kPage - 1) / kPage * kPage; }

void* take(size_t size) {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  auto it = c.bySize.find(size);
  if (it == c.bySize.end()) {
    c.misses += 1;
    return nullptr;
  }
  const auto entry = it->second.front();
  void* block = entry->second;
  it->second.pop_front();
  if (it->second.empty()) c.bySize.erase(it);
  c.order.erase(entry);
  c.bytes -= int64_t(size);
  c.hits += 1;
  return block;
}

void give(void* block, size_t size) {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  if (int64_t(size) > c.limit) {
    std::free(block);
    return;
  }
  while (c.bytes + int64_t(size) > c.limit) c.evictOldest();
  c.order.emplace_back(size, block);
  c.bySize[size].push_front(std::prev(c.order.end()));
  c.bytes += int64_t(size);
}

int64_t empty() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  const int64_t released = c.bytes;
  while (!c.order.empty()) c.evictOldest();
  return released;
}

Info info() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return {c.bytes, c.limit, c.hits, c.misses};
}

}  // namespace mp::cpuBlockCache
