// What one collective call is, independent of the engine that runs it (MPI or NCCL), and the
// state a caller waits on.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>

#include "../core/dtype.h"

namespace mp::dist {

enum class CollectiveKind { AllReduce, Broadcast, AllGather, ReduceScatter, Barrier };
enum class ReduceOp { Sum, Avg, Max, Min };

const char* collectiveName(CollectiveKind kind);
const char* reduceOpName(ReduceOp op);
// 'sum' | 'avg' | 'max' | 'min' -> the op; false for anything else.
bool parseReduceOp(const std::string& name, ReduceOp* op);

struct Collective {
  CollectiveKind kind = CollectiveKind::Barrier;
  DType dtype = DType::Float32;
  ReduceOp op = ReduceOp::Sum;  // allReduce and reduceScatter only
  int root = 0;                 // broadcast only
  // Elements each rank contributes: the tensor (allReduce, broadcast), the input (allGather) or
  // the output (reduceScatter). allGather's output and reduceScatter's input hold size * count.
  int64_t count = 0;
  void* input = nullptr;   // allGather, reduceScatter
  void* output = nullptr;  // every kind but barrier (allReduce and broadcast work in place here)
};

// "allReduce(float32, 1000 elements, op sum)", for error messages.
std::string describe(const Collective& c);

// The outcome of one submitted collective. The engine's thread finishes it once; any thread
// may wait on it.
class Work {
 public:
  // Blocks until the collective ends; throws its error (mp::Error with an ERR_DISTRIBUTED_* code).
  void wait();
  bool completed();
  void succeed();
  void fail(const std::string& code, const std::string& message);

 private:
  std::mutex mutex_;
  std::condition_variable done_;
  bool completed_ = false;
  std::string code_;  // empty: succeeded
  std::string message_;
};

}  // namespace mp::dist
