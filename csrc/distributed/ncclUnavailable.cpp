#include "ncclEngine.h"

namespace mp::dist {

bool ncclAvailable(std::string* reason) {
  if (reason) *reason = "NCCL needs the CUDA backend, and this build of mixprec has none (built without the CUDA toolkit)";
  return false;
}

}  // namespace mp::dist
