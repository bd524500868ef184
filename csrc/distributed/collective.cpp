#include "collective.h"

#include "../core/errors.h"

namespace mp::dist {

const char* collectiveName(CollectiveKind kind) {
  switch (kind) {
    case CollectiveKind::AllReduce: return "allReduce";
    case CollectiveKind::Broadcast: return "broadcast";
    case CollectiveKind::AllGather: return "allGather";
    case CollectiveKind::ReduceScatter: return "reduceScatter";
    case CollectiveKind::Barrier: return "barrier";
  }
  return "?";
}

const char* reduceOpName(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum: return "sum";
    case ReduceOp::Avg: return "avg";
    case ReduceOp::Max: return "max";
    case ReduceOp::Min: return "min";
  }
  return "?";
}

bool parseReduceOp(const std::string& name, ReduceOp* op) {
  for (ReduceOp candidate : {ReduceOp::Sum, ReduceOp::Avg, ReduceOp::Max, ReduceOp::Min}) {
    if (name == reduceOpName(candidate)) {
      *op = candidate;
      return true;
    }
  }
  return false;
}

std::string describe(const Collective& c) {
  std::string text = collectiveName(c.kind);
  if (c.kind == CollectiveKind::Barrier) return text + "()";
  text += std::string("(") + dtypeName(c.dtype) + ", " + std::to_string(c.count) + " elements";
  if (c.kind == CollectiveKind::AllReduce || c.kind == CollectiveKind::ReduceScatter) text += std::string(", op ") + reduceOpName(c.op);
  if (c.kind == CollectiveKind::Broadcast) text += ", src " + std::to_string(c.root);
  return text + ")";
}

void Work::wait() {
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, [this] { return completed_; });
  if (!code_.empty()) throwMixprecError(code_, message_);
}

bool Work::completed() {
  std::lock_guard<std::mutex> lock(mutex_);
  return completed_;
}

void Work::succeed() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    completed_ = true;
  }
  done_.notify_all();
}

void Work::fail(const std::string& code, const std::string& message) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    completed_ = true;
    code_ = code;
    message_ = message;
  }
  done_.notify_all();
}

}  // namespace mp::dist
