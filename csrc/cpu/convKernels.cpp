// 2-d convolution without the batch's im2col: each image is unfolded into a per-thread buffer
// (one image's columns, reused across calls), multiplied on the packed GEMM, and dropped. The
// batch's columns never exist at once, so a CNN step's memory is its activations, not its
// activations times kh * kw; images go one per pool thread, whose GEMMs then run on that thread
// (a nested parallelFor runs inline), or, when there are fewer images than threads, one after
// another with each GEMM split over the pool. Products and sums are kept in float32 (float64 for
// float64) and 16-bit results rounded once; no result depends on the thread count.
#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "../core/threadPool.h"
#include "castKernels.h"
#include "cpuKernels.h"
#include "matmulKernels.h"

namespace mp::cpu {
namespace {

// Images per weight-gradient chunk sum in this many chunks at most: each chunk's partial is
// summed in chunk order, so the result depends on the batch, never on the threads.
constexpr int64_t kWeightChunks = 8;

// Per-thread buffers, grown as needed and kept, so steady-state steps allocate nothing.
thread_local std::vector<char> columnsBuffer;

template <class T>
T* grow(std::vector<T>& v, int64_t n) {
  if (int64_t(v.size()) < n) v.resize(size_t(n));
  return v.data();
}

// This thread's buffer of op-math values for one role (a product, an image).
template <class Acc, int Role>
std::vector<Acc>& opMathBuffer() {
  thread_local std::vector<Acc> buffer;
  return buffer;
}
constexpr int kProduct = 0, kImage = 1;

// The sizes every pass needs, in elements.
struct Dims {
  int64_t outChannels, groups, outPerGroup, rowsPerGroup, columns, imageIn, imageOut;
  size_t elemBytes;
};

Dims dimsOf(DType dtype, const ConvShape& s) {
  const WindowShape& w = s.window;
  Dims d{};
  d.outChannels = s.outChannels;
  d.groups = s.groups;
  d.outPerGroup = s.outChannels / s.groups;
  d.rowsPerGroup = w.planes / s.groups * w.kh * w.kw;
  d.columns = w.outH * w.outW;
  d.imageIn = w.planes * w.height * w.width;
  d.imageOut = s.outChannels * d.columns;
  d.elemBytes = elementSize(dtype);
  return d;
}

bool sixteenBit(DType dtype) { return dtype == DType::Float16 || dtype == DType::BFloat16; }

// n values of dtype as op-math values in dst, and back (16-bit through the SIMD cast kernels).
template <class Acc>
void toOpMath(DType dtype, const void* src, Acc* dst, int64_t n) {
  if constexpr (std::is_same_v<Acc, float>) {
    if (sixteenBit(dtype)) return widenToFloat(dtype, static_cast<const uint16_t*>(src), dst, n);
  }
  std::copy_n(static_cast<const Acc*>(src), n, dst);
}
template <class Acc>
void fromOpMath(const Acc* src, DType dtype, void* dst, int64_t n) {
  if constexpr (std::is_same_v<Acc, float>) {
    if (sixteenBit(dtype)) return narrowFromFloat(src, dtype, static_cast<uint16_t*>(dst), n);
  }
  std::copy_n(src, n, static_cast<Acc*>(dst));
}

// Runs fn(i) for i in [0, n): one item per pool thread when there are at least as many items as
// threads, else one after another on the caller (each item's kernels then use the pool).
template <class Fn>
void forEachItem(int64_t n, const Fn& fn) {
  if (numThreads() > 1 && n >= numThreads()) {
    parallelFor(n, 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) fn(i);
    });
  } else {
    for (int64_t i = 0; i < n; ++i) fn(i);
  }
}

// Image n's columns [inChannels * kh * kw, columns] in the input dtype, in this thread's buffer.
const char* unfoldImage(DType dtype, const char* x, int64_t n, const Dims& d, const ConvShape& s) {
  char* columns = grow(columnsBuffer, int64_t(d.elemBytes) * d.groups * d.rowsPerGroup * d.columns);
  unfold(dtype, x + size_t(n * d.imageIn) * d.elemBytes, columns, s.window, 0.0);
  return columns;
}

// The op-math type's dtype (what fold sums in).
template <class Acc>
constexpr DType kOpMathType = std::is_same_v<Acc, double> ? DType::Float64 : DType::Float32;

// Whether results are written straight into the output (the output holds op-math values).
template <class Acc>
bool direct(DType dtype) {
  return dtype == kOpMathType<Acc>;
}

template <class Acc>
void forward(DType dtype, const void* x, const void* weight, const void* bias, void* y, const ConvShape& s) {
  const Dims d = dimsOf(dtype, s);
  const auto* xb = static_cast<const char*>(x);
  const auto* wb = static_cast<const char*>(weight);
  std::vector<Acc> biasValues;
  if (bias) {
    biasValues.resize(size_t(d.outChannels));
    toOpMath(dtype, bias, biasValues.data(), d.outChannels);
  }
  forEachItem(s.batch, [&](int64_t n) {
    const char* columns = unfoldImage(dtype, xb, n, d, s);
    char* yn = static_cast<char*>(y) + size_t(n * d.imageOut) * d.elemBytes;
    Acc* product = direct<Acc>(dtype) ? reinterpret_cast<Acc*>(yn) : grow(opMathBuffer<Acc, kProduct>(), d.imageOut);
    for (int64_t g = 0; g < d.groups; ++g) {
      // [outPerGroup, rowsPerGroup] weights times [rowsPerGroup, columns] columns.
      gemmToOpMath(dtype, wb + size_t(g * d.outPerGroup * d.rowsPerGroup) * d.elemBytes, {d.rowsPerGroup, 1},
                   columns + size_t(g * d.rowsPerGroup * d.columns) * d.elemBytes, {d.columns, 1},
                   product + g * d.outPerGroup * d.columns, d.outPerGroup, d.columns, d.rowsPerGroup, false);
    }
    if (bias) {
      for (int64_t o = 0; o < d.outChannels; ++o) {
        Acc* row = product + o * d.columns;
        for (int64_t j = 0; j < d.columns; ++j) row[j] += biasValues[size_t(o)];
      }
    }
    if (!direct<Acc>(dtype)) fromOpMath(product, dtype, yn, d.imageOut);
  });
}

// Whether the input gradient runs as a forward convolution (transposedAsForward). It can at
// stride 1 with padding at most the dilated kernel's reach on both axes. It pays where the GEMM
// runs on AMX bfloat16 tiles, with no more output channels than input channels: the tiles then
// get depth outChannels * kh * kw instead of outChannels, and the unfolded 16-bit dy is at most
// half the float32 columns the other way writes and folds. Measured fwd+bwd on W3's layers
// (interleaved builds, AMX class): bfloat16 64 -> 64 channels 1.18-1.24x on the tiles; elsewhere
// it lost (bfloat16 64 -> 128 0.88x; float16 on the AMX split 0.95x; bfloat16 with the AVX2 or
// VDPBF16PS kernels 0.91x / 0.97x; float32 0.93x), so those keep the fold.
bool backwardInputAsForward(DType dtype, const ConvShape& s) {
  const WindowShape& w = s.window;
  return w.sh == 1 && w.sw == 1 && w.ph <= w.dh * (w.kh - 1) && w.pw <= w.dw * (w.kw - 1) && gemmOnBf16Tiles(dtype) &&
         s.outChannels <= w.planes;
}

// At stride 1, dx is the correlation of dy, padded by d (k - 1) - p, with the weights flipped in
// both spatial axes and their channel axes swapped ([outChannels, inChannels / groups, kh, kw]
// becomes [inChannels, outChannels / groups, kh, kw], group by group), and its size is the
// input's. Returns that shape; `flipped` receives the rearranged weights (the same values, moved).
ConvShape transposedAsForward(const ConvShape& s, const void* weight, size_t elemBytes, std::vector<char>& flipped) {
  const WindowShape& w = s.window;
  ConvShape t;
  t.batch = s.batch;
  t.outChannels = w.planes;
  t.groups = s.groups;
  t.window = WindowShape{s.outChannels, w.outH, w.outW, w.kh, w.kw, w.dh, w.dw, w.dh * (w.kh - 1) - w.ph, w.dw * (w.kw - 1) - w.pw,
                         1, 1, w.height, w.width};
  const int64_t inPerGroup = w.planes / s.groups, outPerGroup = s.outChannels / s.groups, taps = w.kh * w.kw;
  flipped.resize(size_t(s.outChannels * inPerGroup * taps) * elemBytes);
  const auto* src = static_cast<const char*>(weight);
  for (int64_t g = 0; g < s.groups; ++g) {
    for (int64_t o = 0; o < outPerGroup; ++o) {
      for (int64_t i = 0; i < inPerGroup; ++i) {
        const char* from = src + size_t(((g * outPerGroup + o) * inPerGroup + i) * taps) * elemBytes;
        char* to = flipped.data() + size_t(((g * inPerGroup + i) * outPerGroup + o) * taps) * elemBytes;
        for (int64_t tap = 0; tap < taps; ++tap) std::memcpy(to + size_t(taps - 1 - tap) * elemBytes, from + size_t(tap) * elemBytes, elemBytes);
      }
    }
  }
  return t;
}

template <class Acc>
void backwardInput(DType dtype, const void* dy, const void* weight, void* dx, const ConvShape& s) {
  if (backwardInputAsForward(dtype, s)) {
    // One GEMM of depth outChannels / groups * kh * kw per image against the unfolded dy (in the
    // input dtype), instead of a GEMM into float32 columns of inChannels / groups * kh * kw rows
    // and their fold (at W3's 64-channel 28 x 28 layer those are 1.8 MB per image).
    std::vector<char> flipped;
    const ConvShape t = transposedAsForward(s, weight, elementSize(dtype), flipped);
    return forward<Acc>(dtype, dy, flipped.data(), nullptr, dx, t);
  }
  const Dims d = dimsOf(dtype, s);
  const auto* dyb = static_cast<const char*>(dy);
  const auto* wb = static_cast<const char*>(weight);
  forEachItem(s.batch, [&](int64_t n) {
    // The columns' gradient [inChannels * kh * kw, columns] = weight^T dy[n], per group.
    Acc* columns = grow(opMathBuffer<Acc, kProduct>(), d.groups * d.rowsPerGroup * d.columns);
    for (int64_t g = 0; g < d.groups; ++g) {
      gemmToOpMath(dtype, wb + size_t(g * d.outPerGroup * d.rowsPerGroup) * d.elemBytes, {1, d.rowsPerGroup},
                   dyb + size_t(n * d.imageOut + g * d.outPerGroup * d.columns) * d.elemBytes, {d.columns, 1},
                   columns + g * d.rowsPerGroup * d.columns, d.rowsPerGroup, d.columns, d.outPerGroup, false);
    }
    // col2im, summed in the op-math type and rounded once for 16-bit.
    char* dxn = static_cast<char*>(dx) + size_t(n * d.imageIn) * d.elemBytes;
    Acc* image = direct<Acc>(dtype) ? reinterpret_cast<Acc*>(dxn) : grow(opMathBuffer<Acc, kImage>(), d.imageIn);
    fold(kOpMathType<Acc>, columns, image, s.window);
    if (!direct<Acc>(dtype)) fromOpMath(image, dtype, dxn, d.imageIn);
  });
}

// Whether the weight gradient is computed transposed, [rowsPerGroup, outPerGroup] per group (the
// columns as A, dy transposed as B), because that pads less of the GEMM's register tile: W3's 64
// output channels fill 5.3 of the float32 kernel's 12-row tiles but exactly 2 of its 32-column
// ones, and a single input channel's 9 rows fill 9 / 32 columns but 9 / 12 rows. Either way each
// element sums the same products in the same k order (a * b is b * a), so only the padding moves.
bool weightGradientTransposed(DType dtype, const Dims& d) {
  const GemmTile tile = gemmTile(dtype);
  const auto padded = [](int64_t x, int64_t t) { return (x + t - 1) / t * t; };
  return padded(d.rowsPerGroup, tile.rows) * padded(d.outPerGroup, tile.cols) <
         padded(d.outPerGroup, tile.rows) * padded(d.rowsPerGroup, tile.cols);
}

template <class Acc>
void backwardWeight(DType dtype, const void* x, const void* dy, void* dweight, const ConvShape& s) {
  const Dims d = dimsOf(dtype, s);
  const auto* xb = static_cast<const char*>(x);
  const auto* dyb = static_cast<const char*>(dy);
  const int64_t weightSize = d.outChannels * d.rowsPerGroup, groupSize = d.outPerGroup * d.rowsPerGroup;
  const int64_t chunks = std::min(s.batch, kWeightChunks);
  const bool transposed = weightGradientTransposed(dtype, d);
  std::vector<Acc> partials(size_t(std::max<int64_t>(chunks, 1) * weightSize), Acc(0));
  forEachItem(chunks, [&](int64_t c) {
    Acc* partial = partials.data() + c * weightSize;
    const int64_t first = s.batch * c / chunks, last = s.batch * (c + 1) / chunks;
    for (int64_t n = first; n < last; ++n) {
      const char* columns = unfoldImage(dtype, xb, n, d, s);
      for (int64_t g = 0; g < d.groups; ++g) {
        const char* dyg = dyb + size_t(n * d.imageOut + g * d.outPerGroup * d.columns) * d.elemBytes;
        const char* colsg = columns + size_t(g * d.rowsPerGroup * d.columns) * d.elemBytes;
        if (transposed) {
          // The columns [rowsPerGroup, columns] times dy[n] transposed [columns, outPerGroup].
          gemmToOpMath(dtype, colsg, {d.columns, 1}, dyg, {1, d.columns}, partial + g * groupSize, d.rowsPerGroup, d.outPerGroup,
                       d.columns, n > first);
        } else {
          // dy[n] [outPerGroup, columns] times the columns transposed [columns, rowsPerGroup].
          gemmToOpMath(dtype, dyg, {d.columns, 1}, colsg, {1, d.columns}, partial + g * groupSize, d.outPerGroup, d.rowsPerGroup,
                       d.columns, n > first);
        }
      }
    }
  });
  for (int64_t c = 1; c < chunks; ++c) {
    const Acc* partial = partials.data() + c * weightSize;
    for (int64_t i = 0; i < weightSize; ++i) partials[size_t(i)] += partial[i];
  }
  if (transposed) {
    // Back to [outChannels, rowsPerGroup], group by group.
    std::vector<Acc> sum(static_cast<size_t>(weightSize));
    for (int64_t g = 0; g < d.groups; ++g) {
      for (int64_t r = 0; r < d.rowsPerGroup; ++r) {
        for (int64_t o = 0; o < d.outPerGroup; ++o) {
          sum[size_t(g * groupSize + o * d.rowsPerGroup + r)] = partials[size_t(g * groupSize + r * d.outPerGroup + o)];
        }
      }
    }
    fromOpMath(sum.data(), dtype, dweight, weightSize);
    return;
  }
  fromOpMath(partials.data(), dtype, dweight, weightSize);
}

}  // namespace

void conv2dForward(DType dtype, const void* x, const void* weight, const void* bias, void* y, const ConvShape& s) {
  if (dtype == DType::Float64) forward<double>(dtype, x, weight, bias, y, s);
  else forward<float>(dtype, x, weight, bias, y, s);
}

void conv2dBackwardInput(DType dtype, const void* dy, const void* weight, void* dx, const ConvShape& s) {
  if (dtype == DType::Float64) backwardInput<double>(dtype, dy, weight, dx, s);
  else backwardInput<float>(dtype, dy, weight, dx, s);
}

void conv2dBackwardWeight(DType dtype, const void* x, const void* dy, void* dweight, const ConvShape& s) {
  if (dtype == DType::Float64) backwardWeight<double>(dtype, x, dy, dweight, s);
  else backwardWeight<float>(dtype, x, dy, dweight, s);
}

}  // namespace mp::cpu
