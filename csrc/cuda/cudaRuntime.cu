// Devices, streams, memory and copies for the CUDA backend.
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "../core/backend.h"
#include "cudaBackend.h"
#include "cudaCheck.h"

namespace mp::cuda {
namespace {

struct DeviceState {
  std::once_flag probed;
  int count = 0;
  std::string reason;
  DriverReport report;
  std::mutex mutex;
  cudaStream_t streams[kMaxDevicesPerType] = {};
  std::vector<std::pair<int, void*>> pendingFrees;
};

DeviceState& state() {
  static DeviceState* s = new DeviceState();  // never destroyed: finalizers may run at exit
  return *s;
}

void probe() {
  DeviceState& s = state();
  std::call_once(s.probed, [&] {
    // Neither version query needs a driver: the static runtime reports driver version 0 when
    // libcuda is absent, which is how "no driver" is told apart from "driver too old".
    cudaRuntimeGetVersion(&s.report.runtimeVersion);
    cudaDriverGetVersion(&s.report.driverVersion);
    int n = 0;
    const cudaError_t status = cudaGetDeviceCount(&n);
    if (status != cudaSuccess) {
      cudaGetLastError();
      s.report.error = cudaGetErrorName(status);
      s.count = 0;
      s.reason = std::string(cudaGetErrorName(status)) + ": " + cudaGetErrorString(status);
    } else {
      s.count = n < kMaxDevicesPerType ? n : kMaxDevicesPerType;
      if (n == 0) s.reason = "no CUDA device is visible";
    }
  });
}

void drainFrees() {
  std::vector<std::pair<int, void*>> frees;
  {
    std::lock_guard<std::mutex> lock(state().mutex);
    frees.swap(state().pendingFrees);
  }
  for (auto& [device, ptr] : frees) {
    cudaSetDevice(device);
    cudaFree(ptr);
  }
}

}  // namespace

bool compiled() { return true; }

int deviceCount() {
  probe();
  return state().count;
}

std::string unavailableReason() {
  probe();
  return state().reason;
}

DriverReport driverReport() {
  probe();
  return state().report;
}

void requireDevice(int device) {
  const int count = deviceCount();
  if (count == 0) {
    throwMixprecError("ERR_CUDA_UNAVAILABLE", "CUDA is not available on this machine (" + state().reason + ")");
  }
  if (device < 0 || device >= count) {
    throwRangeError("ERR_INVALID_DEVICE", "cuda:" + std::to_string(device) + " does not exist: this machine has " +
                                              std::to_string(count) + " CUDA device(s)");
  }
}

int computeCapability(int device) {
  requireDevice(device);
  int major = 0;
  int minor = 0;
  check(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device), "cudaDeviceGetAttribute");
  check(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device), "cudaDeviceGetAttribute");
  return major * 10 + minor;
}

cudaStream_t streamFor(int device) {
  std::lock_guard<std::mutex> lock(state().mutex);
  cudaStream_t& stream = state().streams[device];
  if (!stream) check(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate");
  return stream;
}

cudaStream_t enter(int device) {
  requireDevice(device);
  check(cudaSetDevice(device), "cudaSetDevice");
  return streamFor(device);
}

void* allocate(int device, size_t bytes, bool zeroed) {
  cudaStream_t stream = enter(device);
  drainFrees();
  void* ptr = nullptr;
  check(cudaMalloc(&ptr, bytes == 0 ? 1 : bytes), "cudaMalloc");
  if (zeroed && bytes > 0) check(cudaMemsetAsync(ptr, 0, bytes, stream), "cudaMemsetAsync");
  return ptr;
}

void deferFree(int device, void* ptr) {
  std::lock_guard<std::mutex> lock(state().mutex);
  state().pendingFrees.emplace_back(device, ptr);
}

void copyHostToDevice(int device, void* dst, const void* src, size_t bytes) {
  cudaStream_t stream = enter(device);
  check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream), "cudaMemcpyAsync(host to device)");
  // The host buffer belongs to JS and may move or die once we return.
  check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
}

void copyDeviceToHost(int device, void* dst, const void* src, size_t bytes) {
  cudaStream_t stream = enter(device);
  check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream), "cudaMemcpyAsync(device to host)");
  check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
}

void copyDeviceToDevice(int dstDevice, void* dst, int srcDevice, const void* src, size_t bytes) {
  if (dstDevice == srcDevice) {
    cudaStream_t stream = enter(dstDevice);
    check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream), "cudaMemcpyAsync(device to device)");
    return;
  }
  cudaStream_t srcStream = enter(srcDevice);
  check(cudaStreamSynchronize(srcStream), "cudaStreamSynchronize");
  cudaStream_t dstStream = enter(dstDevice);
  check(cudaMemcpyPeerAsync(dst, dstDevice, src, srcDevice, bytes, dstStream), "cudaMemcpyPeerAsync");
}

void synchronize(int device) {
  cudaStream_t stream = enter(device);
  check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
  drainFrees();
}

}  // namespace mp::cuda
