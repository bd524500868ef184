// scaledDotProductAttention's geometry and the per-element rules every backend shares: which
// scores a mask or causality removes, and which attention weights dropout zeroes.
#pragma once
#include <cstdint>

#include "hostDevice.h"
#include "kernelArgs.h"
#include "philox.h"

namespace mp {

// How attnMask is read: absent, boolean (true = the key takes part), or added to the scores.
enum class AttentionMask : int32_t { None = 0, Bool = 1, Additive = 2 };

// q [batch, L, E], k [batch, S, E], v [batch, S, Ev], out [batch, L, Ev], all contiguous; the
// logsumexp of each query row [batch, L] (float64 for float64 inputs, float32 otherwise). The
// mask is addressed by the batch index split as (batch / heads, batch % heads), so a [B, 1, L, S]
// or [L, S] mask broadcasts over [B, H] without being expanded.
struct AttentionShape {
  int64_t batch = 0, heads = 1, L = 0, S = 0, E = 0, Ev = 0;
  double scale = 1;
  bool causal = false;  // PyTorch's top-left alignment: query i sees keys j <= i
  AttentionMask mask = AttentionMask::None;
  int64_t maskOuterStride = 0, maskHeadStride = 0, maskRowStride = 0, maskColStride = 0;
  double dropoutP = 0;  // weights kept with probability 1 - p and scaled by 1 / (1 - p)
  RandomState dropout;  // weight (b, i, j) draws counter offset + (b * L + i) * S + j
};

MP_HD int64_t attentionMaskIndex(const AttentionShape& s, int64_t b, int64_t i, int64_t j) {
  return (b / s.heads) * s.maskOuterStride + (b % s.heads) * s.maskHeadStride + i * s.maskRowStride +
         j * s.maskColStride;
}

// Whether dropout keeps weight (b, i, j): the float32 uniform mp.rand draws for element
// (b * L + i) * S + j of a [batch, L, S] tensor at the same generator state, compared as
// dropout's `rand(shape) >= p`, so the fused op and the composition drop the same weights.
MP_HD bool attentionKeeps(const AttentionShape& s, int64_t b, int64_t i, int64_t j) {
  const uint64_t counter = s.dropout.offset + uint64_t((b * s.L + i) * s.S + j);
  const Philox4 r = philox4x32(counter, s.dropout.seed);
  return float(uniformFromWord(r.v[0], 24)) >= float(s.dropoutP);
}

}  // namespace mp
