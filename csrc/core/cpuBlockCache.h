// Freed CPU blocks of 64 KiB and more, kept for the next allocation of the same size. A training
// step allocates the same activation and gradient sizes every step; without the cache each such
// block comes back from the kernel as fresh pages (glibc returns large freed blocks to the
// system), and touching them costs a page fault per 4 KiB: about 0.25 ms per MiB on this machine
// class, more than the arithmetic of most elementwise ops.
#pragma once
#include <cstddef>
#include <cstdint>

namespace mp::cpuBlockCache {

// The size a block of `bytes` is cached under (whole pages), or 0 when such blocks are not
// cached (too small).
size_t cachedSize(size_t bytes);

// A cached block of exactly `size` bytes (as cachedSize gives), or null.
void* take(size_t size);

// Keeps a freed block of `size` bytes (as cachedSize gives) for reuse, or frees it when the
// cache would grow past its limit.
void give(void* block, size_t size);

// Frees every cached block; returns the bytes released.
int64_t empty();

struct Info {
  int64_t cachedBytes;
  int64_t limitBytes;
  int64_t hits;
  int64_t misses;
};
Info info();

}  // namespace mp::cpuBlockCache
