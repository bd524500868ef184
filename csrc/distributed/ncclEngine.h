// NCCL for CUDA tensors. Not implemented yet: ncclAvailable() says why in every build, so
// isAvailable('nccl') is false with a reason and initProcessGroup({backend: 'nccl'}) refuses.
#pragma once
#include <string>

namespace mp::dist {

// Whether NCCL can be used here; never throws. `reason` says why not.
bool ncclAvailable(std::string* reason);

}  // namespace mp::dist
