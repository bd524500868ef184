// The CUDA backend of a build without the CUDA toolkit: CUDA reports as unavailable and every
// device operation raises ERR_CUDA_UNAVAILABLE.
#include "../core/unavailableBackend.h"

namespace mp {

Backend& cudaBackend() {
  static UnavailableBackend backend(
      "ERR_CUDA_UNAVAILABLE", "mixprec was built without the CUDA toolkit",
      "CUDA is not available: mixprec was built without the CUDA toolkit (rebuild with nvcc on PATH, or "
      "MIXPREC_CUDA=1 to require it)");
  return backend;
}

}  // namespace mp
