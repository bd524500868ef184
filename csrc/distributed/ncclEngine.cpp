#include "ncclEngine.h"

#include "../core/backend.h"
#include "ncclLibrary.h"

namespace mp::dist {

bool ncclAvailable(std::string* reason) {
  std::string why;
  Backend& cuda = backendFor(DeviceType::Cuda);
  if (!cuda.compiled()) {
    why = "NCCL needs the CUDA backend, and this build of mixprec has none (built without the CUDA toolkit)";
  } else if (const NcclLibrary* nccl = loadNccl(&why)) {
    const std::string loaded = "NCCL " + ncclVersionText(nccl->version) + " (" + nccl->path + ") loaded";
    if (cuda.deviceCount() == 0) {
      why = loaded + ", but there is no CUDA device to run it on: " + cuda.unavailableReason();
    } else {
      why = loaded + ", but NCCL collectives are not implemented in this version of mixprec; the MPI backend reduces CPU tensors";
    }
  }
  if (reason) *reason = why;
  return false;
}

}  // namespace mp::dist
