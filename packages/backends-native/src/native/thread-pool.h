// A persistent pool of worker threads for parallelFor: starting threads for every kernel call cost
// more than the small kernels themselves. Calls come from one JavaScript thread, one at a time.
#pragma once
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace bmp {

class ThreadPool {
 public:
  static ThreadPool& instance() {
    static ThreadPool pool;
    return pool;
  }

  // Runs task(i) for i in [0, tasks): task 0 on the calling thread, the others on workers; returns when
  // all are done.
  void run(int tasks, const std::function<void(int)>& task) {
    if (tasks <= 1) {
      if (tasks == 1) task(0);
      return;
    }
    std::lock_guard<std::mutex> caller(callMutex_);  // one call at a time (Node worker threads)
    grow(tasks - 1);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      task_ = &task;
      pending_ = tasks - 1;
      active_ = tasks - 1;
      generation_++;
    }
    wake_.notify_all();
    task(0);
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return pending_ == 0; });
    task_ = nullptr;
  }

  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
      generation_++;
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
  }

 private:
  void grow(int n) {
    while (int(workers_.size()) < n) {
      const int index = int(workers_.size()) + 1;  // task index this worker runs
      workers_.emplace_back([this, index] { loop(index); });
    }
  }

  void loop(int index) {
    uint64_t seen = 0;
    for (;;) {
      const std::function<void(int)>* task;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
        if (index > active_) continue;  // not needed this time
        task = task_;
      }
      (*task)(index);
      std::lock_guard<std::mutex> lock(mutex_);
      if (--pending_ == 0) done_.notify_one();
    }
  }

  std::mutex callMutex_, mutex_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  const std::function<void(int)>* task_ = nullptr;
  uint64_t generation_ = 0;
  int pending_ = 0, active_ = 0;
  bool stop_ = false;
};

// Elements below which the element-wise kernels stay on one thread (waking workers costs more).
constexpr int64_t kParallelMin = 1 << 16;

inline int threadsFor(int64_t elements, int threads) { return elements < kParallelMin ? 1 : threads; }

// Runs fn(begin, end) over [0, total) cut into up to `threads * split` contiguous ranges, which the
// threads claim one at a time: a thread slowed down by other work on the machine takes fewer ranges
// instead of holding up the call. Callers compute every index the same way whatever range it falls in,
// so results do not depend on the split or on which thread ran what. A larger `split` balances better;
// a smaller one suits kernels whose ranges each read all of the input (the filter gradients).
template <class F>
void parallelFor(int64_t total, int threads, F fn, int split = 4) {
  threads = int(std::max<int64_t>(1, std::min<int64_t>(threads, total)));
  if (threads == 1) {
    fn(int64_t(0), total);
    return;
  }
  const int64_t parts = std::min<int64_t>(total, int64_t(threads) * std::max(1, split));
  std::atomic<int64_t> next{0};
  ThreadPool::instance().run(threads, [&](int) {
    for (int64_t p; (p = next.fetch_add(1, std::memory_order_relaxed)) < parts;) {
      const int64_t b = total * p / parts, e = total * (p + 1) / parts;
      if (b < e) fn(b, e);
    }
  });
}

}  // namespace bmp
