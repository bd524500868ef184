#include "threadPool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace mp {
namespace {

// How long a worker keeps polling for the next job before it sleeps. The ops of a training step
// come a few microseconds apart; waking a sleeping worker (a futex call and a scheduler hop, tens
// of microseconds on a VM) cost more than a 128K-element cast's whole work, which ran twice as
// slow on two threads as on one.
constexpr auto kSpinBeforeSleep = std::chrono::microseconds(50);

inline void cpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}

// Polls `ready` for up to kSpinBeforeSleep (checking the clock every 64 polls); whether it held.
template <class Ready>
bool pollFor(const Ready& ready) {
  const auto until = std::chrono::steady_clock::now() + kSpinBeforeSleep;
  for (int i = 1;; ++i) {
    if (ready()) return true;
    cpuRelax();
    if (i % 64 == 0 && std::chrono::steady_clock::now() > until) return false;
  }
}

int configuredThreads() {
  if (const char* env = std::getenv("MIXPREC_NUM_THREADS")) {
    const int n = std::atoi(env);
    if (n >= 1) return std::min(n, 256);
  }
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : int(hw);
}

// How many pool jobs this thread is running a chunk of: a parallelFor made inside one runs inline.
thread_local int jobDepth = 0;

struct InsideJob {
  InsideJob() { ++jobDepth; }
  ~InsideJob() { --jobDepth; }
  InsideJob(const InsideJob&) = delete;
  InsideJob& operator=(const InsideJob&) = delete;
};

class ThreadPool {
 public:
  explicit ThreadPool(int threads) : size_(threads) {
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { workerLoop(); });
  }
  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
      stopping_.store(true);
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
  }

  int size() const { return size_; }

  void run(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
    const int64_t maxChunks = (n + grain - 1) / grain;
    const int chunks = int(std::min<int64_t>(maxChunks, size_));
    std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
    if (chunks <= 1 || !busy.owns_lock()) {
      fn(0, n);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = &fn;
      jobN_ = n;
      jobChunks_ = chunks;
      pending_ = chunks - 1;
      ++generation_;
      nextChunk_.store((generation_ << 32) | 1);
    }
    wake_.notify_all();
    runChunk(0);
    drain(generation_, chunks);
    spinUntilDone();
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return pending_.load() == 0; });
    job_ = nullptr;
  }

 private:
  void runChunk(int c) {
    const int chunks = jobChunks_.load();
    const int64_t begin = jobN_ * c / chunks;
    const int64_t end = jobN_ * (c + 1) / chunks;
    if (begin < end) {
      InsideJob inside;
      (*job_)(begin, end);
    }
  }
  void finishChunk(int c) {
    runChunk(c);
    if (pending_.fetch_sub(1) == 1) {
      // Under the lock, so the notify cannot fall between the caller's check and its wait.
      std::lock_guard<std::mutex> lock(mutex_);
      done_.notify_all();
    }
  }
  // The caller polls for the workers' last chunks for up to kSpinBeforeSleep before it sleeps:
  // with even chunks they finish within microseconds of its own, and a futex sleep and wake-up
  // cost tens of microseconds on a VM (a [256, 256] x [256, 256] GEMM ran slower on two threads
  // than on one).
  void spinUntilDone() const {
    pollFor([this] { return pending_.load() == 0; });
  }
  // Claims chunks of job `gen` until none is left. The generation lives in the claim word, so a
  // worker that wakes late can never run a chunk of a later job with stale parameters.
  void drain(uint64_t gen, int chunks) {
    uint64_t v = nextChunk_.load();
    while ((v >> 32) == gen && int(v & 0xffffffffu) < chunks) {
      if (nextChunk_.compare_exchange_weak(v, v + 1)) {
        finishChunk(int(v & 0xffffffffu));
        v = nextChunk_.load();
      }
    }
  }
  // Polls the claim word for a newer job for kSpinBeforeSleep: publishing a job stores it after
  // the job's fields, so a worker that sees the new generation there may read them.
  bool spinForJob(uint64_t seen) const {
    return pollFor([this, seen] { return (nextChunk_.load() >> 32) != seen || stopping_.load(); });
  }
  void workerLoop() {
    uint64_t seen = 0;
    for (;;) {
      int chunks;
      if (seen != 0 && spinForJob(seen) && !stopping_.load()) {
        seen = nextChunk_.load() >> 32;
        chunks = jobChunks_.load();
      } else {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
        chunks = jobChunks_.load();
      }
      drain(seen, chunks);
    }
  }

  const int size_;
  std::vector<std::thread> workers_;
  std::mutex busy_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t jobN_ = 0;
  // Atomic: a spinning worker may read it while the caller publishes the next job (it then claims
  // nothing, the claim word naming another generation).
  std::atomic<int> jobChunks_{0};
  std::atomic<uint64_t> nextChunk_{0};
  std::atomic<int> pending_{0};
  uint64_t generation_ = 0;
  bool stop_ = false;
  std::atomic<bool> stopping_{false};
};

ThreadPool& pool() {
  static ThreadPool instance(configuredThreads());
  return instance;
}

}  // namespace

int numThreads() { return pool().size(); }

int availableThreads() { return jobDepth > 0 ? 1 : pool().size(); }

void parallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  if (n <= grain) {
    fn(0, n);
    return;
  }
  pool().run(n, std::max<int64_t>(grain, 1), fn);
}

}  // namespace mp
