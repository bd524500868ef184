#include "ncclEngine.h"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <exception>

#include "../core/backend.h"
#include "../core/commStream.h"
#include "../core/errors.h"
#include "ncclLibrary.h"
#include "taskThread.h"

namespace mp::dist {
namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void fail(const std::string& code, const std::string& message) { throwMixprecError(code, "mixprec distributed: " + message); }

NcclDataType ncclType(DType dtype) {
  switch (dtype) {
    case DType::Float32: return kNcclFloat32;
    case DType::Float64: return kNcclFloat64;
    case DType::Int32: return kNcclInt32;
    case DType::Float16: return kNcclFloat16;
    case DType::BFloat16: return kNcclBfloat16;
    default: fail("ERR_INVALID_DTYPE", std::string("NCCL has no type for ") + dtypeName(dtype));
  }
}

NcclRedOp ncclOp(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum: return kNcclSum;
    case ReduceOp::Avg: return kNcclAvg;
    case ReduceOp::Max: return kNcclMax;
    case ReduceOp::Min: return kNcclMin;
  }
  return kNcclSum;
}

// The rank's device: the rank within its host (Open MPI's OMPI_COMM_WORLD_LOCAL_RANK, else the
// global rank, right for one host) modulo the host's device count.
int pickDevice(int rank, int deviceCount) {
  const char* local = std::getenv("OMPI_COMM_WORLD_LOCAL_RANK");
  int localRank = rank;
  if (local && *local) {
    char* end = nullptr;
    const long parsed = std::strtol(local, &end, 10);
    if (*end == '\0' && parsed >= 0) localRank = int(parsed);
  }
  return localRank % deviceCount;
}

// Owns a CUDA event from comm::recordEvent. A failure to destroy it (a broken context, whose
// error the next CUDA call reports anyway) must not escape a destructor.
struct Event {
  void* handle = nullptr;
  explicit Event(void* h) : handle(h) {}
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  ~Event() {
    try {
      comm::destroyEvent(handle);
    } catch (const Error&) {
    }
  }
};

class Engine {
 public:
  GroupInfo init(int64_t timeoutMs) {
    std::string reason;
    if (!ncclAvailable(&reason)) fail("ERR_DISTRIBUTED_UNAVAILABLE", "initProcessGroup({backend: 'nccl'}): " + reason);
    nccl_ = loadNccl(&reason);
    GroupInfo info = mpiInit(timeoutMs);
    try {
      device_ = pickDevice(info.rank, backendFor(DeviceType::Cuda).deviceCount());
      NcclUniqueId id;
      std::memset(&id, 0, sizeof id);
      if (info.rank == 0) check(nccl_->GetUniqueId(&id), "ncclGetUniqueId");
      Collective share;
      share.kind = CollectiveKind::Broadcast;
      share.dtype = DType::Int32;
      share.count = kNcclUniqueIdBytes / 4;
      share.output = &id;
      mpiSubmit(share, nullptr)->wait();
      timeoutMs_ = timeoutMs;
      rank_ = info.rank;
      size_ = info.size;
      worker_.run([&] { initOnThread(id); });
    } catch (...) {
      mpiDestroy();
      throw;
    }
    active_ = true;
    info.library = "NCCL " + ncclVersionText(nccl_->version) + " (" + nccl_->path + ") on cuda:" + std::to_string(device_) +
                   ", over " + info.library;
    return info;
  }

  bool active() const { return active_; }
  int device() const { return device_; }

  std::shared_ptr<Work> submit(const Collective& c, std::function<void()> onDone) {
    if (!active_) fail("ERR_DISTRIBUTED_NOT_INITIALIZED", std::string(collectiveName(c.kind)) + ": call initProcessGroup() first");
    // Here, on the JS thread, in submission order: the point the compute stream has reached.
    auto ready = std::make_shared<Event>(comm::recordEvent(device_, nullptr));
    auto work = std::make_shared<Work>();
    worker_.post([this, c, ready, work, onDone = std::move(onDone)] {
      runCollective(c, ready->handle, *work);
      if (!exiting_ && onDone) onDone();
    });
    return work;
  }

  // The MPI group is freed even when freeing the NCCL side fails (a CUDA error), then the
  // error is rethrown.
  void destroy() {
    if (!active_) return;
    active_ = false;
    std::exception_ptr error;
    try {
      worker_.run([this] { release(); });
    } catch (...) {
      error = std::current_exception();
    }
    mpiDestroy();
    if (error) std::rethrow_exception(error);
  }

  void shutdown() {
    if (exiting_.exchange(true)) return;
    active_ = false;
    // MPI's shutdown fails the agreement this thread may be waiting on, so it can stop.
    mpiShutdown();
    worker_.stop();
  }

 private:
  struct Broken {
    std::string code;  // empty: the group works
    std::string message;
  };

  // ---- the engine's thread ----
  void check(NcclResult result, const std::string& what) {
    if (result != kNcclSuccess) fail("ERR_DISTRIBUTED", what + " failed: " + ncclErrorText(*nccl_, result));
  }

  void initOnThread(const NcclUniqueId& id) {
    broken_ = Broken{};
    sequence_ = 0;
    comm::useDevice(device_);
    check(nccl_->CommInitRank(&comm_, size_, id, rank_), "ncclCommInitRank on cuda:" + std::to_string(device_));
    try {
      stream_ = comm::createStream(device_);
      // barrier() all-reduces one float of its own: NCCL has no barrier.
      if (!barrierScratch_) barrierScratch_ = backendFor(DeviceType::Cuda).allocate(device_, sizeof(float), true);
    } catch (...) {
      release();
      throw;
    }
  }

  // Frees the communicator (unless an error aborted it) and the stream.
  void release() {
    if (comm_) nccl_->CommDestroy(comm_);
    comm_ = nullptr;
    void* stream = stream_;
    stream_ = nullptr;
    if (stream) comm::destroyStream(stream);
  }

  void runCollective(const Collective& c, void* ready, Work& work) {
    const std::string what = describe(c) + " on NCCL (collective #" + std::to_string(++sequence_) + ")";
    if (exiting_) return work.fail("ERR_DISTRIBUTED", what + " was abandoned: the process is exiting");
    if (!broken_.code.empty()) return work.fail(broken_.code, broken_.message);
    try {
      mpiSubmitAgreement(c)->wait();
      execute(c, ready, what);
      work.succeed();
    } catch (const Error& e) {
      broken_ = Broken{e.code(), std::string(e.what()) + " [the process group is broken by this error; destroy it]"};
      work.fail(e.code(), e.what());
    }
  }

  void execute(const Collective& c, void* ready, const std::string& what) {
    const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(timeoutMs_);
    // Nothing to move; the agreement above already kept the ranks in step.
    if (c.count == 0 && c.kind != CollectiveKind::Barrier) return;
    comm::streamWait(stream_, ready);
    const size_t count = size_t(c.count);
    switch (c.kind) {
      case CollectiveKind::AllReduce:
        check(nccl_->AllReduce(c.output, c.output, count, ncclType(c.dtype), ncclOp(c.op), comm_, stream_), what);
        break;
      case CollectiveKind::Broadcast:
        check(nccl_->Broadcast(c.output, c.output, count, ncclType(c.dtype), c.root, comm_, stream_), what);
        break;
      case CollectiveKind::AllGather:
        check(nccl_->AllGather(c.input, c.output, count, ncclType(c.dtype), comm_, stream_), what);
        break;
      case CollectiveKind::ReduceScatter:
        check(nccl_->ReduceScatter(c.input, c.output, count, ncclType(c.dtype), ncclOp(c.op), comm_, stream_), what);
        break;
      case CollectiveKind::Barrier:
        check(nccl_->AllReduce(barrierScratch_, barrierScratch_, 1, kNcclFloat32, kNcclSum, comm_, stream_), what);
        break;
    }
    Event done(comm::recordEvent(device_, stream_));
    poll(done.handle, deadline, what);
  }

  // Waits for `done` on the device, checking NCCL's asynchronous error and the deadline. The
  // first 200 ms yield, then 50 us sleeps, 1 ms after 2 s (as the MPI engine's poll).
  void poll(void* done, Clock::time_point deadline, const std::string& what) {
    const Clock::time_point start = Clock::now();
    for (;;) {
      if (comm::eventDone(done)) return;
      NcclResult async = kNcclSuccess;
      check(nccl_->CommGetAsyncError(comm_, &async), what + ": ncclCommGetAsyncError");
      if (async != kNcclSuccess && async != kNcclInProgress) {
        abortCommunicator();
        fail("ERR_DISTRIBUTED", what + " on rank " + std::to_string(rank_) + " failed inside NCCL: " + ncclErrorText(*nccl_, async));
      }
      const Clock::time_point now = Clock::now();
      if (exiting_) fail("ERR_DISTRIBUTED", what + " was abandoned: the process is exiting");
      if (now >= deadline) {
        abortCommunicator();
        fail("ERR_DISTRIBUTED_TIMEOUT", what + " on rank " + std::to_string(rank_) + " of " + std::to_string(size_) +
                                            " did not complete within " + std::to_string(timeoutMs_) +
                                            " ms: a rank stopped inside the transfer (it died or hangs). The NCCL "
                                            "communicator was aborted and the process group is broken.");
      }
      pauseBetweenPolls(now - start);
    }
  }

  // Ends the communicator's kernels so the device is usable again; the group stays broken.
  void abortCommunicator() {
    if (comm_) nccl_->CommAbort(comm_);
    comm_ = nullptr;
  }

  const NcclLibrary* nccl_ = nullptr;
  std::atomic<bool> active_{false};
  std::atomic<bool> exiting_{false};
  int device_ = 0;

  TaskThread worker_;  // the engine's thread

  // Touched by the engine's thread only (and by init before the first collective).
  NcclComm comm_ = nullptr;
  void* stream_ = nullptr;
  void* barrierScratch_ = nullptr;  // one float on device_, kept for the process's lifetime
  int rank_ = 0;
  int size_ = 1;
  int64_t timeoutMs_ = 0;
  int64_t sequence_ = 0;
  Broken broken_;
};

// Never destroyed: exit-time hooks may still need it after static destructors ran.
Engine& engine() {
  static Engine* instance = new Engine();
  return *instance;
}

}  // namespace

bool ncclAvailable(std::string* reason) {
  std::string why;
  bool available = false;
  Backend& cuda = backendFor(DeviceType::Cuda);
  if (!cuda.compiled()) {
    why = "NCCL needs the CUDA backend, and this build of mixprec has none (built without the CUDA toolkit)";
  } else if (const NcclLibrary* nccl = loadNccl(&why)) {
    const std::string loaded = "NCCL " + ncclVersionText(nccl->version) + " (" + nccl->path + ") loaded";
    if (cuda.deviceCount() == 0) {
      why = loaded + ", but there is no CUDA device to run it on: " + cuda.unavailableReason();
    } else {
      why = loaded + " with " + std::to_string(cuda.deviceCount()) + " CUDA device(s)";
      available = true;
    }
  }
  if (reason) *reason = why;
  return available;
}

GroupInfo ncclInit(int64_t timeoutMs) { return engine().init(timeoutMs); }
bool ncclGroupActive() { return engine().active(); }
int ncclDevice() { return engine().device(); }
std::shared_ptr<Work> ncclSubmit(const Collective& c, std::function<void()> onDone) { return engine().submit(c, std::move(onDone)); }
void ncclDestroy() { engine().destroy(); }
void ncclShutdown() { engine().shutdown(); }

}  // namespace mp::dist
