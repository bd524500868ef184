#include "backend.h"

namespace mp {

namespace {
// One entry per DeviceType, in its order: adding a device type adds one line to each.
Backend& (*const kBackends[kNumDeviceTypes])() = {cpuBackend, cudaBackend};
const char* const kNames[kNumDeviceTypes] = {"cpu", "cuda"};
}  // namespace

Backend& backendFor(DeviceType type) { return kBackends[int(type)](); }

const char* deviceTypeName(DeviceType type) { return kNames[int(type)]; }

}  // namespace mp
