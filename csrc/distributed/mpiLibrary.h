// Open MPI, loaded at run time: the addon has no build or link dependency on MPI, so it builds
// and loads everywhere, and says what is missing only when a process group asks for MPI.
// The few types, constants and prototypes are declared here from Open MPI's ABI (mpi.h of
// Open MPI 4.x/5.x): handles are pointers, the predefined ones are the addresses of exported
// `ompi_mpi_*` objects. MPICH and its derivatives use integer handles and are refused.
#pragma once
#include <string>

namespace mp::dist {

// Open MPI's handle types are pointers to opaque structs.
using MpiComm = void*;
using MpiDatatype = void*;
using MpiOp = void*;
using MpiRequest = void*;
using MpiErrhandler = void*;
using MpiUserFunction = void(void* in, void* inout, int* len, MpiDatatype* type);

inline constexpr int kMpiSuccess = 0;
inline constexpr int kMpiThreadFunneled = 1;
inline constexpr int kMpiThreadSerialized = 2;
inline void* const kMpiInPlace = reinterpret_cast<void*>(1);
inline constexpr int kMpiMaxErrorString = 256;

struct MpiLibrary {
  std::string path;  // the file that was loaded
  int (*Initialized)(int*);
  int (*Finalized)(int*);
  int (*Init_thread)(int*, char***, int, int*);
  int (*Finalize)();
  int (*Get_library_version)(char*, int*);
  int (*Comm_rank)(MpiComm, int*);
  int (*Comm_size)(MpiComm, int*);
  int (*Comm_idup)(MpiComm, MpiComm*, MpiRequest*);
  int (*Comm_free)(MpiComm*);
  int (*Comm_set_errhandler)(MpiComm, MpiErrhandler);
  int (*Error_string)(int, char*, int*);
  int (*Type_contiguous)(int, MpiDatatype, MpiDatatype*);
  int (*Type_commit)(MpiDatatype*);
  int (*Op_create)(MpiUserFunction*, int, MpiOp*);
  int (*Iallreduce)(const void*, void*, int, MpiDatatype, MpiOp, MpiComm, MpiRequest*);
  int (*Ibcast)(void*, int, MpiDatatype, int, MpiComm, MpiRequest*);
  int (*Iallgather)(const void*, int, MpiDatatype, void*, int, MpiDatatype, MpiComm, MpiRequest*);
  int (*Ireduce_scatter_block)(const void*, void*, int, MpiDatatype, MpiOp, MpiComm, MpiRequest*);
  int (*Ibarrier)(MpiComm, MpiRequest*);
  int (*Test)(MpiRequest*, int*, void* status);
  // Predefined handles.
  MpiComm commWorld;
  MpiDatatype byte, int32, int64, float32, float64;
  MpiOp sum, max, min;
  MpiErrhandler errorsReturn;
};

// The library, loaded once per process: MIXPREC_MPI_LIBRARY when set (a path or a soname), else
// libmpi.so.40 (Open MPI 3.x-5.x's runtime), else libmpi.so (present with the -dev package).
// Opened RTLD_NOW | RTLD_GLOBAL: Open MPI's plugins resolve libmpi's symbols globally. Returns
// nullptr with `reason` saying what was tried and what failed; never throws.
const MpiLibrary* loadMpi(std::string* reason);

// MPI_Error_string of `code`, or the number when the library cannot say.
std::string mpiErrorText(const MpiLibrary& mpi, int code);

}  // namespace mp::dist
