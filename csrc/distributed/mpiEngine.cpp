#include "mpiEngine.h"

#include <atomic>
#include <chrono>
#include <climits>
#include <exception>

#include "../core/errors.h"
#include "mpiLibrary.h"
#include "taskThread.h"
#include "reductionMath.h"

namespace mp::dist {
namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void fail(const std::string& code, const std::string& message) { throwMixprecError(code, "mixprec distributed: " + message); }

template <typename Format, ReduceOp Op>
void mpiCombine16(void* in, void* inout, int* len, MpiDatatype*) {
  combine16<Format, Op>(static_cast<const uint16_t*>(in), static_cast<uint16_t*>(inout), *len);
}
template <typename T, ReduceOp Op>
void mpiCombineFloat(void* in, void* inout, int* len, MpiDatatype*) {
  combineFloat<T, Op>(static_cast<const T*>(in), static_cast<T*>(inout), *len);
}

// The fields every rank must agree on before a collective moves data (see Engine::agree).
enum Field { kKind, kDtype, kOp, kRoot, kCount, kNumFields };
const char* const kFieldNames[kNumFields] = {"collective", "dtype", "op", "src", "elements"};

std::string fieldValue(int field, int64_t v) {
  switch (field) {
    case kKind: return v >= 0 && v <= int64_t(CollectiveKind::Barrier) ? collectiveName(CollectiveKind(v)) : std::to_string(v);
    case kDtype: return v >= 0 && v < kNumDTypes ? dtypeName(DType(v)) : std::to_string(v);
    case kOp: return v >= 0 && v <= int64_t(ReduceOp::Min) ? reduceOpName(ReduceOp(v)) : std::to_string(v);
    default: return std::to_string(v);
  }
}

class Engine {
 public:
  GroupInfo init(int64_t timeoutMs) {
    std::string reason;
    mpi_ = loadMpi(&reason);
    if (!mpi_) fail("ERR_DISTRIBUTED_UNAVAILABLE", "initProcessGroup({backend: 'mpi'}): " + reason);
    GroupInfo info;
    worker_.run([&] { info = initOnThread(timeoutMs); });
    active_ = true;
    return info;
  }

  bool active() const { return active_; }

  std::shared_ptr<Work> submit(const Collective& c, bool agreementOnly, std::function<void()> onDone) {
    if (!active_) fail("ERR_DISTRIBUTED_NOT_INITIALIZED", std::string(collectiveName(c.kind)) + ": call initProcessGroup() first");
    auto work = std::make_shared<Work>();
    worker_.post([this, c, agreementOnly, work, onDone = std::move(onDone)] {
      runCollective(c, agreementOnly, *work);
      if (!exiting_ && onDone) onDone();
    });
    return work;
  }

  void destroy() {
    if (!active_) return;
    active_ = false;
    worker_.run([this] {
      if (comm_ && !hanging_) mpi_->Comm_free(&comm_);
      comm_ = nullptr;
      broken_ = Broken{};
      sequence_ = 0;
    });
  }

  void shutdown() {
    if (!worker_.started() || exiting_.exchange(true)) return;
    active_ = false;
    worker_.post([this] {
      if (weInitialized_ && !hanging_) {
        if (comm_) mpi_->Comm_free(&comm_);
        mpi_->Finalize();
      }
    });
    worker_.stop();
  }

 private:
  struct Broken {
    std::string code;  // empty: the group works
    std::string message;
  };

  // ---- the communication thread ----
  void check(int rc, const std::string& what) {
    if (rc != kMpiSuccess) fail("ERR_DISTRIBUTED", what + " failed: " + mpiErrorText(*mpi_, rc));
  }

  // Tests `request` until it completes or the deadline passes.
  void poll(MpiRequest* request, Clock::time_point deadline, const std::string& what, int64_t timeoutMs) {
    const Clock::time_point start = Clock::now();
    for (;;) {
      int flag = 0;
      check(mpi_->Test(request, &flag, nullptr), what);
      if (flag) return;
      const Clock::time_point now = Clock::now();
      if (exiting_) {
        hanging_ = true;
        fail("ERR_DISTRIBUTED", what + " was abandoned: the process is exiting");
      }
      if (now >= deadline) {
        hanging_ = true;
        fail("ERR_DISTRIBUTED_TIMEOUT", what + " on rank " + std::to_string(rank_) + " of " + std::to_string(size_) +
                                            " did not complete within " + std::to_string(timeoutMs) +
                                            " ms: a rank did not call it (it died, hangs, or called a different "
                                            "sequence of collectives). The process group is broken.");
      }
      pauseBetweenPolls(now - start);
    }
  }

  GroupInfo initOnThread(int64_t timeoutMs) {
    if (!mpiUp_) {
      int initialized = 0;
      check(mpi_->Initialized(&initialized), "MPI_Initialized");
      int finalized = 0;
      check(mpi_->Finalized(&finalized), "MPI_Finalized");
      if (finalized) fail("ERR_DISTRIBUTED", "initProcessGroup: MPI was already finalized in this process");
      if (!initialized) {
        int provided = 0;
        check(mpi_->Init_thread(nullptr, nullptr, kMpiThreadSerialized, &provided), "MPI_Init_thread");
        weInitialized_ = true;
        // This thread makes every MPI call, so FUNNELED (only the initializing thread calls) is enough.
        if (provided < kMpiThreadFunneled) fail("ERR_DISTRIBUTED", "initProcessGroup: MPI provides only MPI_THREAD_SINGLE");
      }
      check(mpi_->Comm_set_errhandler(mpi_->commWorld, mpi_->errorsReturn), "MPI_Comm_set_errhandler");
      createTypes();
      char version[4096] = {};
      int length = 0;
      mpi_->Get_library_version(version, &length);
      std::string text(version, size_t(length > 0 ? length : 0));
      version_ = mpi_->path + " (" + text.substr(0, text.find_first_of("\r\n,")) + ")";
      mpiUp_ = true;
    }
    timeoutMs_ = timeoutMs;
    rank_ = 0;
    size_ = 1;
    check(mpi_->Comm_rank(mpi_->commWorld, &rank_), "MPI_Comm_rank");
    check(mpi_->Comm_size(mpi_->commWorld, &size_), "MPI_Comm_size");
    MpiRequest request = nullptr;
    check(mpi_->Comm_idup(mpi_->commWorld, &comm_, &request), "MPI_Comm_idup");
    poll(&request, Clock::now() + std::chrono::milliseconds(timeoutMs), "initProcessGroup", timeoutMs);
    check(mpi_->Comm_set_errhandler(comm_, mpi_->errorsReturn), "MPI_Comm_set_errhandler");
    return GroupInfo{rank_, size_, version_};
  }

  void createTypes() {
    check(mpi_->Type_contiguous(2, mpi_->byte, &half_), "MPI_Type_contiguous");
    check(mpi_->Type_commit(&half_), "MPI_Type_commit");
    check(mpi_->Type_contiguous(2, mpi_->byte, &bf16_), "MPI_Type_contiguous");
    check(mpi_->Type_commit(&bf16_), "MPI_Type_commit");
    MpiUserFunction* functions[] = {
        mpiCombine16<HalfBits, ReduceOp::Sum>,  mpiCombine16<HalfBits, ReduceOp::Max>,  mpiCombine16<HalfBits, ReduceOp::Min>,
        mpiCombine16<Bf16Bits, ReduceOp::Sum>,  mpiCombine16<Bf16Bits, ReduceOp::Max>,  mpiCombine16<Bf16Bits, ReduceOp::Min>,
        mpiCombineFloat<float, ReduceOp::Max>,  mpiCombineFloat<float, ReduceOp::Min>,  mpiCombineFloat<double, ReduceOp::Max>,
        mpiCombineFloat<double, ReduceOp::Min>,
    };
    MpiOp* slots[] = {&halfOps_[0], &halfOps_[1], &halfOps_[2], &bf16Ops_[0], &bf16Ops_[1],
                      &bf16Ops_[2], &floatOps_[0], &floatOps_[1], &doubleOps_[0], &doubleOps_[1]};
    for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); ++i) check(mpi_->Op_create(functions[i], 1, slots[i]), "MPI_Op_create");
  }

  // The MPI datatype and op that reduce `dtype` with `op` (avg reduces with sum, then divides).
  void reduction(DType dtype, ReduceOp op, MpiDatatype* type, MpiOp* mpiOp) const {
    const int which = op == ReduceOp::Max ? 1 : op == ReduceOp::Min ? 2 : 0;
    switch (dtype) {
      case DType::Float16: *type = half_; *mpiOp = halfOps_[which]; return;
      case DType::BFloat16: *type = bf16_; *mpiOp = bf16Ops_[which]; return;
      case DType::Float32: *type = mpi_->float32; *mpiOp = which == 0 ? mpi_->sum : floatOps_[which - 1]; return;
      case DType::Float64: *type = mpi_->float64; *mpiOp = which == 0 ? mpi_->sum : doubleOps_[which - 1]; return;
      case DType::Int32: *type = mpi_->int32; *mpiOp = which == 0 ? mpi_->sum : which == 1 ? mpi_->max : mpi_->min; return;
      default: fail("ERR_INVALID_DTYPE", std::string("no reduction for ") + dtypeName(dtype));
    }
  }

  void runCollective(const Collective& c, bool agreementOnly, Work& work) {
    const std::string what = describe(c) + " (collective #" + std::to_string(++sequence_) + ")";
    if (exiting_) return work.fail("ERR_DISTRIBUTED", what + " was abandoned: the process is exiting");
    if (!broken_.code.empty()) return work.fail(broken_.code, broken_.message);
    try {
      if (agreementOnly) {
        agree(c, what, Clock::now() + std::chrono::milliseconds(timeoutMs_));
      } else {
        execute(c, what);
      }
      work.succeed();
    } catch (const Error& e) {
      broken_ = Broken{e.code(), std::string(e.what()) + " [the process group is broken by this error; destroy it]"};
      work.fail(e.code(), e.what());
    }
  }

  // Every rank all-reduces (max) the fields of its call and their negations in one 80-byte
  // MPI_Iallreduce: max(-x) = -min(x), so each field's maximum and minimum come back together,
  // and they differ exactly where the ranks disagree, before any data moves.
  void agree(const Collective& c, const std::string& what, Clock::time_point deadline) {
    const int64_t mine[kNumFields] = {int64_t(c.kind), int64_t(c.dtype), int64_t(c.op), int64_t(c.root), c.count};
    int64_t both[2 * kNumFields];
    for (int i = 0; i < kNumFields; ++i) {
      both[i] = mine[i];
      both[kNumFields + i] = -mine[i];
    }
    MpiRequest request = nullptr;
    check(mpi_->Iallreduce(kMpiInPlace, both, 2 * kNumFields, mpi_->int64, mpi_->max, comm_, &request), what);
    poll(&request, deadline, what, timeoutMs_);
    std::string differences;
    for (int i = 0; i < kNumFields; ++i) {
      const int64_t high = both[i], low = -both[kNumFields + i];
      if (high == low) continue;
      const int64_t other = mine[i] == high ? low : high;
      differences += std::string(differences.empty() ? "" : "; ") + kFieldNames[i] + ": this rank " + fieldValue(i, mine[i]) +
                     (size_ == 2 ? ", the other rank " + fieldValue(i, other)
                                 : ", other ranks from " + fieldValue(i, low) + " to " + fieldValue(i, high));
    }
    if (!differences.empty()) {
      fail("ERR_DISTRIBUTED_MISMATCH", what + " on rank " + std::to_string(rank_) + " of " + std::to_string(size_) +
                                           " does not match the other ranks' call: " + differences);
    }
  }

  void execute(const Collective& c, const std::string& what) {
    const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(timeoutMs_);
    agree(c, what, deadline);
    const int64_t bytes = c.count * int64_t(elementSize(c.dtype));
    MpiRequest request = nullptr;
    MpiDatatype type = nullptr;
    MpiOp op = nullptr;
    switch (c.kind) {
      case CollectiveKind::AllReduce:
        reduction(c.dtype, c.op, &type, &op);
        check(mpi_->Iallreduce(kMpiInPlace, c.output, int(c.count), type, op, comm_, &request), what);
        break;
      case CollectiveKind::Broadcast:
        check(mpi_->Ibcast(c.output, int(bytes), mpi_->byte, c.root, comm_, &request), what);
        break;
      case CollectiveKind::AllGather:
        check(mpi_->Iallgather(c.input, int(bytes), mpi_->byte, c.output, int(bytes), mpi_->byte, comm_, &request), what);
        break;
      case CollectiveKind::ReduceScatter:
        reduction(c.dtype, c.op, &type, &op);
        check(mpi_->Ireduce_scatter_block(c.input, c.output, int(c.count), type, op, comm_, &request), what);
        break;
      case CollectiveKind::Barrier:
        check(mpi_->Ibarrier(comm_, &request), what);
        break;
    }
    poll(&request, deadline, what, timeoutMs_);
    if (c.op == ReduceOp::Avg && (c.kind == CollectiveKind::AllReduce || c.kind == CollectiveKind::ReduceScatter)) {
      average(c.dtype, c.output, c.count);
    }
  }

  void average(DType dtype, void* data, int64_t n) const {
    switch (dtype) {
      case DType::Float32: return divideInPlace(static_cast<float*>(data), n, size_);
      case DType::Float64: return divideInPlace(static_cast<double*>(data), n, size_);
      case DType::Float16: return divideInPlace16<HalfBits>(static_cast<uint16_t*>(data), n, size_);
      case DType::BFloat16: return divideInPlace16<Bf16Bits>(static_cast<uint16_t*>(data), n, size_);
      default: fail("ERR_INVALID_DTYPE", std::string("avg is not defined for ") + dtypeName(dtype));
    }
  }

  const MpiLibrary* mpi_ = nullptr;
  std::atomic<bool> active_{false};
  std::atomic<bool> exiting_{false};

  TaskThread worker_;  // the communication thread

  // Touched by the communication thread only.
  bool mpiUp_ = false;
  bool weInitialized_ = false;
  bool hanging_ = false;  // a request was abandoned: MPI_Comm_free / MPI_Finalize would wait for it
  std::string version_;
  MpiComm comm_ = nullptr;
  int rank_ = 0;
  int size_ = 1;
  int64_t timeoutMs_ = 0;
  int64_t sequence_ = 0;
  Broken broken_;
  MpiDatatype half_ = nullptr, bf16_ = nullptr;
  MpiOp halfOps_[3] = {}, bf16Ops_[3] = {}, floatOps_[2] = {}, doubleOps_[2] = {};
};

// Never destroyed: it may still be needed by exit-time hooks after static destructors ran.
Engine& engine() {
  static Engine* instance = new Engine();
  return *instance;
}

}  // namespace

bool mpiAvailable(std::string* reason) { return loadMpi(reason) != nullptr; }
GroupInfo mpiInit(int64_t timeoutMs) { return engine().init(timeoutMs); }
bool mpiGroupActive() { return engine().active(); }
std::shared_ptr<Work> mpiSubmit(const Collective& c, std::function<void()> onDone) { return engine().submit(c, false, std::move(onDone)); }
std::shared_ptr<Work> mpiSubmitAgreement(const Collective& c) { return engine().submit(c, true, nullptr); }
void mpiDestroy() { engine().destroy(); }
void mpiShutdown() { engine().shutdown(); }

}  // namespace mp::dist
