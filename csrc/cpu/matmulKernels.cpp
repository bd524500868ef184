#include "matmulKernels.h"
#include "cpuKernels.h"

#include <algorithm>
#include <type_traits>
#include <vector>

#include "../core/binaryMath.h"
#include "../core/elementTypes.h"
#include "../core/threadPool.h"
#include "castKernels.h"
#include "castSimd.h"
#include "cpuFeatures.h"
#include "gemm/gemm.h"

namespace mp::cpu {
namespace {

// One stored element as Acc: Tag's storage, or (cast fusion) a float32 rounded to Tag first.
template <class Tag, class Acc>
Acc loadElement(const void* p, int64_t at, bool float32) {
  if constexpr (std::is_same_v<typename Tag::Storage, uint16_t>) {
    if (float32) return Acc(Tag::load(Tag::store(static_cast<const float*>(p)[at])));
  }
  return Acc(Tag::load(static_cast<const typename Tag::Storage*>(p)[at]));
}

// The reference (and the path for float64, int32, bool, the scalar SIMD level, tiny products
// and float32 row-vector products): B packed once in the accumulation type, rows of C
// accumulated in k order. Cast-fused operands and outputs (MatmulShape) round through Tag.
template <class Tag>
void matmulTyped(const void* a, const void* b, void* out, const MatmulShape& s) {
  using S = typename Tag::Storage;
  using Acc = OpMath<Tag>;
  int64_t batches = 1;
  for (int d = 0; d < s.batch.ndim; ++d) batches *= s.batch.shape[d];
  std::vector<Acc> packedB(size_t(s.k * s.n));
  for (int64_t bi = 0; bi < batches; ++bi) {
    int64_t offA = 0, offB = 0;
    broadcastOffsets(s.batch, bi, offA, offB);
    // B row-major in the accumulation type: the inner loop below runs over contiguous columns.
    for (int64_t kk = 0; kk < s.k; ++kk) {
      for (int64_t j = 0; j < s.n; ++j) {
        packedB[size_t(kk * s.n + j)] = loadElement<Tag, Acc>(b, offB + kk * s.b.rowStride + j * s.b.colStride, s.bFloat32);
      }
    }
    const int64_t outBase = bi * s.m * s.n;
    const int64_t rowWork = std::max<int64_t>(s.n * s.k, 1);
    parallelFor(s.m, rowWork >= (1 << 15) ? 1 : (1 << 15) / rowWork, [&](int64_t begin, int64_t end) {
      std::vector<Acc> row(size_t(s.n));
      for (int64_t i = begin; i < end; ++i) {
        std::fill(row.begin(), row.end(), Acc(0));
        for (int64_t kk = 0; kk < s.k; ++kk) {
          const Acc x = loadElement<Tag, Acc>(a, offA + i * s.a.rowStride + kk * s.a.colStride, s.aFloat32);
          const Acc* brow = packedB.data() + kk * s.n;
          for (int64_t j = 0; j < s.n; ++j) row[size_t(j)] += x * brow[j];
        }
        for (int64_t j = 0; j < s.n; ++j) {
          const S v = Tag::store(typename Tag::Compute(row[size_t(j)]));
          if constexpr (std::is_same_v<S, uint16_t>) {
            if (s.outFloat32) {
              static_cast<float*>(out)[outBase + i * s.n + j] = float(Tag::load(v));
              continue;
            }
          }
          static_cast<S*>(out)[outBase + i * s.n + j] = v;
        }
      }
    });
  }
}

// The packed GEMM for this dtype at the active SIMD level, or null for the reference path.
const gemm::Kernel* pickKernel(DType dtype, SimdLevel level, gemm::ToFloat& toFloat) {
  const bool avx512 = level >= SimdLevel::Avx512;
  if (level < SimdLevel::F16c) return nullptr;
  switch (dtype) {
    case DType::Float32:
      toFloat = nullptr;
      break;
    case DType::Float16:
      if (level >= SimdLevel::Amx) return &gemm::f16AmxKernel();
      toFloat = avx512 ? simd::halfToFloatAvx512 : simd::halfToFloatF16c;
      break;
    case DType::BFloat16:
      if (level >= SimdLevel::Amx) return &gemm::bf16AmxKernel();
      if (level >= SimdLevel::Avx512Bf16) return &gemm::bf16Avx512Kernel();
      toFloat = avx512 ? simd::bf16ToFloatAvx512 : simd::bf16ToFloatAvx2;
      break;
    default:
      return nullptr;
  }
  return avx512 ? &gemm::f32Avx512Kernel() : &gemm::f32Avx2Kernel();
}

// Below this many multiply-adds packing costs more than it saves.
constexpr int64_t kTinyWork = 512;

// Multiply-adds per product below which a batch of at least as many products as threads runs
// one product per thread.
constexpr int64_t kBatchSplitWork = int64_t(1) << 24;

// A cast-fused float32 operand (rows x cols) narrowed to its 16-bit type into `buffer`, with the
// same strides: the whole span its elements cover is narrowed (the binding checked that span).
gemm::Operand narrowed(const gemm::Operand& x, int64_t rows, int64_t cols, std::vector<uint16_t>& buffer) {
  const int64_t span = matrixSpan(rows, cols, MatrixLayout{x.rowStride, x.colStride});
  buffer.resize(size_t(span));
  narrowFromFloat(static_cast<const float*>(x.data), x.rounding, buffer.data(), span);
  return gemm::Operand{buffer.data(), x.rounding, x.rowStride, x.colStride};
}

}  // namespace

void matmulReference(DType dtype, const void* a, const void* b, void* out, const MatmulShape& shape) {
  MP_DISPATCH_DTYPE(dtype, matmulTyped<Tag>(a, b, out, shape));
}

// float32 and the 16-bit types run the packed, cache-blocked GEMM of the active SIMD level
// (csrc/cpu/gemm/): float16, and bfloat16 below avx512bf16, is converted to float32 once per
// element while packing; with avx512bf16, bfloat16 is packed as is in k pairs for VDPBF16PS, and
// with amx into AMX tiles (float16 too, split exactly into bfloat16 pieces). The
// other dtypes, the scalar level, tiny products and float32 row-vector products run
// matmulReference.
void matmul(DType dtype, const void* a, const void* b, void* out, const MatmulShape& s) {
  gemm::ToFloat toFloat = nullptr;
  const gemm::Kernel* kernel = pickKernel(dtype, activeSimdLevel(), toFloat);
  // A float32 row vector times a matrix is bound by reading B once, which the reference does
  // without the copy into panels.
  const bool vectorTimesMatrix = dtype == DType::Float32 && s.m == 1;
  if (!kernel || s.k == 0 || s.m * s.n * s.k <= kTinyWork || vectorTimesMatrix) {
    matmulReference(dtype, a, b, out, s);
    return;
  }
  const size_t elemBytes = dtype == DType::Float32 ? 4 : 2;
  const size_t aBytes = s.aFloat32 ? 4 : elemBytes, bBytes = s.bFloat32 ? 4 : elemBytes;
  const size_t outBytes = s.outFloat32 ? 4 : elemBytes;
  // The k-pair kernel packs 16-bit data as it is stored, so a cast-fused operand is narrowed
  // first, per product, into a thread's buffer (the float32-packing kernels and AMX's round as
  // they pack).
  const bool narrowFirst = kernel->packing != gemm::Packing::F32 && !kernel->packsRounded;
  int64_t batches = 1;
  for (int d = 0; d < s.batch.ndim; ++d) batches *= s.batch.shape[d];
  // 16-bit outputs accumulate in float32 and round once per tile (round-to-nearest-even,
  // bit-identical to Tag::store) as the GEMM stores its last k slice.
  const auto product = [&](int64_t bi) {
    int64_t offA = 0, offB = 0;
    broadcastOffsets(s.batch, bi, offA, offB);
    gemm::Operand A{static_cast<const char*>(a) + offA * aBytes, s.aFloat32 ? DType::Float32 : dtype, s.a.rowStride, s.a.colStride,
                    s.aFloat32 ? dtype : DType::Float32};
    gemm::Operand B{static_cast<const char*>(b) + offB * bBytes, s.bFloat32 ? DType::Float32 : dtype, s.b.rowStride, s.b.colStride,
                    s.bFloat32 ? dtype : DType::Float32};
    thread_local std::vector<uint16_t> narrowedA, narrowedB;
    if (narrowFirst && A.rounds()) A = narrowed(A, s.m, s.k, narrowedA);
    if (narrowFirst && B.rounds()) B = narrowed(B, s.k, s.n, narrowedB);
    char* C = static_cast<char*>(out) + size_t(bi * s.m * s.n) * outBytes;
    gemm::Output o{reinterpret_cast<float*>(C), nullptr, DType::Float32};
    if (dtype != DType::Float32) {
      if (s.outFloat32) o.rounding = dtype;
      else o = gemm::Output{nullptr, reinterpret_cast<uint16_t*>(C), dtype};
    }
    gemm::run(*kernel, toFloat, A, B, o, s.m, s.n, s.k);
  };
  // Many small products (attention's [B*H, T, d] GEMMs, convolution's per-image ones) go one per
  // thread: splitting each over the pool costs two wake-ups and a B pack per k slice for little
  // work. Inside a pool task gemm::run runs on its own thread (a nested parallelFor runs inline),
  // and a product's result does not depend on how many threads computed it.
  const int threads = numThreads();
  const bool perThread = threads > 1 && batches >= threads && (batches >= 4 * threads || s.m * s.n * s.k < kBatchSplitWork);
  if (perThread) {
    parallelFor(batches, 1, [&](int64_t begin, int64_t end) {
      for (int64_t bi = begin; bi < end; ++bi) product(bi);
    });
    return;
  }
  for (int64_t bi = 0; bi < batches; ++bi) product(bi);
}

namespace {

// The sums in k order, in Acc: the scalar level's float32 path and float64's.
template <class Acc>
void gemmLoops(DType dtype, const void* a, MatrixLayout la, const void* b, MatrixLayout lb, Acc* c, int64_t m, int64_t n,
               int64_t k, bool accumulate) {
  const auto load = [dtype](const void* p, int64_t at) -> Acc {
    switch (dtype) {
      case DType::Float16: return Acc(F16Tag::load(static_cast<const uint16_t*>(p)[at]));
      case DType::BFloat16: return Acc(BF16Tag::load(static_cast<const uint16_t*>(p)[at]));
      case DType::Float64: return Acc(static_cast<const double*>(p)[at]);
      default: return Acc(static_cast<const float*>(p)[at]);
    }
  };
  parallelFor(m, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      Acc* row = c + i * n;
      if (!accumulate) std::fill(row, row + n, Acc(0));
      for (int64_t kk = 0; kk < k; ++kk) {
        const Acc x = load(a, i * la.rowStride + kk * la.colStride);
        for (int64_t j = 0; j < n; ++j) row[j] += x * load(b, kk * lb.rowStride + j * lb.colStride);
      }
    }
  });
}

}  // namespace

void gemmToOpMath(DType dtype, const void* a, MatrixLayout la, const void* b, MatrixLayout lb, void* c, int64_t m,
                  int64_t n, int64_t k, bool accumulate) {
  if (dtype == DType::Float64) {
    gemmLoops(dtype, a, la, b, lb, static_cast<double*>(c), m, n, k, accumulate);
    return;
  }
  gemm::ToFloat toFloat = nullptr;
  const gemm::Kernel* kernel = pickKernel(dtype, activeSimdLevel(), toFloat);
  if (kernel && k > 0) {
    gemm::run(*kernel, toFloat, gemm::Operand{a, dtype, la.rowStride, la.colStride},
              gemm::Operand{b, dtype, lb.rowStride, lb.colStride},
              gemm::Output{static_cast<float*>(c), nullptr, DType::Float32, accumulate}, m, n, k);
    return;
  }
  gemmLoops(dtype, a, la, b, lb, static_cast<float*>(c), m, n, k, accumulate);
}

namespace {

// The packed kernel products of `dtype` run on at the active SIMD level (null: the reference loops).
const gemm::Kernel* activeKernel(DType dtype) {
  gemm::ToFloat toFloat = nullptr;
  return pickKernel(dtype, activeSimdLevel(), toFloat);
}

}  // namespace

GemmTile gemmTile(DType dtype) {
  const gemm::Kernel* kernel = activeKernel(dtype);
  return kernel ? GemmTile{kernel->mr, kernel->nr} : GemmTile{1, 1};
}

bool gemmOnBf16Tiles(DType dtype) {
  const gemm::Kernel* kernel = activeKernel(dtype);
  return kernel && kernel->packing == gemm::Packing::AmxBf16;
}

}  // namespace mp::cpu
