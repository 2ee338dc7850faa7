// The machine's memory read bandwidth: every thread sums its slice of a 512 MiB buffer (far
// larger than any cache). With the FMA peak it gives the roofline of a MaxSim shape:
// min(FMA peak, bandwidth x FLOP per document byte).
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstring>
#include <thread>
#include <vector>

#include "bench_inputs.hpp"

namespace colmax::bench {
namespace {

constexpr size_t kBytes = size_t(512) << 20;

// Eight independent sums: the loads, not an add chain, are the limit.
float sum_slice(const float* p, size_t n) {
  float acc[8] = {};
  for (size_t i = 0; i + 8 <= n; i += 8) {
    for (int j = 0; j < 8; ++j) acc[j] += p[i + j];
  }
  float s = 0;
  for (float a : acc) s += a;
  return s;
}

void BM_ReadBandwidth(benchmark::State& state) {
  static HugePageBytes buffer;
  if (buffer.size() == 0) {
    buffer.assign(kBytes);
    std::memset(buffer.data(), 1, kBytes);
  }
  const int threads = int(state.range(0));
  const auto* data = reinterpret_cast<const float*>(buffer.data());
  const size_t per = kBytes / sizeof(float) / size_t(threads);
  for (auto _ : state) {
    std::vector<float> sums(static_cast<size_t>(threads));
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] { sums[size_t(t)] = sum_slice(data + size_t(t) * per, per); });
    }
    for (auto& th : pool) th.join();
    benchmark::DoNotOptimize(sums.data());
  }
  state.counters["GB/s"] =
      benchmark::Counter(double(kBytes) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_ReadBandwidth)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(int64_t(std::thread::hardware_concurrency()))
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace colmax::bench
