#include "ncclEngine.h"

#include "../core/backend.h"

namespace mp::dist {

// The NCCL engine is not written yet: every build says so, in terms of what it has.
bool ncclAvailable(std::string* reason) {
  if (reason) {
    *reason = backendFor(DeviceType::Cuda).compiled()
                  ? "NCCL collectives are not implemented in this version of mixprec; the MPI backend reduces CPU tensors"
                  : "NCCL needs the CUDA backend, and this build of mixprec has none (built without the CUDA toolkit)";
  }
  return false;
}

}  // namespace mp::dist
