#include "cpuFeatures.h"

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define MP_X86 1
#endif
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace mp {
namespace {

#if MP_X86
uint64_t readXcr0() {
  uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (uint64_t(edx) << 32) | eax;
}

// Linux enables the 8 KB AMX tile state per process on request (arch_prctl ARCH_REQ_XCOMP_PERM for
// XFEATURE_XTILEDATA); a process that uses the tiles without it gets SIGILL. It is refused where
// the kernel is too old or a thread's signal stack is too small for the larger signal frame, and
// then AMX is simply not used.
bool requestTileData() {
#if defined(__linux__) && defined(__x86_64__)
  constexpr long kReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kReqXcompPerm, kXfeatureXtiledata) == 0;
#else
  return false;
#endif
}

SimdLevel probe() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return SimdLevel::Scalar;
  const bool osxsave = c & (1u << 27);
  const bool avx = c & (1u << 28);
  const bool fma = c & (1u << 12);
  const bool f16c = c & (1u << 29);
  if (!osxsave || !avx) return SimdLevel::Scalar;
  const uint64_t xcr0 = readXcr0();
  const bool ymmState = (xcr0 & 0x6) == 0x6;
  const bool zmmState = (xcr0 & 0xe6) == 0xe6;
  if (!ymmState) return SimdLevel::Scalar;
  unsigned a7 = 0, b7 = 0, c7 = 0, d7 = 0;
  if (!__get_cpuid_count(7, 0, &a7, &b7, &c7, &d7)) return f16c && fma ? SimdLevel::F16c : SimdLevel::Scalar;
  const bool avx2 = b7 & (1u << 5);
  const bool avx512f = b7 & (1u << 16);
  const bool avx512bw = b7 & (1u << 30);
  const bool avx512vl = b7 & (1u << 31);
  if (!(avx2 && fma && f16c)) return SimdLevel::Scalar;
  if (!(zmmState && avx512f && avx512bw && avx512vl)) return SimdLevel::F16c;
  unsigned a71 = 0, b71 = 0, c71 = 0, d71 = 0;
  __get_cpuid_count(7, 1, &a71, &b71, &c71, &d71);
  const bool avx512bf16 = a71 & (1u << 5);
  if (!avx512bf16) return SimdLevel::Avx512;
  const bool amxBf16 = d7 & (1u << 22), amxTile = d7 & (1u << 24);
  const bool tileState = (xcr0 & 0x60000) == 0x60000;  // XTILECFG and XTILEDATA
  return amxBf16 && amxTile && tileState && requestTileData() ? SimdLevel::Amx : SimdLevel::Avx512Bf16;
}
#else
SimdLevel probe() { return SimdLevel::Scalar; }
#endif

SimdLevel fromName(const char* name, SimdLevel fallback) {
  for (int32_t level = 0; level < kNumSimdLevels; ++level) {
    if (!std::strcmp(name, kSimdLevelNames[level])) return SimdLevel(level);
  }
  return fallback;
}

SimdLevel initialLevel() {
  const SimdLevel detected = detectedSimdLevel();
  const char* env = std::getenv("MIXPREC_SIMD");
  if (!env) return detected;
  const SimdLevel wanted = fromName(env, detected);
  return wanted < detected ? wanted : detected;
}

std::atomic<int>& activeLevel() {
  static std::atomic<int> level{int(initialLevel())};
  return level;
}

}  // namespace

const char* simdLevelName(SimdLevel level) { return kSimdLevelNames[int32_t(level)]; }

SimdLevel detectedSimdLevel() {
  static const SimdLevel level = probe();
  return level;
}

SimdLevel activeSimdLevel() { return SimdLevel(activeLevel().load(std::memory_order_relaxed)); }

bool setSimdLevel(SimdLevel level) {
  if (level > detectedSimdLevel()) return false;
  activeLevel().store(int(level));
  return true;
}

}  // namespace mp
