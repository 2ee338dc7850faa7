#include "cpu/thread_pool.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace colmax::detail::cpu {
namespace {

class Pool {
 public:
  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : workers_) t.join();
  }

  void run(int threads, int64_t items, const std::function<void(int64_t, int)>& body) {
    std::lock_guard<std::mutex> run_lock(run_mutex_);  // one parallel region at a time
    {
      std::lock_guard<std::mutex> lock(mutex_);
      while (int(workers_.size()) < threads - 1) {
        const int slot = int(workers_.size()) + 1;
        workers_.emplace_back([this, slot] { work(slot); });
      }
      body_ = &body;
      items_ = items;
      next_.store(0, std::memory_order_relaxed);
      helpers_ = threads - 1;
      pending_ = threads - 1;
      error_ = nullptr;
      ++generation_;
    }
    wake_.notify_all();
    take_items(0);
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return pending_ == 0; });
    body_ = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void take_items(int slot) {
    try {
      for (int64_t i = next_.fetch_add(1, std::memory_order_relaxed); i < items_;
           i = next_.fetch_add(1, std::memory_order_relaxed)) {
        (*body_)(i, slot);
      }
    } catch (...) {
      next_.store(items_, std::memory_order_relaxed);  // the others stop early
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
    }
  }

  void work(int slot) {
    uint64_t seen = 0;
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      if (slot > helpers_) continue;  // this run uses fewer threads
      lock.unlock();
      take_items(slot);
      lock.lock();
      if (--pending_ == 0) done_.notify_one();
    }
  }

  std::mutex run_mutex_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  const std::function<void(int64_t, int)>* body_ = nullptr;
  int64_t items_ = 0;
  std::atomic<int64_t> next_{0};
  int helpers_ = 0, pending_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
};

Pool& pool() {
  static Pool p;
  return p;
}

}  // namespace

void parallel_for(int threads, int64_t items, const std::function<void(int64_t, int)>& body) {
  if (items <= 0) return;
  threads = int(std::clamp<int64_t>(threads, 1, items));
  if (threads == 1) {
    for (int64_t i = 0; i < items; ++i) body(i, 0);
    return;
  }
  pool().run(threads, items, body);
}

}  // namespace colmax::detail::cpu
