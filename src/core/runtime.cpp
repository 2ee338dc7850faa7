// Version and thread settings shared by every backend.
#include "colmax/runtime.hpp"

#include <atomic>
#include <cstdlib>
#include <thread>

namespace colmax {
namespace {
std::atomic<int> g_threads{0};
}

const char* version() noexcept {
  return COLMAX_VERSION;
}

int default_num_threads() {
  if (int t = g_threads.load(std::memory_order_relaxed); t > 0) return t;
  if (const char* env = std::getenv("COLMAX_NUM_THREADS")) {
    int t = std::atoi(env);
    if (t > 0) return t;
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : int(hw);
}

void set_default_num_threads(int threads) {
  g_threads.store(threads > 0 ? threads : 0, std::memory_order_relaxed);
}

}  // namespace colmax
