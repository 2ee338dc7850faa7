// parallel.hpp — split a range over a few std::threads (host-side work of the command line).
#pragma once

#include <algorithm>
#include <cstdint>
#include <exception>
#include <thread>
#include <vector>

namespace colmax::cli {

// Calls body(begin, end) on `threads` contiguous blocks of [0, n); rethrows the first
// exception a block threw.
template <class Body>
void parallel_blocks(int64_t n, int threads, Body&& body) {
  const int64_t t = std::clamp<int64_t>(threads, 1, std::max<int64_t>(n, 1));
  if (t == 1) {
    body(int64_t(0), n);
    return;
  }
  std::vector<std::thread> pool;
  std::vector<std::exception_ptr> errors(static_cast<size_t>(t));
  for (int64_t i = 0; i < t; ++i) {
    pool.emplace_back([&, i] {
      try {
        body(n * i / t, n * (i + 1) / t);
      } catch (...) {
        errors[size_t(i)] = std::current_exception();
      }
    });
  }
  for (std::thread& th : pool) th.join();
  for (const std::exception_ptr& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

}  // namespace colmax::cli
