// NCCL, loaded at run time: the addon has no build or link dependency on nccl.h or libnccl, so
// it builds and loads everywhere, and says what is missing only when asked for NCCL. The types,
// constants and prototypes below are our own declarations of NCCL's stable C ABI (nccl.h of
// NCCL 2.10 and newer: the first with ncclAvg and ncclBfloat16, which mixprec needs).
#pragma once
#include <cstddef>
#include <string>

namespace mp::dist {

using NcclComm = void*;    // ncclComm_t: a pointer to an opaque struct
using CudaStream = void*;  // cudaStream_t, as NCCL's prototypes take it
using NcclResult = int;    // ncclResult_t
using NcclDataType = int;  // ncclDataType_t
using NcclRedOp = int;     // ncclRedOp_t

inline constexpr NcclResult kNcclSuccess = 0;
inline constexpr NcclResult kNcclInProgress = 7;
inline constexpr int kNcclUniqueIdBytes = 128;
struct NcclUniqueId {
  char internal[kNcclUniqueIdBytes];
};

// ncclDataType_t values used by mixprec.
inline constexpr NcclDataType kNcclInt32 = 2, kNcclFloat16 = 6, kNcclFloat32 = 7, kNcclFloat64 = 8, kNcclBfloat16 = 9;
// ncclRedOp_t values.
inline constexpr NcclRedOp kNcclSum = 0, kNcclMax = 2, kNcclMin = 3, kNcclAvg = 4;

// 2.10.0 in NCCL's encoding (major * 10000 + minor * 100 + patch since 2.9).
inline constexpr int kNcclMinVersion = 21000;

struct NcclLibrary {
  std::string path;  // the file that was loaded, as the dynamic loader resolved it
  int version = 0;   // ncclGetVersion's code
  NcclResult (*GetVersion)(int*);
  NcclResult (*GetUniqueId)(NcclUniqueId*);
  NcclResult (*CommInitRank)(NcclComm*, int nranks, NcclUniqueId id, int rank);
  NcclResult (*CommDestroy)(NcclComm);
  NcclResult (*CommAbort)(NcclComm);
  NcclResult (*CommGetAsyncError)(NcclComm, NcclResult*);
  const char* (*GetErrorString)(NcclResult);
  NcclResult (*AllReduce)(const void*, void*, size_t, NcclDataType, NcclRedOp, NcclComm, CudaStream);
  NcclResult (*Broadcast)(const void*, void*, size_t, NcclDataType, int root, NcclComm, CudaStream);
  NcclResult (*AllGather)(const void*, void*, size_t, NcclDataType, NcclComm, CudaStream);
  NcclResult (*ReduceScatter)(const void*, void*, size_t, NcclDataType, NcclRedOp, NcclComm, CudaStream);
  NcclResult (*GroupStart)();
  NcclResult (*GroupEnd)();
};

// The library, loaded once per process. Search order: MIXPREC_NCCL_LIBRARY when set (a path or
// a soname; when it is set, it is the only candidate, so a typo never falls back to another
// NCCL), else libnccl.so.2 through the dynamic loader's own search (LD_LIBRARY_PATH, the
// ld.so cache: the CUDA installation's or the distribution's NCCL). NVIDIA's pip wheel
// (nvidia-nccl-cu12/cu13: site-packages/nvidia/nccl/lib/libnccl.so.2) is not searched: point
// MIXPREC_NCCL_LIBRARY at it. Returns nullptr with `reason` saying what was tried and what
// failed (dlerror's words); never throws.
const NcclLibrary* loadNccl(std::string* reason);

// "2.30.7" from ncclGetVersion's code (both encodings: before and since 2.9).
std::string ncclVersionText(int code);

// ncclGetErrorString of `result`, with the number.
std::string ncclErrorText(const NcclLibrary& nccl, NcclResult result);

}  // namespace mp::dist
