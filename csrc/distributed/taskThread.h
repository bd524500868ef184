// One thread that runs posted tasks in submission order. Each distributed engine makes every
// call into its library (MPI, NCCL) on its own TaskThread, so the library only ever sees that
// thread, and the JS thread never blocks inside it.
#pragma once
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>

namespace mp::dist {

class TaskThread {
 public:
  // Queues `task`; the thread starts with the first one.
  void post(std::function<void()> task) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!thread_.joinable()) thread_ = std::thread([this] { loop(); });
    tasks_.push_back(std::move(task));
    wake_.notify_one();
  }

  // Runs `task` on the thread and waits for it; rethrows what it threw.
  template <typename F>
  void run(F task) {
    auto done = std::make_shared<std::promise<void>>();
    std::future<void> result = done->get_future();
    post([task, done]() mutable {
      try {
        task();
        done->set_value();
      } catch (...) {
        done->set_exception(std::current_exception());
      }
    });
    result.get();
  }

  bool started() {
    std::lock_guard<std::mutex> lock(mutex_);
    return thread_.joinable();
  }

  // Runs the tasks queued so far, then ends the thread and joins it; nothing to do if it never
  // started.
  void stop() {
    if (!started()) return;
    post([this] { stop_ = true; });
    thread_.join();
  }

 private:
  void loop() {
    while (!stop_) {
      std::function<void()> task;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [this] { return !tasks_.empty(); });
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;
  std::thread thread_;
  bool stop_ = false;  // touched by the thread only
};

// The pause between two polls of a collective that has waited `waited` so far. MPI moves data only
// inside its calls, so a large transfer needs frequent tests: yield (other threads still run) for
// the first 200 ms, then sleep 50 us, and 1 ms after 2 s, when a peer is clearly late rather than
// the transfer long. NCCL's completion is polled the same way.
inline void pauseBetweenPolls(std::chrono::steady_clock::duration waited) {
  if (waited < std::chrono::milliseconds(200)) {
    std::this_thread::yield();
  } else {
    std::this_thread::sleep_for(std::chrono::microseconds(waited < std::chrono::seconds(2) ? 50 : 1000));
  }
}

}  // namespace mp::dist
