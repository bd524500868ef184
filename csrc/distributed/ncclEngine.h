// NCCL for CUDA tensors. The library loader (ncclLibrary.h) and the availability check exist;
// the collectives engine (communicator, NCCL stream, polling) is not written yet, so
// ncclAvailable() is false in every build, with a reason that says how far it got: no CUDA in
// this build, NCCL not loadable (and why), no CUDA device, or the engine missing.
#pragma once
#include <string>

namespace mp::dist {

// Whether NCCL can be used here; never throws. `reason` says why not.
bool ncclAvailable(std::string* reason);

}  // namespace mp::dist
