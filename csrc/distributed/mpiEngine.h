// The MPI process group: one communication thread per process makes every MPI call (it calls
// MPI_Init_thread, so even MPI_THREAD_FUNNELED suffices) and runs collectives one at a time in
// submission order, as non-blocking MPI calls polled with MPI_Test against a deadline. A peer
// that never arrives, a mismatched collective or an MPI error fails the call instead of
// hanging, and breaks the group: every later call fails at once with the first error.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "collective.h"

namespace mp::dist {

struct GroupInfo {
  int rank = 0;
  int size = 1;
  std::string library;  // the MPI library file and its version line
};

// Whether MPI can be loaded here; never throws. `reason` says why not.
bool mpiAvailable(std::string* reason);

// Loads MPI, initializes it once per process (MPI stays up until the process exits: MPI cannot
// be initialized twice) and makes a new group: a duplicate of MPI_COMM_WORLD. Collectives whose
// ranks do not all arrive within `timeoutMs` fail with ERR_DISTRIBUTED_TIMEOUT.
// Throws ERR_DISTRIBUTED_UNAVAILABLE, ERR_DISTRIBUTED_TIMEOUT or ERR_DISTRIBUTED.
GroupInfo mpiInit(int64_t timeoutMs);
bool mpiGroupActive();

// Queues a collective on the group. `onDone` runs on the communication thread when it has ended
// (successfully or not), unless the process is exiting. Throws ERR_DISTRIBUTED_NOT_INITIALIZED
// without a group. The buffers must stay alive until then (the caller keeps them).
std::shared_ptr<Work> mpiSubmit(const Collective& c, std::function<void()> onDone);

// Queues only the agreement that precedes every collective (every rank's kind, dtype, op, src
// and count compared in one small MPI all-reduce, ERR_DISTRIBUTED_MISMATCH where they differ,
// ERR_DISTRIBUTED_TIMEOUT where a rank does not arrive): the NCCL engine runs it before each NCCL
// call, since NCCL itself would hang or read out of bounds on mismatched calls. A failure breaks
// the group like a failed collective. Moves no data; `c`'s buffers are not read.
std::shared_ptr<Work> mpiSubmitAgreement(const Collective& c);

// Waits for the queued collectives, then frees the group. A broken group is dropped as it is.
void mpiDestroy();

// At process or environment exit: fails what is still queued (without calling onDone), then
// calls MPI_Finalize when no collective is left hanging, and stops the thread. Idempotent.
void mpiShutdown();

}  // namespace mp::dist
