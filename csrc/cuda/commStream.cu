// The CUDA side of the NCCL engine's stream ordering (core/commStream.h).
#include "../core/commStream.h"
#include "cudaCheck.h"

namespace mp::comm {

void useDevice(int device) { cuda::check(cudaSetDevice(device), "cudaSetDevice"); }

void* createStream(int device) {
  useDevice(device);
  cudaStream_t stream = nullptr;
  cuda::check(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
  return stream;
}

void destroyStream(void* stream) { cuda::check(cudaStreamDestroy(static_cast<cudaStream_t>(stream)), "cudaStreamDestroy"); }

void* recordEvent(int device, void* stream) {
  cudaStream_t target = stream ? static_cast<cudaStream_t>(stream) : cuda::enter(device);
  cudaEvent_t event = nullptr;
  cuda::check(cudaEventCreateWithFlags(&event, cudaEventDisableTiming), "cudaEventCreateWithFlags");
  const cudaError_t recorded = cudaEventRecord(event, target);
  if (recorded != cudaSuccess) cudaEventDestroy(event);
  cuda::check(recorded, "cudaEventRecord");
  return event;
}

void streamWait(void* stream, void* event) {
  cuda::check(cudaStreamWaitEvent(static_cast<cudaStream_t>(stream), static_cast<cudaEvent_t>(event), 0), "cudaStreamWaitEvent");
}

bool eventDone(void* event) {
  const cudaError_t status = cudaEventQuery(static_cast<cudaEvent_t>(event));
  if (status == cudaErrorNotReady) return false;
  cuda::check(status, "cudaEventQuery");
  return true;
}

void destroyEvent(void* event) { cuda::check(cudaEventDestroy(static_cast<cudaEvent_t>(event)), "cudaEventDestroy"); }

}  // namespace mp::comm
