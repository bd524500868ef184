// The process-wide CPU thread pool. Kernels call parallelFor; it blocks until all chunks ran.
#pragma once
#include <cstdint>
#include <functional>

namespace mp {

// Number of threads kernels may use (MIXPREC_NUM_THREADS, else the number of cores).
int numThreads();

// The threads a parallelFor made now would use: 1 inside a chunk of another parallelFor (it runs
// inline there), else numThreads(). Kernels that size their work units by thread count read it.
int availableThreads();

// Runs fn(begin, end) over [0, n) split into chunks of at least `grain` items. Small ranges, and
// calls made while another thread (a worker_threads environment) is using the pool, run inline on
// the calling thread, so concurrent environments never wait on each other or oversubscribe.
void parallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace mp
