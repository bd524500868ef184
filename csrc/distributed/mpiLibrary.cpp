#include "mpiLibrary.h"

#include <dlfcn.h>

#include <cstdlib>
#include <vector>

namespace mp::dist {
namespace {

// Finds every symbol or names the first missing one.
class SymbolReader {
 public:
  explicit SymbolReader(void* handle) : handle_(handle) {}
  template <typename T>
  void operator()(T& slot, const char* name) {
    void* symbol = dlsym(handle_, name);
    if (!symbol && missing_.empty()) missing_ = name;
    slot = reinterpret_cast<T>(symbol);
  }
  const std::string& missing() const { return missing_; }

 private:
  void* handle_;
  std::string missing_;
};

bool readSymbols(void* handle, MpiLibrary& m, std::string* reason) {
  // MPICH, Intel MPI and MVAPICH have integer handles and no ompi_* objects: their ABI differs.
  if (!dlsym(handle, "ompi_mpi_comm_world")) {
    *reason = m.path + " is not Open MPI (no ompi_mpi_comm_world symbol): only Open MPI's ABI is supported";
    return false;
  }
  SymbolReader read(handle);
  read(m.Initialized, "MPI_Initialized");
  read(m.Finalized, "MPI_Finalized");
  read(m.Init_thread, "MPI_Init_thread");
  read(m.Finalize, "MPI_Finalize");
  read(m.Get_library_version, "MPI_Get_library_version");
  read(m.Comm_rank, "MPI_Comm_rank");
  read(m.Comm_size, "MPI_Comm_size");
  read(m.Comm_idup, "MPI_Comm_idup");
  read(m.Comm_free, "MPI_Comm_free");
  read(m.Comm_set_errhandler, "MPI_Comm_set_errhandler");
  read(m.Error_string, "MPI_Error_string");
  read(m.Type_contiguous, "MPI_Type_contiguous");
  read(m.Type_commit, "MPI_Type_commit");
  read(m.Op_create, "MPI_Op_create");
  read(m.Iallreduce, "MPI_Iallreduce");
  read(m.Ibcast, "MPI_Ibcast");
  read(m.Iallgather, "MPI_Iallgather");
  read(m.Ireduce_scatter_block, "MPI_Ireduce_scatter_block");
  read(m.Ibarrier, "MPI_Ibarrier");
  read(m.Test, "MPI_Test");
  read(m.commWorld, "ompi_mpi_comm_world");
  read(m.byte, "ompi_mpi_byte");
  read(m.int32, "ompi_mpi_int");
  read(m.int64, "ompi_mpi_int64_t");
  read(m.float32, "ompi_mpi_float");
  read(m.float64, "ompi_mpi_double");
  read(m.sum, "ompi_mpi_op_sum");
  read(m.max, "ompi_mpi_op_max");
  read(m.min, "ompi_mpi_op_min");
  read(m.errorsReturn, "ompi_mpi_errors_return");
  if (!read.missing().empty()) {
    *reason = m.path + " lacks " + read.missing() + " (Open MPI 3.0 or newer is needed: non-blocking collectives)";
    return false;
  }
  return true;
}

struct Loaded {
  MpiLibrary library;
  bool ok = false;
  std::string reason;
};

Loaded load() {
  Loaded out;
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("MIXPREC_MPI_LIBRARY"); env && *env) candidates.push_back(env);
  candidates.push_back("libmpi.so.40");
  candidates.push_back("libmpi.so");
  std::string tried;
  for (const std::string& name : candidates) {
    void* handle = dlopen(name.c_str(), RTLD_NOW | RTLD_GLOBAL);
    if (!handle) {
      const char* why = dlerror();
      tried += (tried.empty() ? "" : "; ") + name + ": " + (why ? why : "not found");
      continue;
    }
    out.library.path = name;
    out.ok = readSymbols(handle, out.library, &out.reason);
    // A library that loads but is not usable is the answer: do not fall through to another one
    // the user did not ask for.
    return out;
  }
  out.reason = "MPI could not be loaded (tried " + tried +
               "); install Open MPI (Debian/Ubuntu: apt-get install openmpi-bin) or set MIXPREC_MPI_LIBRARY";
  return out;
}

}  // namespace

const MpiLibrary* loadMpi(std::string* reason) {
  static const Loaded loaded = load();
  if (!loaded.ok) {
    if (reason) *reason = loaded.reason;
    return nullptr;
  }
  return &loaded.library;
}

std::string mpiErrorText(const MpiLibrary& mpi, int code) {
  char text[kMpiMaxErrorString] = {};
  int length = 0;
  if (mpi.Error_string(code, text, &length) == kMpiSuccess && length > 0) return std::string(text, size_t(length));
  return "MPI error " + std::to_string(code);
}

}  // namespace mp::dist
