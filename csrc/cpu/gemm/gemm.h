// The packed, cache-blocked GEMM shared by the SIMD microkernels (Goto/BLIS structure, see
// docs/architecture.md and shared/reference/performance.md §4.3). Plain declarations only: this
// header is included by the files compiled with target attributes, so it must not pull in
// templates those files would instantiate with AVX-512 code (inline functions are merged across
// files by the linker, and a baseline caller could end up running the AVX-512 copy).
#pragma once
#include <cstdint>

#include "../../core/dtype.h"

namespace mp::cpu::gemm {

// One matrix operand: element (r, c) is at data + r * rowStride + c * colStride (in elements of
// dtype), so a transposed view is just swapped strides and packing handles it.
// `rounding` (float16 / bfloat16) makes a float32 operand read as if cast to that type first:
// each element is rounded to it and widened back as it is packed (cast fusion).
struct Operand {
  const void* data = nullptr;
  DType dtype = DType::Float32;
  int64_t rowStride = 0;
  int64_t colStride = 0;
  DType rounding = DType::Float32;
  bool rounds() const { return rounding != DType::Float32; }
};

// Converts n 16-bit values (float16 or bfloat16 bits) to float32, at some SIMD level.
using ToFloat = void (*)(const uint16_t* src, float* dst, int64_t n);

// How a kernel wants its operands packed.
enum class Packing {
  // float32 panels: A as [k][MR], B as [k][NR] (16-bit inputs converted while packing).
  F32,
  // bfloat16 k-pair panels for VDPBF16PS: A as [k/2][MR][2], B as [k/2][NR][2] (odd k padded with 0).
  Bf16Pairs,
  // bfloat16 panels for AMX tiles, k padded with zeros to a multiple of 32: A as [MR][k], B as
  // [k/2][NR][2] (gemmAmx.cpp).
  AmxBf16,
  // The same panels of float16 values split exactly into bfloat16 pieces, four per value of k.
  AmxF16Split,
};

// Values of k a packed panel holds for a slice of kc: the k-pair kernel pads an odd kc by one, the
// AMX kernels to whole 32-deep tiles (the float16 one packs four values per k).
inline int64_t packedDepth(Packing packing, int64_t kc) {
  switch (packing) {
    case Packing::Bf16Pairs: return (kc + 1) / 2 * 2;
    case Packing::AmxBf16: return (kc + 31) / 32 * 32;
    case Packing::AmxF16Split: return (4 * kc + 31) / 32 * 32;
    default: return kc;
  }
}

// Where a microkernel puts its mr x nr tile. Every k slice but the last stores (or, with
// `accumulate`, adds) into the float32 accumulator c. For a 16-bit product the last slice instead
// rounds (c + tile) to `out`'s type and stores it there, so no separate cast pass re-reads a
// float32 result from memory.
struct TileOut {
  float* c;
  int64_t ldc;
  uint16_t* out;  // null: the tile stays float32 in c
  int64_t ldo;
  bool accumulate;
  bool outBf16;  // out's type: bfloat16, else float16
  // float16 / bfloat16: a float32 tile (out null) is rounded to that type and stored widened
  // (Output::rounding), by kernels with Kernel::roundsTile; Float32: stored as computed.
  DType rounding = DType::Float32;
};

// tile = A panel · B panel over kc values of k, written as `t` says. Panels are always full
// (MR x kc, kc x NR, zero padded); mr/nr only clip the store.
using MicroKernel = void (*)(int64_t kc, const void* a, const void* b, const TileOut& t, int mr, int nr);

// A kernel's own packers (null: the generic packers in gemmPack.h, which cover every layout):
// rows [i0, i0 + mc) x k [p0, p0 + kc) of A into MR-row panels; k [p0, p0 + kc) x columns
// [j0, j0 + nc) of B into NR-wide panels.
using PackA = void (*)(const Operand& a, int64_t i0, int64_t mc, int64_t p0, int64_t kc, void* dst, ToFloat toFloat,
                       float* scratch);
using PackB = void (*)(const Operand& b, int64_t p0, int64_t kc, int64_t j0, int64_t nc, void* dst, ToFloat toFloat,
                       float* scratch);

struct Kernel {
  const char* name;
  int mr, nr;          // register tile
  // Cache blocks: mc x kc of A in L2, kc x nc of B in L2/L3; a kc x NR micro-panel of B stays in L1
  // where kc is small (AVX2), or streams from L2 where fewer passes over C matter more (AVX-512, AMX).
  int64_t kc, mc, nc;
  Packing packing;
  MicroKernel run;
  PackA packA;
  PackB packB;
  // packA / packB handle rounded operands (else they take the generic packers; a kernel packing
  // 16-bit panels must then be given operands narrowed first).
  bool packsRounded = false;
  bool roundsTile = false;   // run honours TileOut::rounding (else the driver rounds after the kernel)
};

// The kernels, each defined in its own file compiled for its instruction set. Call only when
// activeSimdLevel() allows it.
const Kernel& f32Avx512Kernel();   // 12 x 32, vfmadd231ps (gemmF32Avx512.cpp)
const Kernel& bf16Avx512Kernel();  // 12 x 32, vdpbf16ps (gemmBf16Avx512.cpp)
const Kernel& f32Avx2Kernel();     // 6 x 16, AVX2 + FMA (gemmAvx2.cpp)
const Kernel& bf16AmxKernel();     // 32 x 32, AMX TDPBF16PS (gemmAmx.cpp)
const Kernel& f16AmxKernel();      // 32 x 32, AMX TDPBF16PS on float16 split into bfloat16 pieces
// Loads the AMX tile configuration the kernel uses (eight 16 x 64-byte tiles) on the calling
// thread, once per thread.
void configureAmxTiles();

// The product's destination, row-major m x n with row stride n: float32 `c`, or, when out16 is
// set, float16/bfloat16 (outType) `out16`.
struct Output {
  float* c;
  uint16_t* out16;
  DType outType;
  // float32 only (out16 null): add the product to c instead of overwriting it.
  bool accumulate = false;
  // float32 only, not with accumulate: float16 / bfloat16 to store c rounded to that type and
  // widened back (the product of a 16-bit GEMM whose result is cast to float32).
  DType rounding = DType::Float32;
};

// Output = A (m x k) @ B (k x n) with `kernel`; toFloat converts 16-bit operands when the kernel
// packs float32. Rounded operands need a kernel that packs them (float32 packing or
// Kernel::packsRounded; the caller narrows them for the k-pair kernel). Threads split m and n, never k, so the result does not depend on the thread
// count. A 16-bit output of more than one k slice accumulates in a float32 buffer that each
// thread keeps for its next call (up to 16 MiB).
void run(const Kernel& kernel, ToFloat toFloat, const Operand& a, const Operand& b, const Output& out, int64_t m,
         int64_t n, int64_t k);

}  // namespace mp::cpu::gemm
