// What the NCCL engine (csrc/distributed) needs of the CUDA runtime: a dedicated stream and
// events that order it against mixprec's compute stream. Declared here so the distributed layer
// never includes a CUDA header (test/layers.test.ts); the CUDA build defines these in
// csrc/cuda/commStream.cu, a build without the CUDA toolkit in csrc/cuda/cudaUnavailable.cpp,
// where every one throws ERR_CUDA_UNAVAILABLE. Handles are the runtime's cudaStream_t and
// cudaEvent_t, passed as void*. Failures throw mp::Error (ERR_CUDA).
#pragma once

namespace mp::comm {

// cudaSetDevice(device) on the calling thread (NCCL works on the calling thread's device).
void useDevice(int device);
// A new non-blocking stream on `device`, for collectives only.
void* createStream(int device);
void destroyStream(void* stream);
// A new event (no timing) recorded on `stream`, or on the compute stream of `device` (the one
// every mixprec kernel on it runs on) when `stream` is nullptr: it completes when the work
// queued there so far has finished.
void* recordEvent(int device, void* stream);
// Work queued on `stream` from now on waits for `event`.
void streamWait(void* stream, void* event);
// Whether `event` has completed (cudaEventQuery), without blocking.
bool eventDone(void* event);
void destroyEvent(void* event);

}  // namespace mp::comm
