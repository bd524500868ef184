// Elementwise CPU kernels. All operands share one dtype (type promotion is decided in
// TypeScript); 16-bit values are computed in float32 and rounded once when stored.
#pragma once
#include <cstdint>

#include "../core/dtype.h"
#include "../core/kernelArgs.h"

namespace mp::cpu {

void binary(BinaryOp op, DType dtype, const void* a, const void* b, void* out, const BroadcastGeometry& g);
// out = a (op) scalar, or scalar (op) a when scalarFirst.
void binaryScalar(BinaryOp op, DType dtype, const void* a, double scalar, bool scalarFirst, void* out, int64_t n);
// p0 / p1 are the op's parameters (see core/unaryMath.h); integer dtypes take integer ops only.
void unary(UnaryOp op, DType dtype, const void* a, void* out, int64_t n, double p0, double p1);
// out (bool) = a (op) b, broadcast like binary.
void compare(CompareOp op, DType dtype, const void* a, const void* b, void* out, const BroadcastGeometry& g);
// out (bool) = a (op) scalar, the scalar first rounded into dtype.
void compareScalar(CompareOp op, DType dtype, const void* a, double scalar, void* out, int64_t n);
// dst[index . strideB] = src[index . strideA] for every index of g.shape: gathers (broadcast,
// permute, slice) and scatters into regions (cat). Bit patterns are copied unchanged.
void stridedCopy(DType dtype, const void* src, void* dst, const BroadcastGeometry& g);
void fill(DType dtype, void* out, int64_t n, double value);

}  // namespace mp::cpu
