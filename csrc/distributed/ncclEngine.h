// NCCL for CUDA tensors, loaded at run time like MPI (see ncclLibrary.h in CUDA builds). Builds
// without the CUDA toolkit compile ncclUnavailable.cpp instead, which says so.
#pragma once
#include <string>

namespace mp::dist {

// Whether NCCL can be used here; never throws. `reason` says why not.
bool ncclAvailable(std::string* reason);

}  // namespace mp::dist
