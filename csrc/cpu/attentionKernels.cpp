// Fused scaled dot-product attention on the CPU, FlashAttention-2 style. The forward walks each
// (batch, block of 64 query rows) over blocks of 64 keys, keeping the running row maximum and sum
// (online softmax) and the output accumulator in float32 (float64 for float64 inputs), so the
// L x S score matrix never exists: it saves the output and each row's logsumexp. The backward
// recomputes each score tile from the logsumexp, with D = rowsum(dO * O) and dS = P * (dP - D).
// Scratch is O((L + S) * E) per running task, never O(L * S). 16-bit inputs are widened as tiles
// are loaded and results rounded once when stored. The tile products run on the AVX2+FMA
// micro-kernel (or its AVX-512 twin, bit-identical) when the active SIMD level has it, on the
// portable loops otherwise (the scalar level: the reference the tests compare against).
#include "cpuKernels.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "../core/attentionMath.h"
#include "../core/elementTypes.h"
#include "../core/errors.h"
#include "../core/threadPool.h"
#include "attentionSimd.h"
#include "castKernels.h"
#include "cpuFeatures.h"

namespace mp::cpu {
namespace {

constexpr int kBlockRows = 64;  // query rows per tile
constexpr int kBlockCols = 64;  // keys per tile (a multiple of 8: the width the tile products take)

int64_t roundUp8(int64_t n) { return (n + 7) / 8 * 8; }

// The tile operations of one compute type: c (+)= a . b with b and c `n` (a multiple of 8)
// columns wide and a(r, p) at a[r * ars + p * acs] (row-major: ars = lda, acs = 1; transposed:
// ars = 1, acs = lda), and x = exp(x - shift) over n elements returning the sum.
template <class C>
struct TileOps {
  void (*gemm)(const C* a, int64_t ars, int64_t acs, const C* b, int64_t ldb, C* c, int64_t ldc, int m, int k, int n,
               bool acc);
  C (*expSum)(C* x, int n, C shift);
};

template <class C>
void gemmPortable(const C* a, int64_t ars, int64_t acs, const C* b, int64_t ldb, C* c, int64_t ldc, int m, int k, int n,
                  bool acc) {
  for (int i = 0; i < m; ++i) {
    C* ci = c + i * ldc;
    if (!acc) std::fill(ci, ci + n, C(0));
    for (int p = 0; p < k; ++p) {
      const C av = a[i * ars + p * acs];
      const C* bp = b + p * ldb;
      for (int j = 0; j < n; ++j) ci[j] += av * bp[j];
    }
  }
}

template <class C>
C expSumPortable(C* x, int n, C shift) {
  C sum = 0;
  for (int j = 0; j < n; ++j) {
    x[j] = std::exp(x[j] - shift);
    sum += x[j];
  }
  return sum;
}

void gemmAvx2(const float* a, int64_t ars, int64_t acs, const float* b, int64_t ldb, float* c, int64_t ldc, int m, int k,
              int n, bool acc) {
  simd::attentionGemmAvx2(a, ars, acs, b, ldb, c, ldc, m, k, n / 8, acc);
}
float expSumAvx2(float* x, int n, float shift) { return simd::attentionExpAvx2(x, n / 8, shift); }
void gemmAvx512(const float* a, int64_t ars, int64_t acs, const float* b, int64_t ldb, float* c, int64_t ldc, int m, int k,
                int n, bool acc) {
  simd::attentionGemmAvx512(a, ars, acs, b, ldb, c, ldc, m, k, n / 8, acc);
}
float expSumAvx512(float* x, int n, float shift) { return simd::attentionExpAvx512(x, n / 8, shift); }

template <class C>
TileOps<C> tileOps() {
  if constexpr (std::is_same_v<C, float>) {
    if (activeSimdLevel() >= SimdLevel::Avx512) return {gemmAvx512, expSumAvx512};
    if (activeSimdLevel() >= SimdLevel::F16c) return {gemmAvx2, expSumAvx2};
  }
  return {gemmPortable<C>, expSumPortable<C>};
}

template <class Tag>
using ComputeOf = std::conditional_t<std::is_same_v<Tag, F64Tag>, double, float>;

// rows x cols of src (row stride `cols`) into dst with row stride ld (zero-padded past cols),
// then zero rows up to padRows.
template <class Tag, class C>
void loadRows(const typename Tag::Storage* src, int64_t rows, int64_t cols, C* dst, int64_t ld, int64_t padRows) {
  for (int64_t r = 0; r < padRows; ++r) {
    C* d = dst + r * ld;
    if (r < rows) {
      loadRow<Tag>(src + r * cols, d, cols);
      std::fill(d + cols, d + ld, C(0));
    } else {
      std::fill(d, d + ld, C(0));
    }
  }
}

// rows x cols of src (row stride `cols`) transposed into dst [padCols][ld], zero-padded. 16-bit
// rows are widened a row at a time into this thread's buffer first.
template <class Tag, class C>
void loadTransposed(const typename Tag::Storage* src, int64_t rows, int64_t cols, C* dst, int64_t ld, int64_t padCols) {
  std::fill(dst, dst + padCols * ld, C(0));
  if constexpr (kWidensToFloat<Tag, C>) {
    thread_local std::vector<float> row;
    row.resize(size_t(cols));
    for (int64_t r = 0; r < rows; ++r) {
      loadRow<Tag>(src + r * cols, row.data(), cols);
      for (int64_t c = 0; c < cols; ++c) dst[c * ld + r] = row[size_t(c)];
    }
  } else {
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t c = 0; c < cols; ++c) dst[c * ld + r] = C(Tag::load(src[r * cols + c]));
    }
  }
}

// The scores of one tile after scale, causality and the mask: -inf where a key takes no part
// (including the padding columns past `cols`).
template <class Tag, class C>
void maskScores(const AttentionShape& s, const void* mask, int64_t b, int64_t i0, int rows, int64_t j0, int cols,
                C* scores) {
  const C scale = C(s.scale);
  const C ninf = -std::numeric_limits<C>::infinity();
  // Most tiles: no mask, and every key visible to every row (below the causal diagonal).
  if (s.mask == AttentionMask::None && (!s.causal || j0 + cols - 1 <= i0)) {
    for (int r = 0; r < rows; ++r) {
      C* row = scores + r * kBlockCols;
      for (int c = 0; c < kBlockCols; ++c) row[c] *= scale;
      for (int c = cols; c < kBlockCols; ++c) row[c] = ninf;
    }
    return;
  }
  for (int r = 0; r < rows; ++r) {
    const int64_t i = i0 + r;
    C* row = scores + r * kBlockCols;
    for (int c = 0; c < kBlockCols; ++c) {
      const int64_t j = j0 + c;
      if (c >= cols || (s.causal && j > i)) {
        row[c] = ninf;
        continue;
      }
      C v = row[c] * scale;
      if (s.mask == AttentionMask::Bool) {
        if (!static_cast<const uint8_t*>(mask)[attentionMaskIndex(s, b, i, j)]) v = ninf;
      } else if (s.mask == AttentionMask::Additive) {
        v += C(Tag::load(static_cast<const typename Tag::Storage*>(mask)[attentionMaskIndex(s, b, i, j)]));
      }
      row[c] = v;
    }
  }
}

// The largest of a tile row's kBlockCols scores, in 8 independent lanes (a serial max is a
// latency chain that cost more than the tile's products). A NaN may be skipped: it still reaches
// the output through exp.
template <class C>
C rowMax(const C* row) {
  C lanes[8];
  for (int l = 0; l < 8; ++l) lanes[l] = row[l];
  for (int c = 8; c < kBlockCols; c += 8) {
    for (int l = 0; l < 8; ++l) lanes[l] = row[c + l] > lanes[l] ? row[c + l] : lanes[l];
  }
  C m = lanes[0];
  for (int l = 1; l < 8; ++l) m = lanes[l] > m ? lanes[l] : m;
  return m;
}

// The factor dropout multiplies weight (b, i, j) by: 0 or 1 / (1 - p).
template <class C>
C dropoutFactor(const AttentionShape& s, int64_t b, int64_t i, int64_t j) {
  return attentionKeeps(s, b, i, j) ? C(1.0 / (1.0 - s.dropoutP)) : C(0);
}

// Keys the query rows [i0, i0 + rows) can see at most: all of them, or j < i0 + rows when causal.
int64_t keyEnd(const AttentionShape& s, int64_t i0, int rows) { return s.causal ? std::min(s.S, i0 + rows) : s.S; }

// One head's keys and values as the tiles read them, converted once per task: K transposed
// [E][S rounded up to the block] and V [S rounded up][Ev rounded up to 8], zero-padded.
template <class Tag>
struct HeadKV {
  using C = ComputeOf<Tag>;
  int64_t ldk, ev8;
  std::vector<C> kt, vf;
  HeadKV(const AttentionShape& s, const typename Tag::Storage* k, const typename Tag::Storage* v, int64_t b,
         int64_t keys)
      : ldk((keys + kBlockCols - 1) / kBlockCols * kBlockCols), ev8(roundUp8(s.Ev)),
        kt(size_t(s.E * ldk)), vf(size_t(ldk * ev8)) {
    loadTransposed<Tag>(k + b * s.S * s.E, keys, s.E, kt.data(), ldk, s.E);
    loadRows<Tag>(v + b * s.S * s.Ev, keys, s.Ev, vf.data(), ev8, ldk);
  }
};

template <class Tag>
void forwardBlock(const AttentionShape& s, const TileOps<ComputeOf<Tag>>& ops, const HeadKV<Tag>& kv,
                  const typename Tag::Storage* q, const void* mask, typename Tag::Storage* out, ComputeOf<Tag>* lse,
                  int64_t b, int64_t i0) {
  using C = ComputeOf<Tag>;
  const int rows = int(std::min<int64_t>(kBlockRows, s.L - i0));
  const int64_t ev8 = kv.ev8;
  std::vector<C> qf(size_t(rows * s.E)), scores(size_t(rows * kBlockCols)), acc(size_t(rows * ev8), C(0));
  std::vector<C> m(size_t(rows), -std::numeric_limits<C>::infinity()), l(size_t(rows), C(0));
  loadRows<Tag>(q + (b * s.L + i0) * s.E, rows, s.E, qf.data(), s.E, rows);
  const bool dropout = s.dropoutP > 0;
  const int64_t end = keyEnd(s, i0, rows);
  for (int64_t j0 = 0; j0 < end; j0 += kBlockCols) {
    const int cols = int(std::min<int64_t>(kBlockCols, end - j0));
    ops.gemm(qf.data(), s.E, 1, kv.kt.data() + j0, kv.ldk, scores.data(), kBlockCols, rows, int(s.E), kBlockCols, false);
    maskScores<Tag>(s, mask, b, i0, rows, j0, cols, scores.data());
    for (int r = 0; r < rows; ++r) {
      C* row = scores.data() + r * kBlockCols;
      const C mNew = std::max(m[r], rowMax(row));
      if (mNew == -std::numeric_limits<C>::infinity()) {  // every key so far masked: nothing to add
        std::fill(row, row + kBlockCols, C(0));
        continue;
      }
      const C alpha = std::exp(m[r] - mNew);
      l[r] = l[r] * alpha + ops.expSum(row, kBlockCols, mNew);
      m[r] = mNew;
      if (alpha != C(1)) {
        C* a = acc.data() + r * ev8;
        for (int64_t c = 0; c < ev8; ++c) a[c] *= alpha;
      }
      if (dropout) {
        for (int c = 0; c < cols; ++c) row[c] = row[c] == C(0) ? C(0) : row[c] * dropoutFactor<C>(s, b, i0 + r, j0 + c);
      }
    }
    ops.gemm(scores.data(), kBlockCols, 1, kv.vf.data() + j0 * ev8, ev8, acc.data(), ev8, rows, kBlockCols, int(ev8),
             true);
  }
  for (int r = 0; r < rows; ++r) {
    // A row whose keys are all masked has l = 0: NaN, as softmax over no keys in the composition.
    const C inv = C(1) / l[r];
    C* a = acc.data() + r * ev8;
    for (int64_t c = 0; c < s.Ev; ++c) a[c] = l[r] == C(0) ? std::numeric_limits<C>::quiet_NaN() : a[c] * inv;
    storeRow<Tag>(a, out + (b * s.L + i0 + r) * s.Ev, s.Ev);
    lse[b * s.L + i0 + r] = m[r] + std::log(l[r]);
  }
}

// Tasks are (batch entry, run of query blocks): each converts its head's K and V once and reuses
// them for its blocks. Runs are short enough to give every thread a few tasks; the split never
// changes a result (each row is computed the same way in any task).
template <class Tag>
void forward(const AttentionShape& s, const void* q, const void* k, const void* v, const void* mask, void* out,
             void* lse) {
  using C = ComputeOf<Tag>;
  using T = typename Tag::Storage;
  const TileOps<C> ops = tileOps<C>();
  const int64_t blocks = (s.L + kBlockRows - 1) / kBlockRows;
  const int64_t runs = std::min<int64_t>(blocks, std::max<int64_t>(1, (4 * numThreads() + s.batch - 1) / s.batch));
  const int64_t perRun = (blocks + runs - 1) / runs;
  parallelFor(s.batch * runs, 1, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t b = t / runs, first = (t % runs) * perRun, last = std::min(blocks, first + perRun);
      if (first >= last) continue;
      const int64_t lastRow = std::min(s.L, last * kBlockRows);
      const HeadKV<Tag> kv(s, static_cast<const T*>(k), static_cast<const T*>(v), b,
                           s.causal ? std::min(s.S, lastRow) : s.S);
      for (int64_t blk = first; blk < last; ++blk) {
        forwardBlock<Tag>(s, ops, kv, static_cast<const T*>(q), mask, static_cast<T*>(out), static_cast<C*>(lse), b,
                          blk * kBlockRows);
      }
    }
  });
}

// One batch entry's gradients: key blocks outer (their dK and dV accumulate in a tile), query
// blocks inner (dQ accumulates over the whole head), so nothing is written twice.
template <class Tag>
void backwardHead(const AttentionShape& s, const TileOps<ComputeOf<Tag>>& ops, const typename Tag::Storage* q,
                  const typename Tag::Storage* k, const typename Tag::Storage* v, const void* mask,
                  const typename Tag::Storage* out, const typename Tag::Storage* gradOut, const ComputeOf<Tag>* lse,
                  typename Tag::Storage* gradQ, typename Tag::Storage* gradK, typename Tag::Storage* gradV, int64_t b) {
  using C = ComputeOf<Tag>;
  const int64_t L = s.L, E = s.E, Ev = s.Ev, e8 = roundUp8(E), ev8 = roundUp8(Ev);
  std::vector<C> qf(size_t(L * e8)), dof(size_t(L * ev8)), dq(size_t(L * e8), C(0)), d(static_cast<size_t>(L), C(0));
  loadRows<Tag>(q + b * L * E, L, E, qf.data(), e8, L);
  loadRows<Tag>(gradOut + b * L * Ev, L, Ev, dof.data(), ev8, L);
  std::vector<C> outRow(static_cast<size_t>(Ev));
  for (int64_t i = 0; i < L; ++i) {
    loadRow<Tag>(out + (b * L + i) * Ev, outRow.data(), Ev);
    C sum = 0;
    for (int64_t c = 0; c < Ev; ++c) sum += dof[size_t(i * ev8 + c)] * outRow[size_t(c)];
    d[size_t(i)] = sum;
  }
  std::vector<C> kt(size_t(E * kBlockCols)), kf(size_t(kBlockCols * e8)), vt(size_t(ev8 * kBlockCols));
  std::vector<C> dk(size_t(kBlockCols * e8)), dv(size_t(kBlockCols * ev8));
  std::vector<C> p(size_t(kBlockRows * kBlockCols)), dp(size_t(kBlockRows * kBlockCols));
  std::vector<C> pz(s.dropoutP > 0 ? size_t(kBlockRows * kBlockCols) : 0);
  const C scale = C(s.scale);
  const bool dropout = s.dropoutP > 0;
  for (int64_t j0 = 0; j0 < s.S; j0 += kBlockCols) {
    const int cols = int(std::min<int64_t>(kBlockCols, s.S - j0));
    loadTransposed<Tag>(k + (b * s.S + j0) * E, cols, E, kt.data(), kBlockCols, E);
    loadRows<Tag>(k + (b * s.S + j0) * E, cols, E, kf.data(), e8, kBlockCols);
    loadTransposed<Tag>(v + (b * s.S + j0) * Ev, cols, Ev, vt.data(), kBlockCols, ev8);
    std::fill(dk.begin(), dk.end(), C(0));
    std::fill(dv.begin(), dv.end(), C(0));
    // Causal: query rows before j0 see none of these keys.
    const int64_t firstBlock = s.causal ? j0 / kBlockRows * kBlockRows : 0;
    for (int64_t i0 = firstBlock; i0 < L; i0 += kBlockRows) {
      const int rows = int(std::min<int64_t>(kBlockRows, L - i0));
      ops.gemm(qf.data() + i0 * e8, e8, 1, kt.data(), kBlockCols, p.data(), kBlockCols, rows, int(E), kBlockCols, false);
      maskScores<Tag>(s, mask, b, i0, rows, j0, cols, p.data());
      for (int r = 0; r < rows; ++r) ops.expSum(p.data() + r * kBlockCols, kBlockCols, lse[b * L + i0 + r]);
      // dP (of the dropped-out weights) = dO . V^T, then dS = P * (dP - D) * scale in its place.
      ops.gemm(dof.data() + i0 * ev8, ev8, 1, vt.data(), kBlockCols, dp.data(), kBlockCols, rows, int(ev8), kBlockCols,
               false);
      for (int r = 0; r < rows; ++r) {
        const int64_t i = i0 + r;
        const C di = d[size_t(i)];
        const C* pr = p.data() + r * kBlockCols;
        C* dr = dp.data() + r * kBlockCols;
        if (dropout) {
          C* zr = pz.data() + r * kBlockCols;
          for (int c = 0; c < kBlockCols; ++c) {
            const C z = c < cols && pr[c] != C(0) ? dropoutFactor<C>(s, b, i, j0 + c) : C(0);
            zr[c] = pr[c] * z;
            dr[c] = pr[c] * (dr[c] * z - di) * scale;
          }
        } else {
          for (int c = 0; c < kBlockCols; ++c) dr[c] = pr[c] * (dr[c] - di) * scale;
        }
      }
      // dV += (P * Z)^T . dO;  dQ += dS . K;  dK += dS^T . Q (the transposes read in place).
      const C* weights = dropout ? pz.data() : p.data();
      ops.gemm(weights, 1, kBlockCols, dof.data() + i0 * ev8, ev8, dv.data(), ev8, kBlockCols, rows, int(ev8), true);
      ops.gemm(dp.data(), kBlockCols, 1, kf.data(), e8, dq.data() + i0 * e8, e8, rows, kBlockCols, int(e8), true);
      ops.gemm(dp.data(), 1, kBlockCols, qf.data() + i0 * e8, e8, dk.data(), e8, kBlockCols, rows, int(e8), true);
    }
    for (int c = 0; c < cols; ++c) {
      storeRow<Tag>(dk.data() + c * e8, gradK + (b * s.S + j0 + c) * E, E);
      storeRow<Tag>(dv.data() + c * ev8, gradV + (b * s.S + j0 + c) * Ev, Ev);
    }
  }
  for (int64_t i = 0; i < L; ++i) storeRow<Tag>(dq.data() + i * e8, gradQ + (b * L + i) * E, E);
}

template <class Tag>
void backward(const AttentionShape& s, const void* q, const void* k, const void* v, const void* mask, const void* out,
              const void* gradOut, const void* lse, void* gradQ, void* gradK, void* gradV) {
  using C = ComputeOf<Tag>;
  using T = typename Tag::Storage;
  const TileOps<C> ops = tileOps<C>();
  parallelFor(s.batch, 1, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      backwardHead<Tag>(s, ops, static_cast<const T*>(q), static_cast<const T*>(k), static_cast<const T*>(v), mask,
                        static_cast<const T*>(out), static_cast<const T*>(gradOut), static_cast<const C*>(lse),
                        static_cast<T*>(gradQ), static_cast<T*>(gradK), static_cast<T*>(gradV), b);
    }
  });
}

}  // namespace

void attentionForward(DType dtype, const void* q, const void* k, const void* v, const void* mask, void* out, void* lse,
                      const AttentionShape& s) {
  switch (dtype) {
    case DType::Float32: forward<F32Tag>(s, q, k, v, mask, out, lse); break;
    case DType::Float16: forward<F16Tag>(s, q, k, v, mask, out, lse); break;
    case DType::BFloat16: forward<BF16Tag>(s, q, k, v, mask, out, lse); break;
    case DType::Float64: forward<F64Tag>(s, q, k, v, mask, out, lse); break;
    default: throw Error(ErrorKind::Type, "ERR_INVALID_DTYPE", "scaledDotProductAttention: needs a floating-point dtype");
  }
}

void attentionBackward(DType dtype, const void* q, const void* k, const void* v, const void* mask, const void* out,
                       const void* gradOut, const void* lse, void* gradQ, void* gradK, void* gradV,
                       const AttentionShape& s) {
  switch (dtype) {
    case DType::Float32: backward<F32Tag>(s, q, k, v, mask, out, gradOut, lse, gradQ, gradK, gradV); break;
    case DType::Float16: backward<F16Tag>(s, q, k, v, mask, out, gradOut, lse, gradQ, gradK, gradV); break;
    case DType::BFloat16: backward<BF16Tag>(s, q, k, v, mask, out, gradOut, lse, gradQ, gradK, gradV); break;
    case DType::Float64: backward<F64Tag>(s, q, k, v, mask, out, gradOut, lse, gradQ, gradK, gradV); break;
    default: throw Error(ErrorKind::Type, "ERR_INVALID_DTYPE", "scaledDotProductAttention: needs a floating-point dtype");
  }
}

}  // namespace mp::cpu
