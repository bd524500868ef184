// The loops around the microkernels (Goto/BLIS order): for each nc-wide column block and
// kc-deep slice of k, pack B once (threads split its panels), then threads claim work units, one
// at a time, until none is left: a block of mc rows of A (and, when there are too few row blocks
// to feed every thread, a group of B's column panels). A unit packs its mc x kc block of A and
// runs the microkernel over every (B panel, A panel) pair, B panel outermost so that panel stays
// in cache (L1 or L2, by the kernel's kc) while A panels stream from L2. Products of a few hundred
// rows with several k slices pack every slice of A and B first, and their units are blocks of
// rows x columns that run all slices in turn (see run). Slices of k run one after another and every output tile sums them in the
// same order, so results do not depend on how many threads ran or which thread took which unit.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <vector>

#include "../../core/threadPool.h"
#include "../castKernels.h"
#include "gemm.h"
#include "gemmPack.h"

namespace mp::cpu::gemm {
namespace {

// A grow-only 64-byte aligned scratch buffer, one per thread and role, so steady-state calls
// allocate nothing.
class Buffer {
 public:
  ~Buffer() { std::free(data_); }
  void* get(size_t bytes) {
    if (bytes > size_) {
      std::free(data_);
      size_ = (bytes + 63) / 64 * 64;
      data_ = std::aligned_alloc(64, size_);
      if (!data_) {
        size_ = 0;
        throw std::bad_alloc();
      }
    }
    return data_;
  }

 private:
  void* data_ = nullptr;
  size_t size_ = 0;
};

thread_local Buffer packedBBuffer, packedABuffer, scratchBuffer, accumulatorBuffer;

// The float32 accumulator of a 16-bit product is reused across calls up to this size: a fresh
// multi-MB block per call costs page faults (and, with transparent huge pages, stalls of
// milliseconds) on every weight-gradient GEMM of a training step. It is 64-byte aligned like
// tensor storage: a malloc'd block sits 16 bytes off, which splits every tile row's loads and
// stores across cache lines. run overwrites every element before accumulating, so a reused
// block needs no clearing.
constexpr size_t kReusedAccumulator = size_t(16) << 20;

// Multiply-adds below which a call stays on the calling thread (waking workers costs more): on the
// AMX class with two threads, float32 64^3 and 100^3 ran 1.7x faster on one thread than on two,
// 128^3 (2M) equally fast either way.
constexpr int64_t kInlineWork = int64_t(1) << 20;

// Products of at most this many rows, whose packed A and packed B (every k slice of an nc block)
// each take at most this many bytes, pack both first and run every k slice of a unit in turn (see
// run).
constexpr int64_t kSliceInnerRows = 512;
constexpr int64_t kSliceInnerBytes = int64_t(4) << 20;

}  // namespace

void run(const Kernel& kern, ToFloat toFloat, const Operand& a, const Operand& b, const Output& out, int64_t m,
         int64_t n, int64_t k) {
  const bool packsRounded = kern.packing == Packing::F32 || kern.packsRounded;
  if (((a.rounds() || b.rounds()) && !packsRounded) || (out.rounding != DType::Float32 && (out.out16 || out.accumulate))) {
    throw std::logic_error("gemm::run: rounded operands need a kernel that packs them, a rounded output float32 without accumulate");
  }
  Buffer ownAccumulator;
  float* c = out.c;
  if (out.out16 && k > kern.kc) {
    const size_t bytes = size_t(m * n) * sizeof(float);
    c = static_cast<float*>((bytes <= kReusedAccumulator ? accumulatorBuffer : ownAccumulator).get(bytes));
  }
  const bool pairs = kern.packing == Packing::Bf16Pairs;
  const size_t elemBytes = kern.packing == Packing::F32 ? 4 : 2;
  const int mr = kern.mr, nr = kern.nr;
  const auto paddedK = [&kern](int64_t kc) { return packedDepth(kern.packing, kc); };
  const int64_t rowPanels = (m + mr - 1) / mr;
  const int64_t mcPanels = std::max<int64_t>(1, kern.mc / mr);
  const bool inlineOnly = m * n * k < kInlineWork || availableThreads() == 1;
  const int threads = inlineOnly ? 1 : availableThreads();
  // Work units are (column group, block of row panels), claimed by the threads as they go: a
  // static split stalls on the slower thread of a shared VM. With several threads, blocks shrink
  // (down to one panel) until there are about four per thread; with still too few, the columns
  // are split too (each column group packs the same A rows again, so only then). One thread
  // takes whole mc blocks.
  const int64_t blockPanels = threads == 1 ? mcPanels : std::clamp<int64_t>((rowPanels + 4 * threads - 1) / (4 * threads), 1, mcPanels);
  const int64_t rowBlocks = (rowPanels + blockPanels - 1) / blockPanels;
  // Few rows and several k slices (a linear's forward or input gradient: [B*T, in] x [in, out])
  // reuse each B slice for only a few row blocks, while the C block every slice re-reads is
  // large: then every k slice of A and B is packed first and each unit runs all its slices in
  // turn, so its C block stays in L2 between slices instead of going back to memory once per
  // slice. Only while both packed operands stay cache-sized (and the scratch small: a deep k with
  // few columns would otherwise pack hundreds of MB of A). Each tile still sums its slices in k
  // order.
  const int64_t slices = (k + kern.kc - 1) / kern.kc;
  const int64_t kcStride = paddedK(kern.kc);  // k elements per packed slice
  const int64_t packedBBytes = slices * kcStride * ((std::min(n, kern.nc) + nr - 1) / nr * nr) * int64_t(elemBytes);
  const int64_t packedABytes = slices * kcStride * rowPanels * mr * int64_t(elemBytes);
  const bool sliceInner =
      k > kern.kc && m <= kSliceInnerRows && packedBBytes <= kSliceInnerBytes && packedABytes <= kSliceInnerBytes;
  for (int64_t jc = 0; jc < n; jc += kern.nc) {
    const int64_t nc = std::min(kern.nc, n - jc);
    const int64_t colPanels = (nc + nr - 1) / nr;
    const int64_t colGroups = threads == 1 ? 1 : std::min<int64_t>(colPanels, std::max<int64_t>(1, (2 * threads + rowBlocks - 1) / rowBlocks));
    const int64_t sliceElements = colPanels * nr * kcStride;  // a packed B slice, padded to kern.kc
    // Scratch of the packers: one widened row or column (up to max(mc or nc, kc)) plus a whole
    // widened panel (the AVX-512 packers transpose max(mr, nr) rows of kc; the AMX packers stage a
    // 16-bit panel of max(mr, nr) x its padded depth).
    const auto scratchFor = [&](int64_t extent, int64_t kc) {
      return pairs ? nullptr : static_cast<float*>(scratchBuffer.get(size_t(std::max(extent, kc) + std::max(mr, nr) * paddedK(kc)) * sizeof(float)));
    };
    // B's columns [jc, jc + nc) x k slice starting at pc into dst, the threads splitting its panels.
    const auto packBSlice = [&](int64_t pc, char* dst) {
      const int64_t kc = std::min(kern.kc, k - pc);
      const int64_t bPanel = nr * paddedK(kc);
      parallelFor(colPanels, inlineOnly ? colPanels : 4, [&](int64_t q0, int64_t q1) {
        const int64_t j0 = q0 * nr, cols = std::min(q1 * nr, nc) - j0;
        void* panel = dst + size_t(q0 * bPanel) * elemBytes;
        float* scratch = scratchFor(cols, kc);
        if (kern.packB && (!b.rounds() || kern.packsRounded)) {
          kern.packB(b, pc, kc, jc + j0, cols, panel, toFloat, scratch);
        } else if (pairs) {
          packBBf16(b, pc, kc, jc + j0, cols, nr, static_cast<uint16_t*>(panel));
        } else {
          packBF32(b, pc, kc, jc + j0, cols, nr, static_cast<float*>(panel), toFloat, scratch);
        }
      });
    };
    // Rows [i0, i0 + mc) of A x the k slice starting at pc into consecutive mr-row panels at dst.
    const auto packARows = [&](int64_t i0, int64_t mc, int64_t pc, char* dst) {
      const int64_t kc = std::min(kern.kc, k - pc);
      float* scratch = scratchFor(mc, kc);
      if (kern.packA && (!a.rounds() || kern.packsRounded)) {
        kern.packA(a, i0, mc, pc, kc, dst, toFloat, scratch);
      } else if (pairs) {
        packABf16(a, i0, mc, pc, kc, mr, reinterpret_cast<uint16_t*>(dst));
      } else {
        packAF32(a, i0, mc, pc, kc, mr, reinterpret_cast<float*>(dst), toFloat, scratch);
      }
    };
    // Row panels [rs, re) x column panels [q0, q1) of the k slice at pc against its packed B
    // slice: pack those rows of A into packedA (unless `aPacked`: packedA already holds them), run
    // the microkernel over the (B panel, A panel) pairs, and on the last slice round a rounded
    // output's finished block in place while it is in cache.
    const auto computeBlock = [&](int64_t rs, int64_t re, int64_t q0, int64_t q1, int64_t pc, const char* packedB, char* packedA,
                                  bool aPacked) {
      const int64_t kc = std::min(kern.kc, k - pc);
      const bool lastSlice = pc + kc >= k;
      const int64_t bPanel = nr * paddedK(kc), aPanel = mr * paddedK(kc);  // elements per panel
      const int64_t i0 = rs * mr, mc = std::min(re * mr, m) - i0;
      if (!aPacked) packARows(i0, mc, pc, packedA);
      for (int64_t q = q0; q < q1; ++q) {
        const int64_t j = jc + q * nr;
        const int nrHere = int(std::min<int64_t>(nr, jc + nc - j));
        const char* bp = packedB + size_t(q * bPanel) * elemBytes;
        for (int64_t p = 0; p < re - rs; ++p) {
          const int64_t i = i0 + p * mr;
          TileOut t{c ? c + i * n + j : nullptr, n, nullptr, n, pc > 0 || out.accumulate, out.outType == DType::BFloat16};
          if (out.out16 && lastSlice) t.out = out.out16 + i * n + j;
          if (lastSlice && kern.roundsTile) t.rounding = out.rounding;
          kern.run(kc, packedA + size_t(p * aPanel) * elemBytes, bp, t, int(std::min<int64_t>(mr, m - i)), nrHere);
        }
      }
      if (lastSlice && out.rounding != DType::Float32 && !kern.roundsTile) {
        const int64_t j0 = jc + q0 * nr, cols = std::min(jc + q1 * nr, jc + nc) - j0;
        for (int64_t i = i0; i < i0 + mc; ++i) roundThrough(out.rounding, c + i * n + j0, c + i * n + j0, cols);
      }
    };
    const size_t aBytes = size_t(mcPanels * mr * kcStride) * elemBytes;
    if (sliceInner) {
      // Every k slice of A and B is packed first, so work units need not pack and can be blocks
      // of rows x columns: with a few hundred rows, units of row panels alone each streamed all of
      // packed B (4 MB at W1's [256, 1024] x [1024, 1024]) for a few panels of A, and two threads
      // reached 59% of peak there against 76% for one. Units are now as square as the product
      // allows (A rows + B columns read per unit is least for square blocks), two per thread:
      // interleaved runs at W1's shapes gave 73% of peak with two, 72% with four and 61% with
      // eight per thread (fewer, larger blocks reuse each packed panel more).
      const int64_t aSliceElements = rowPanels * mr * kcStride;
      char* packedB = static_cast<char*>(packedBBuffer.get(size_t(slices * (sliceElements + aSliceElements)) * elemBytes));
      char* packedAll = packedB + size_t(slices * sliceElements) * elemBytes;
      for (int64_t s = 0; s < slices; ++s) {
        const int64_t pc = s * kern.kc, aPanel = mr * paddedK(std::min(kern.kc, k - pc));
        packBSlice(pc, packedB + size_t(s * sliceElements) * elemBytes);
        char* dst = packedAll + size_t(s * aSliceElements) * elemBytes;
        parallelFor(rowPanels, inlineOnly ? rowPanels : 4, [&](int64_t p0, int64_t p1) {
          packARows(p0 * mr, std::min(p1 * mr, m) - p0 * mr, pc, dst + size_t(p0 * aPanel) * elemBytes);
        });
      }
      const int64_t wanted = 2 * threads;
      const double side = std::sqrt(double(rowPanels * mr) * double(colPanels * nr) / double(wanted));
      const int64_t rowUnits = std::clamp<int64_t>(std::llround(double(rowPanels * mr) / side), 1, rowPanels);
      const int64_t unitRows = (rowPanels + rowUnits - 1) / rowUnits;
      const int64_t colUnits = std::min<int64_t>(colPanels, (wanted + rowUnits - 1) / rowUnits);
      std::atomic<int64_t> nextUnit{0};
      parallelFor(threads, 1, [&](int64_t, int64_t) {
        for (int64_t u = nextUnit++; u < rowUnits * colUnits; u = nextUnit++) {
          const int64_t rs = (u % rowUnits) * unitRows, re = std::min(rowPanels, rs + unitRows);
          const int64_t g = u / rowUnits, q0 = colPanels * g / colUnits, q1 = colPanels * (g + 1) / colUnits;
          for (int64_t s = 0; s < slices; ++s) {
            const int64_t pc = s * kern.kc, aPanel = mr * paddedK(std::min(kern.kc, k - pc));
            char* aRows = packedAll + size_t(s * aSliceElements + rs * aPanel) * elemBytes;
            computeBlock(rs, re, q0, q1, pc, packedB + size_t(s * sliceElements) * elemBytes, aRows, true);
          }
        }
      });
      continue;
    }
    const int64_t units = colGroups * rowBlocks;
    // Wide products split B's columns between the threads, each keeping the panels it packed
    // (interleaved runs, AMX class, float32: 2048^3 394 -> 428 GFLOP/s, 1024^3 395 -> 414; with
    // fewer than 16 column panels per thread, shared row blocks did better: n = 784 376 against
    // 356, n = 128 280 against 218).
    const bool homeColumns = threads > 1 && colPanels >= 16 * threads;
    const int64_t homeBlocks = (rowPanels + mcPanels - 1) / mcPanels;
    std::vector<std::atomic<int64_t>> nextBlock(static_cast<size_t>(homeColumns ? threads : 0));
    const auto unitRange = [&](int64_t u, int64_t& rs, int64_t& re, int64_t& q0, int64_t& q1) {
      const int64_t g = u / rowBlocks;
      rs = (u % rowBlocks) * blockPanels;
      re = std::min(rowPanels, rs + blockPanels);
      q0 = colPanels * g / colGroups;
      q1 = colPanels * (g + 1) / colGroups;
    };
    for (int64_t pc = 0; pc < k; pc += kern.kc) {
      char* packedB = static_cast<char*>(packedBBuffer.get(size_t(sliceElements) * elemBytes));
      packBSlice(pc, packedB);
      if (homeColumns) {
        // Chunk t of the pool packed B's column panels [colPanels * t / threads, colPanels * (t +
        // 1) / threads) just now (packBSlice splits them the same way), so it takes the row blocks
        // of those columns first, its B panels still in its own L2; a chunk done early takes row
        // blocks of the others' columns.
        for (auto& b : nextBlock) b.store(0);
        parallelFor(threads, 1, [&](int64_t t0, int64_t t1) {
          char* packedA = static_cast<char*>(packedABuffer.get(aBytes));
          for (int64_t t = t0; t < t1; ++t) {
            for (int64_t h = 0; h < threads; ++h) {
              const int64_t g = (t + h) % threads, q0 = colPanels * g / threads, q1 = colPanels * (g + 1) / threads;
              for (int64_t r = nextBlock[size_t(g)]++; r < homeBlocks; r = nextBlock[size_t(g)]++) {
                computeBlock(r * mcPanels, std::min(rowPanels, (r + 1) * mcPanels), q0, q1, pc, packedB, packedA, false);
              }
            }
          }
        });
        continue;
      }
      std::atomic<int64_t> nextUnit{0};
      parallelFor(threads, 1, [&](int64_t, int64_t) {
        char* packedA = static_cast<char*>(packedABuffer.get(aBytes));
        for (int64_t u = nextUnit++; u < units; u = nextUnit++) {
          int64_t rs, re, q0, q1;
          unitRange(u, rs, re, q0, q1);
          computeBlock(rs, re, q0, q1, pc, packedB, packedA, false);
        }
      });
    }
  }
}

}  // namespace mp::cpu::gemm
