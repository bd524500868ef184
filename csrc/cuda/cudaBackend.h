// The CUDA backend's entry points, implemented by cudaRuntime.cu and the *Kernels.cu files and
// reached through the Backend of cudaDeviceBackend.cpp. The kernels are declared from
// core/backend.h's list, so a .cu definition that drifts from its line does not link.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "../core/backend.h"

namespace mp::cuda {

bool compiled();
// Visible devices; 0 when there is no GPU or no driver (see unavailableReason()).
int deviceCount();
std::string unavailableReason();
// The runtime and driver versions and the device-count query's error name.
DriverReport driverReport();
// Compute capability (major * 10 + minor) of `device`; throws like requireDevice.
int computeCapability(int device);
// Throws ERR_CUDA_UNAVAILABLE / ERR_INVALID_DEVICE unless `device` can be used.
void requireDevice(int device);

void* allocate(int device, size_t bytes, bool zeroed);
// Frees later, on the next allocation or synchronize: a GC finalizer must not block on the GPU.
void deferFree(int device, void* ptr);
void copyHostToDevice(int device, void* dst, const void* src, size_t bytes);
void copyDeviceToHost(int device, void* dst, const void* src, size_t bytes);
void copyDeviceToDevice(int dstDevice, void* dst, int srcDevice, const void* src, size_t bytes);
void synchronize(int device);

// The kernels of core/backend.h's MP_BACKEND_KERNELS, each `name(int device, parameters)`, defined
// by the *Kernels.cu files. Device scalars (gradScale, foundInf, ...) are device pointers. The
// indexing kernels skip indices outside [0, size) (gather and indexSelect write 0 there):
// checking them would need a host sync. scatterAdd and indexAdd accumulate with atomics, so
// float sums depend on thread timing.
#define MP_CUDA_KERNEL_DECLARE(name, params, args) void name(int device, MP_UNPAREN params);
MP_BACKEND_KERNELS(MP_CUDA_KERNEL_DECLARE)
#undef MP_CUDA_KERNEL_DECLARE

}  // namespace mp::cuda
