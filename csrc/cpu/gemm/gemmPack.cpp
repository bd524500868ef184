#include "gemmPack.h"

#include <algorithm>
#include <cstring>

#include "../../core/elementTypes.h"
#include "../castKernels.h"

namespace mp::cpu::gemm {
namespace {

float loadFloat(const Operand& x, int64_t offset) {
  switch (x.dtype) {
    case DType::Float16: return halfBitsToFloat(static_cast<const uint16_t*>(x.data)[offset]);
    case DType::BFloat16: return bf16BitsToFloat(static_cast<const uint16_t*>(x.data)[offset]);
    default: break;
  }
  const float v = static_cast<const float*>(x.data)[offset];
  switch (x.rounding) {
    case DType::Float16: return halfBitsToFloat(floatToHalfBits(v));
    case DType::BFloat16: return bf16BitsToFloat(floatToBf16Bits(v));
    default: return v;
  }
}

}  // namespace

// n contiguous elements from element `offset` as float32: the operand itself when it is float32,
// else converted (or, for a rounded operand, rounded) into scratch.
const float* floatRun(const Operand& x, int64_t offset, int64_t n, ToFloat toFloat, float* scratch) {
  if (x.dtype == DType::Float32) {
    const float* src = static_cast<const float*>(x.data) + offset;
    if (!x.rounds()) return src;
    roundThrough(x.rounding, src, scratch, n);
    return scratch;
  }
  toFloat(static_cast<const uint16_t*>(x.data) + offset, scratch, n);
  return scratch;
}

void packAF32(const Operand& a, int64_t i0, int64_t mc, int64_t p0, int64_t kc, int mr, float* dst, ToFloat toFloat,
              float* scratch) {
  const int64_t panels = (mc + mr - 1) / mr;
  // Padding rows first: the loops below only write real rows.
  if (mc % mr) {
    float* d = dst + (panels - 1) * mr * kc;
    for (int64_t k = 0; k < kc; ++k) std::fill(d + k * mr + mc % mr, d + (k + 1) * mr, 0.0f);
  }
  if (a.colStride == 1) {
    // k contiguous (row-major A): convert a row, scatter it down its panel column.
    for (int64_t i = 0; i < mc; ++i) {
      const float* run = floatRun(a, (i0 + i) * a.rowStride + p0, kc, toFloat, scratch);
      float* d = dst + (i / mr) * mr * kc + i % mr;
      for (int64_t k = 0; k < kc; ++k) d[k * mr] = run[k];
    }
  } else if (a.rowStride == 1) {
    // m contiguous (transposed A): each k is a contiguous run of rows, copied mr at a time.
    for (int64_t k = 0; k < kc; ++k) {
      const float* run = floatRun(a, (p0 + k) * a.colStride + i0, mc, toFloat, scratch);
      for (int64_t p = 0; p < panels; ++p) {
        const int64_t rows = std::min<int64_t>(mr, mc - p * mr);
        std::memcpy(dst + p * mr * kc + k * mr, run + p * mr, size_t(rows) * sizeof(float));
      }
    }
  } else {
    for (int64_t i = 0; i < mc; ++i) {
      float* d = dst + (i / mr) * mr * kc + i % mr;
      for (int64_t k = 0; k < kc; ++k) d[k * mr] = loadFloat(a, (i0 + i) * a.rowStride + (p0 + k) * a.colStride);
    }
  }
}

void packBF32(const Operand& b, int64_t p0, int64_t kc, int64_t j0, int64_t nc, int nr, float* dst, ToFloat toFloat,
              float* scratch) {
  const int64_t panels = (nc + nr - 1) / nr;
  if (nc % nr) {
    float* d = dst + (panels - 1) * nr * kc;
    for (int64_t k = 0; k < kc; ++k) std::fill(d + k * nr + nc % nr, d + (k + 1) * nr, 0.0f);
  }
  if (b.colStride == 1 && b.dtype == DType::Float32 && b.rounds()) {
    // A cast-fused row-major B: each k row rounded straight into its panels, nr at a time.
    const RoundFn round = roundThroughKernel(b.rounding);
    for (int64_t k = 0; k < kc; ++k) {
      const float* row = static_cast<const float*>(b.data) + (p0 + k) * b.rowStride + j0;
      for (int64_t q = 0; q < panels; ++q) round(row + q * nr, dst + q * nr * kc + k * nr, std::min<int64_t>(nr, nc - q * nr));
    }
  } else if (b.colStride == 1) {
    // n contiguous (row-major B): each k row is copied nr at a time.
    for (int64_t k = 0; k < kc; ++k) {
      const float* run = floatRun(b, (p0 + k) * b.rowStride + j0, nc, toFloat, scratch);
      for (int64_t q = 0; q < panels; ++q) {
        const int64_t cols = std::min<int64_t>(nr, nc - q * nr);
        std::memcpy(dst + q * nr * kc + k * nr, run + q * nr, size_t(cols) * sizeof(float));
      }
    }
  } else if (b.rowStride == 1) {
    // k contiguous (transposed B, e.g. a Linear weight): convert a column, scatter it.
    for (int64_t j = 0; j < nc; ++j) {
      const float* run = floatRun(b, (j0 + j) * b.colStride + p0, kc, toFloat, scratch);
      float* d = dst + (j / nr) * nr * kc + j % nr;
      for (int64_t k = 0; k < kc; ++k) d[k * nr] = run[k];
    }
  } else {
    for (int64_t j = 0; j < nc; ++j) {
      float* d = dst + (j / nr) * nr * kc + j % nr;
      for (int64_t k = 0; k < kc; ++k) d[k * nr] = loadFloat(b, (p0 + k) * b.rowStride + (j0 + j) * b.colStride);
    }
  }
}

void packABf16(const Operand& a, int64_t i0, int64_t mc, int64_t p0, int64_t kc, int mr, uint16_t* dst) {
  const auto* src = static_cast<const uint16_t*>(a.data);
  const int64_t kp = (kc + 1) / 2, panels = (mc + mr - 1) / mr;
  const int64_t panelSize = int64_t(mr) * kp * 2;
  // Zero the padding: rows past mc, and the odd k's partner in the last pair.
  if (mc % mr) {
    uint16_t* d = dst + (panels - 1) * panelSize;
    for (int64_t q = 0; q < kp; ++q) std::fill(d + (q * mr + mc % mr) * 2, d + (q + 1) * mr * 2, uint16_t(0));
  }
  if (a.colStride != 1 && a.rowStride == 1) {
    // m contiguous (transposed A, e.g. dY^T in a weight gradient): k pairs outermost, so the two
    // source rows of a pair are read in order instead of one element per row at a large stride.
    for (int64_t q = 0; q < kp; ++q) {
      const uint16_t* r0 = src + i0 + (p0 + 2 * q) * a.colStride;
      const uint16_t* r1 = 2 * q + 1 < kc ? r0 + a.colStride : nullptr;
      for (int64_t p = 0; p < panels; ++p) {
        const int64_t rows = std::min<int64_t>(mr, mc - p * mr);
        uint16_t* d = dst + p * panelSize + q * mr * 2;
        const uint16_t* s0 = r0 + p * mr;
        if (r1) {
          const uint16_t* s1 = r1 + p * mr;
          for (int64_t r = 0; r < rows; ++r) {
            d[2 * r] = s0[r];
            d[2 * r + 1] = s1[r];
          }
        } else {
          for (int64_t r = 0; r < rows; ++r) {
            d[2 * r] = s0[r];
            d[2 * r + 1] = 0;
          }
        }
      }
    }
    return;
  }
  for (int64_t i = 0; i < mc; ++i) {
    uint16_t* d = dst + (i / mr) * panelSize + (i % mr) * 2;
    const uint16_t* row = src + (i0 + i) * a.rowStride + p0 * a.colStride;
    if (a.colStride == 1) {
      // The pair (k, k + 1) is already adjacent in a row-major A: one 32-bit copy.
      for (int64_t q = 0; q < kc / 2; ++q) std::memcpy(d + q * mr * 2, row + 2 * q, 4);
    } else {
      for (int64_t q = 0; q < kc / 2; ++q) {
        d[q * mr * 2] = row[2 * q * a.colStride];
        d[q * mr * 2 + 1] = row[(2 * q + 1) * a.colStride];
      }
    }
    if (kc % 2) {
      d[(kp - 1) * mr * 2] = row[(kc - 1) * a.colStride];
      d[(kp - 1) * mr * 2 + 1] = 0;
    }
  }
}

void packBBf16(const Operand& b, int64_t p0, int64_t kc, int64_t j0, int64_t nc, int nr, uint16_t* dst) {
  const auto* src = static_cast<const uint16_t*>(b.data);
  const int64_t kp = (kc + 1) / 2, panels = (nc + nr - 1) / nr;
  const int64_t panelSize = int64_t(nr) * kp * 2;
  if (nc % nr) {
    uint16_t* d = dst + (panels - 1) * panelSize;
    for (int64_t q = 0; q < kp; ++q) std::fill(d + (q * nr + nc % nr) * 2, d + (q + 1) * nr * 2, uint16_t(0));
  }
  for (int64_t j = 0; j < nc; ++j) {
    uint16_t* d = dst + (j / nr) * panelSize + (j % nr) * 2;
    const uint16_t* col = src + p0 * b.rowStride + (j0 + j) * b.colStride;
    if (b.rowStride == 1) {
      // k contiguous (transposed B): the pair is one 32-bit copy.
      for (int64_t q = 0; q < kc / 2; ++q) std::memcpy(d + q * nr * 2, col + 2 * q, 4);
    } else {
      for (int64_t q = 0; q < kc / 2; ++q) {
        d[q * nr * 2] = col[2 * q * b.rowStride];
        d[q * nr * 2 + 1] = col[(2 * q + 1) * b.rowStride];
      }
    }
    if (kc % 2) {
      d[(kp - 1) * nr * 2] = col[(kc - 1) * b.rowStride];
      d[(kp - 1) * nr * 2 + 1] = 0;
    }
  }
}

}  // namespace mp::cpu::gemm
