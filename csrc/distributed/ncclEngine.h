// The NCCL process group, for CUDA tensors. MPI stays the launcher and the referee: the MPI
// group (mpiEngine.h) gives the rank and size, broadcasts rank 0's ncclUniqueId, and before each
// NCCL call compares every rank's call (mpiSubmitAgreement), so a mismatched or missing call
// fails within the timeout instead of hanging inside NCCL. NCCL moves the data, on a stream of
// its own.
//
// Ordering (csrc/core/commStream.h): at submission (the JS thread) an event is recorded on the
// compute stream, and the NCCL stream waits for it, so the collective reads what the kernels
// queued before it wrote. The compute stream is not made to wait for the collective: that
// would stall every later kernel (DDP's backward) behind the transfer. Instead Work completes
// only once the engine's thread has seen the collective's completion event fire on the device,
// and the TS layer keeps the tensors' storages (and so their memory) alive until then; a caller
// touches the buffers after work.wait() (the synchronous forms wait for it), when everything
// queued afterwards on the compute stream is ordered after the transfer by the host.
//
// Completion: the engine's thread polls the completion event and ncclCommGetAsyncError against
// the deadline; an NCCL error or the deadline aborts the communicator (ncclCommAbort) and breaks
// the group as the MPI engine does. ncclCommInitRank itself has no deadline (every rank has just
// passed the id's broadcast, so all of them are there).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "collective.h"
#include "mpiEngine.h"

namespace mp::dist {

// Whether NCCL can be used here: a CUDA build, NCCL loadable (2.10+) and a CUDA device. Never
// throws; `reason` says why not, or which NCCL was found.
bool ncclAvailable(std::string* reason);

// Makes the MPI group, picks this rank's device (OMPI_COMM_WORLD_LOCAL_RANK, else the rank,
// modulo the device count), and makes the NCCL communicator on it. Throws
// ERR_DISTRIBUTED_UNAVAILABLE, ERR_DISTRIBUTED_TIMEOUT, ERR_DISTRIBUTED or ERR_CUDA.
GroupInfo ncclInit(int64_t timeoutMs);
bool ncclGroupActive();
// The CUDA device index this rank's communicator runs on (valid while the group is active).
int ncclDevice();

// Queues a collective whose buffers are on ncclDevice(); `onDone` as mpiSubmit's.
std::shared_ptr<Work> ncclSubmit(const Collective& c, std::function<void()> onDone);

// Waits for the queued collectives, frees the communicator (unless aborted), then the MPI group.
void ncclDestroy();

// At exit: fails what is queued, stops the thread (and MPI's); no CUDA or NCCL call is made,
// since the driver may already be going away. Idempotent.
void ncclShutdown();

}  // namespace mp::dist
