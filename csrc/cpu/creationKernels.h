// Filled creations computed in double and rounded once into the target dtype.
#pragma once
#include <cstdint>

#include "../core/dtype.h"

namespace mp::cpu {

void arange(DType dtype, void* out, int64_t n, double start, double step);
// PyTorch's symmetric form: the first half steps up from start, the second half down from end,
// so both ends are exact.
void linspace(DType dtype, void* out, int64_t n, double start, double end);
void eye(DType dtype, void* out, int64_t rows, int64_t cols);

}  // namespace mp::cpu
