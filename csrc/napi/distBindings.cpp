// The distributed engine's entry points: check the arguments, hand a collective to the engine,
// and tell JavaScript when it ends. Decisions (which tensors, dtype checks, the Work object)
// live in lib/distributed; the engine and its thread in csrc/distributed.
#include <cstdlib>
#include <memory>
#include <string>

#include "../core/errors.h"
#include "../distributed/collective.h"
#include "../distributed/mpiEngine.h"
#include "../distributed/ncclEngine.h"
#include "args.h"
#include "bindings.h"
#include "guarded.h"

namespace mp::napi {
namespace {

const napi_type_tag kWorkTag = {0x6d69787072656331ULL, 0x646973747761726bULL};

// Completion notices go to JavaScript through one thread-safe function, referenced (keeping
// the event loop alive) only while collectives are in flight.
// The engine is one per process, owned by the environment (main thread or worker) that made the
// first group: only its teardown shuts the engine down.
struct Notifier {
  Napi::ThreadSafeFunction tsfn;
  int64_t pending = 0;
  bool live = false;
  napi_env owner = nullptr;
};
Notifier notifier;

void notified(Napi::Env env, Napi::Function onDone, double* id) {
  const double value = *id;
  delete id;
  if (napi_env(env) == nullptr) return;  // the environment is going away
  if (--notifier.pending == 0) notifier.tsfn.Unref(env);
  if (onDone) onDone.Call({Napi::Number::New(env, value)});
}

// NCCL's engine first: its shutdown also stops MPI's, which its thread may be waiting on.
void shutdownAtExit() {
  dist::ncclShutdown();
  dist::mpiShutdown();
}

void cleanupEnv(void*) {
  dist::ncclShutdown();
  dist::mpiShutdown();
  if (notifier.live) {
    notifier.live = false;
    notifier.tsfn.Release();
  }
}

std::string stringField(const Fields& f, const char* name) {
  const Value v = f[name];
  if (!v.raw().IsString()) v.fail("a string");
  return v.raw().As<Napi::String>().Utf8Value();
}

// distAvailability(backend) -> {available, reason}
Napi::Value availability(const Napi::CallbackInfo& cb) {
  Args args(cb, "distAvailability", 1);
  if (!cb[0].IsString()) args.fail(0, "backend", "'mpi' or 'nccl'");
  const std::string backend = cb[0].As<Napi::String>().Utf8Value();
  std::string reason;
  bool available = false;
  if (backend == "mpi") {
    available = dist::mpiAvailable(&reason);
  } else if (backend == "nccl") {
    available = dist::ncclAvailable(&reason);
  } else {
    args.fail(0, "backend", "'mpi' or 'nccl'");
  }
  Napi::Object out = Napi::Object::New(cb.Env());
  out.Set("available", available);
  out.Set("reason", reason);
  return out;
}

// distInit({backend, timeoutMs, onComplete}) -> {rank, worldSize, library}
Napi::Value init(const Napi::CallbackInfo& cb) {
  const Fields f = Args(cb, "distInit", 1).fields(0);
  const std::string backend = stringField(f, "backend");
  if (backend != "mpi" && backend != "nccl") f.fail("backend", "'mpi' or 'nccl'");
  const int64_t timeoutMs = f["timeoutMs"].count();
  const Value onComplete = f["onComplete"];
  if (!onComplete.raw().IsFunction()) onComplete.fail("a function");
  if (dist::mpiGroupActive() || dist::ncclGroupActive()) throwMixprecError("ERR_DISTRIBUTED", "mixprec distributed: initProcessGroup: a process group already exists");
  Napi::Env env = cb.Env();
  if (notifier.owner && notifier.owner != napi_env(env)) {
    throwMixprecError("ERR_DISTRIBUTED", "mixprec distributed: initProcessGroup: MPI belongs to the thread (main or worker) that first made a "
                                         "process group in this process; make groups there");
  }
  const dist::GroupInfo info = backend == "nccl" ? dist::ncclInit(timeoutMs) : dist::mpiInit(timeoutMs);
  if (!notifier.live) {
    notifier.tsfn = Napi::ThreadSafeFunction::New(env, onComplete.raw().As<Napi::Function>(), "mixprec.distributed", 0, 1);
    notifier.tsfn.Unref(env);
    notifier.live = true;
    notifier.owner = env;
    napi_add_env_cleanup_hook(env, cleanupEnv, nullptr);
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("rank", info.rank);
  out.Set("worldSize", info.size);
  out.Set("library", info.library);
  return out;
}

Napi::Value destroy(const Napi::CallbackInfo& cb) {
  if (dist::ncclGroupActive()) {
    dist::ncclDestroy();
  } else {
    dist::mpiDestroy();
  }
  return cb.Env().Undefined();
}

void finalizeWork(node_api_basic_env, void* data, void*) { delete static_cast<std::shared_ptr<dist::Work>*>(data); }

std::shared_ptr<dist::Work>& unwrapWork(const Napi::CallbackInfo& cb, const char* function) {
  Args args(cb, function, 1);
  bool tagged = false;
  void* data = nullptr;
  if (cb[0].Type() != napi_external || napi_check_object_type_tag(cb.Env(), cb[0], &kWorkTag, &tagged) != napi_ok || !tagged ||
      napi_get_value_external(cb.Env(), cb[0], &data) != napi_ok) {
    args.fail(0, "work", "a work handle from distSubmit");
  }
  return *static_cast<std::shared_ptr<dist::Work>*>(data);
}

// The buffer of `count` elements of `dtype` at `name` ({storage, offset}), on the group's
// device: host memory for MPI, this rank's CUDA device for NCCL.
void* collectiveBuffer(const Fields& f, const char* name, int64_t count, DType dtype, const char* collective) {
  const View v = f.view(name, count, dtype);
  if (dist::ncclGroupActive()) {
    const int device = dist::ncclDevice();
    if (v.device().type != DeviceType::Cuda || v.index() != device) {
      throwMixprecError("ERR_DEVICE_MISMATCH", std::string("mixprec distributed: ") + collective + ": argument '" + name + "' is on " +
                                                   deviceTypeName(v.device().type) + ":" + std::to_string(v.index()) +
                                                   ", but the 'nccl' backend of this rank reduces CUDA tensors on cuda:" +
                                                   std::to_string(device));
    }
  } else if (!v.backend().hostAccessible()) {
    throwMixprecError("ERR_DEVICE_MISMATCH", std::string("mixprec distributed: ") + collective +
                                                 ": the MPI backend reduces CPU tensors; CUDA tensors need backend 'nccl'");
  }
  return v.data();
}

// distSubmit({kind, dtype, op, root, count, size, input, output, id}) -> work handle. `count`:
// the elements each rank contributes (see dist::Collective); `size`: the world size, for the
// gathered and scattered sides' bounds. The engine notifies onComplete(id) when it ends.
Napi::Value submit(const Napi::CallbackInfo& cb) {
  const Fields f = Args(cb, "distSubmit", 1).fields(0);
  if (notifier.owner != napi_env(cb.Env())) {
    throwMixprecError("ERR_DISTRIBUTED_NOT_INITIALIZED", "mixprec distributed: no process group on this thread (main or worker)");
  }
  dist::Collective c;
  const std::string kind = stringField(f, "kind");
  bool known = false;
  for (dist::CollectiveKind k : {dist::CollectiveKind::AllReduce, dist::CollectiveKind::Broadcast, dist::CollectiveKind::AllGather,
                                 dist::CollectiveKind::ReduceScatter, dist::CollectiveKind::Barrier}) {
    if (kind == dist::collectiveName(k)) {
      c.kind = k;
      known = true;
    }
  }
  if (!known) f.fail("kind", "allReduce, broadcast, allGather, reduceScatter or barrier");
  const double id = f["id"].number();
  if (c.kind != dist::CollectiveKind::Barrier) {
    c.dtype = f["dtype"].dtype();
    if (c.dtype == DType::Bool) f.fail("dtype", "float32, float64, int32, float16 or bfloat16");
    c.count = f["count"].count();
    const int64_t size = f["size"].count();
    const int64_t bytes = c.count * int64_t(elementSize(c.dtype));
    if (bytes > int64_t(INT32_MAX) || c.count * size > (int64_t(1) << 53)) {
      throwRangeError("ERR_INVALID_ARG", std::string("mixprec distributed: ") + kind + ": at most 2^31-1 bytes per rank (MPI counts are int), got " +
                                              std::to_string(bytes));
    }
    const char* name = dist::collectiveName(c.kind);
    switch (c.kind) {
      case dist::CollectiveKind::AllReduce:
      case dist::CollectiveKind::ReduceScatter: {
        if (!dist::parseReduceOp(stringField(f, "op"), &c.op)) f.fail("op", "'sum', 'avg', 'max' or 'min'");
        if (c.op == dist::ReduceOp::Avg && c.dtype == DType::Int32) f.fail("op", "sum, max or min for int32 (avg is for floating dtypes)");
        c.output = collectiveBuffer(f, "output", c.count, c.dtype, name);
        if (c.kind == dist::CollectiveKind::ReduceScatter) c.input = collectiveBuffer(f, "input", c.count * size, c.dtype, name);
        break;
      }
      case dist::CollectiveKind::Broadcast:
        c.root = f["root"].int32();
        if (c.root < 0 || c.root >= size) f.fail("root", "a rank in [0, " + std::to_string(size) + ")");
        c.output = collectiveBuffer(f, "output", c.count, c.dtype, name);
        break;
      case dist::CollectiveKind::AllGather:
        c.input = collectiveBuffer(f, "input", c.count, c.dtype, name);
        c.output = collectiveBuffer(f, "output", c.count * size, c.dtype, name);
        break;
      case dist::CollectiveKind::Barrier: break;
    }
  }
  ++notifier.pending;
  if (notifier.pending == 1 && notifier.live) notifier.tsfn.Ref(cb.Env());
  std::shared_ptr<dist::Work> work;
  try {
    Napi::ThreadSafeFunction tsfn = notifier.tsfn;
    auto onDone = [tsfn, id]() mutable { tsfn.NonBlockingCall(new double(id), notified); };
    work = dist::ncclGroupActive() ? dist::ncclSubmit(c, onDone) : dist::mpiSubmit(c, onDone);
  } catch (...) {
    if (--notifier.pending == 0 && notifier.live) notifier.tsfn.Unref(cb.Env());
    throw;
  }
  napi_value handle;
  auto* box = new std::shared_ptr<dist::Work>(std::move(work));
  if (napi_create_external(cb.Env(), box, finalizeWork, nullptr, &handle) != napi_ok) {
    delete box;
    throwMixprecError("ERR_NAPI", "N-API call failed: napi_create_external");
  }
  napi_type_tag_object(cb.Env(), handle, &kWorkTag);
  return Napi::Value(cb.Env(), handle);
}

// distWait(work): blocks this thread until the collective ends; throws its error.
Napi::Value wait(const Napi::CallbackInfo& cb) {
  std::shared_ptr<dist::Work> work = unwrapWork(cb, "distWait");
  work->wait();
  return cb.Env().Undefined();
}

Napi::Value completed(const Napi::CallbackInfo& cb) {
  return Napi::Boolean::New(cb.Env(), unwrapWork(cb, "distCompleted")->completed());
}

}  // namespace

void registerDistBindings(Napi::Env env, Napi::Object exports) {
  static const bool atExitRegistered = std::atexit(shutdownAtExit) == 0;
  (void)atExitRegistered;
  exportFunction<availability>(env, exports, "distAvailability");
  exportFunction<init>(env, exports, "distInit");
  exportFunction<destroy>(env, exports, "distDestroy");
  exportFunction<submit>(env, exports, "distSubmit");
  exportFunction<wait>(env, exports, "distWait");
  exportFunction<completed>(env, exports, "distCompleted");
}

}  // namespace mp::napi
