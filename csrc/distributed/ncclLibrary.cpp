#include "ncclLibrary.h"

#include <dlfcn.h>
#include <link.h>

#include <cstdlib>
#include <type_traits>

namespace mp::dist {
namespace {

struct Loaded {
  NcclLibrary library;
  bool ok = false;
  std::string reason;
};

// The file the loader picked for `handle` (a soname resolves through the search path).
std::string resolvedPath(void* handle, const std::string& requested) {
  link_map* map = nullptr;
  if (dlinfo(handle, RTLD_DI_LINKMAP, &map) == 0 && map && map->l_name && *map->l_name) return map->l_name;
  return requested;
}

bool readSymbols(void* handle, NcclLibrary& n, std::string* reason) {
  std::string missing;
  auto read = [&](auto& slot, const char* name) {
    void* symbol = dlsym(handle, name);
    if (!symbol && missing.empty()) missing = name;
    slot = reinterpret_cast<std::remove_reference_t<decltype(slot)>>(symbol);
  };
  read(n.GetVersion, "ncclGetVersion");
  read(n.GetUniqueId, "ncclGetUniqueId");
  read(n.CommInitRank, "ncclCommInitRank");
  read(n.CommDestroy, "ncclCommDestroy");
  read(n.CommAbort, "ncclCommAbort");
  read(n.CommGetAsyncError, "ncclCommGetAsyncError");
  read(n.GetErrorString, "ncclGetErrorString");
  read(n.AllReduce, "ncclAllReduce");
  read(n.Broadcast, "ncclBroadcast");
  read(n.AllGather, "ncclAllGather");
  read(n.ReduceScatter, "ncclReduceScatter");
  read(n.GroupStart, "ncclGroupStart");
  read(n.GroupEnd, "ncclGroupEnd");
  if (!missing.empty()) {
    *reason = n.path + " lacks " + missing + ": it is not NCCL, or an NCCL older than 2.10";
    return false;
  }
  if (n.GetVersion(&n.version) != kNcclSuccess) {
    *reason = n.path + ": ncclGetVersion failed";
    return false;
  }
  if (n.version < kNcclMinVersion) {
    *reason = n.path + " is NCCL " + ncclVersionText(n.version) + "; mixprec needs NCCL 2.10 or newer (ncclAvg, ncclBfloat16)";
    return false;
  }
  return true;
}

Loaded load() {
  Loaded out;
  const char* env = std::getenv("MIXPREC_NCCL_LIBRARY");
  const bool fromEnv = env && *env;
  const std::string name = fromEnv ? env : "libnccl.so.2";
  // RTLD_LOCAL: nothing else resolves against NCCL's symbols, and its own CUDA runtime is static.
  void* handle = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = dlerror();
    out.reason = "NCCL could not be loaded from " + (fromEnv ? "MIXPREC_NCCL_LIBRARY=" + name : name) + " (" +
                 (why ? why : "not found") + ")" +
                 (fromEnv ? "; fix the path or unset it"
                          : "; install NCCL (the CUDA repository's libnccl2, or pip's nvidia-nccl-cu12/cu13) or set "
                            "MIXPREC_NCCL_LIBRARY to the path of libnccl.so.2");
    return out;
  }
  out.library.path = resolvedPath(handle, name);
  out.ok = readSymbols(handle, out.library, &out.reason);
  return out;
}

}  // namespace

const NcclLibrary* loadNccl(std::string* reason) {
  static const Loaded loaded = load();
  if (!loaded.ok) {
    if (reason) *reason = loaded.reason;
    return nullptr;
  }
  return &loaded.library;
}

std::string ncclVersionText(int code) {
  // NCCL_VERSION(X,Y,Z): X*1000 + Y*100 + Z up to 2.8, X*10000 + Y*100 + Z since 2.9.
  const int major = code >= 10000 ? code / 10000 : code / 1000;
  const int minor = code >= 10000 ? code / 100 % 100 : code / 100 % 10;
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(code % 100);
}

std::string ncclErrorText(const NcclLibrary& nccl, NcclResult result) {
  const char* text = nccl.GetErrorString(result);
  return std::string(text ? text : "unknown NCCL error") + " (ncclResult_t " + std::to_string(result) + ")";
}

}  // namespace mp::dist
