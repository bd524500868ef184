// The CUDA backend of a build without the CUDA toolkit: CUDA reports as unavailable and every
// device operation raises ERR_CUDA_UNAVAILABLE.
#include "../core/commStream.h"
#include "../core/errors.h"
#include "../core/unavailableBackend.h"

namespace mp {

Backend& cudaBackend() {
  static UnavailableBackend backend(
      "ERR_CUDA_UNAVAILABLE", "mixprec was built without the CUDA toolkit",
      "CUDA is not available: mixprec was built without the CUDA toolkit (rebuild with nvcc on PATH, or "
      "MIXPREC_CUDA=1 to require it)");
  return backend;
}

// The NCCL engine's stream ordering: never reached in this build (ncclAvailable() is false
// without the CUDA backend), but defined so the distributed layer links in every build.
namespace comm {
namespace {
[[noreturn]] void unavailable(const char* what) {
  throwMixprecError("ERR_CUDA_UNAVAILABLE", std::string(what) + ": mixprec was built without the CUDA toolkit");
}
}  // namespace

void useDevice(int) { unavailable("cudaSetDevice"); }
void* createStream(int) { unavailable("cudaStreamCreate"); }
void destroyStream(void*) { unavailable("cudaStreamDestroy"); }
void* recordEvent(int, void*) { unavailable("cudaEventRecord"); }
void streamWait(void*, void*) { unavailable("cudaStreamWaitEvent"); }
bool eventDone(void*) { unavailable("cudaEventQuery"); }
void destroyEvent(void*) { unavailable("cudaEventDestroy"); }
}  // namespace comm

}  // namespace mp
