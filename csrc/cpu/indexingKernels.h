// Indexing and sliding-window CPU kernels: where, gather, scatterAdd, indexSelect, indexAdd,
// unfold (im2col) and fold (col2im). Index tensors are int32; every index is checked first with
// firstIndexOutOfRange, so the kernels themselves never see one outside [0, size).
#pragma once
#include <cstdint>

#include "../core/dtype.h"
#include "../core/indexingArgs.h"

namespace mp::cpu {

// Position of the first of index[0..n) outside [0, bound), or -1 when all are inside.
int64_t firstIndexOutOfRange(const int32_t* index, int64_t n, int64_t bound);

// out = cond ? a : b elementwise (cond is bool); a bit copy, so any dtype of one element width.
void where(DType dtype, const uint8_t* cond, const void* a, const void* b, void* out, const WhereGeometry& g);
// out (contiguous, index's shape) = self[... index ...] along g.dim.
void gather(DType dtype, const void* self, const int32_t* index, void* out, const ScatterGeometry& g);
// out = input, then out[... index ...] += src along g.dim; input and out have selfNumel elements.
// Deterministic: each output element sums its contributions in index order.
void scatterAdd(DType dtype, const void* input, const int32_t* index, const void* src, void* out, int64_t selfNumel,
                const ScatterGeometry& g);
// out [outer, count, inner] = self [outer, size, inner] at index along the middle dimension.
void indexSelect(DType dtype, const void* self, const int32_t* index, void* out, const IndexShape& s);
// out = input [outer, size, inner], then out[:, index[i], :] += source[:, i, :]; deterministic.
void indexAdd(DType dtype, const void* input, const int32_t* index, const void* source, void* out, const IndexShape& s);
// out [planes, kh * kw, outH * outW] = the windows of in [planes, height, width]; padding reads padValue.
void unfold(DType dtype, const void* in, void* out, const WindowShape& w, double padValue);
// out [planes, height, width] = the sum of every window column in [planes, kh * kw, outH * outW]
// that covers each pixel; columns over the padding are dropped. Deterministic.
void fold(DType dtype, const void* in, void* out, const WindowShape& w);

}  // namespace mp::cpu
