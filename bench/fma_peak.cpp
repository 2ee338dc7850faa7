// The machine's fp32 FMA peak: independent FMA chains that never touch memory, on 1 and on
// all hardware threads at once. The "% of peak" figures in docs/cpu.md divide by this.
#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace colmax::bench {
namespace {

constexpr int64_t kIterations = 20'000'000;

#if defined(__x86_64__)
// 12 chains of 8-lane FMAs: enough to cover 2 pipes x 4-5 cycles of latency.
__attribute__((target("avx2,fma"))) double fma_avx2(int64_t iters) {
  __m256 a0 = _mm256_set1_ps(1.0f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0,
         a8 = a0, a9 = a0, a10 = a0, a11 = a0;
  const __m256 b = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
  for (int64_t i = 0; i < iters; ++i) {
    a0 = _mm256_fmadd_ps(a0, b, c);
    a1 = _mm256_fmadd_ps(a1, b, c);
    a2 = _mm256_fmadd_ps(a2, b, c);
    a3 = _mm256_fmadd_ps(a3, b, c);
    a4 = _mm256_fmadd_ps(a4, b, c);
    a5 = _mm256_fmadd_ps(a5, b, c);
    a6 = _mm256_fmadd_ps(a6, b, c);
    a7 = _mm256_fmadd_ps(a7, b, c);
    a8 = _mm256_fmadd_ps(a8, b, c);
    a9 = _mm256_fmadd_ps(a9, b, c);
    a10 = _mm256_fmadd_ps(a10, b, c);
    a11 = _mm256_fmadd_ps(a11, b, c);
    __asm__ volatile(""
                     : "+x"(a0), "+x"(a1), "+x"(a2), "+x"(a3), "+x"(a4), "+x"(a5), "+x"(a6),
                       "+x"(a7), "+x"(a8), "+x"(a9), "+x"(a10), "+x"(a11));
  }
  const __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                                 _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
  benchmark::DoNotOptimize(s);
  benchmark::DoNotOptimize(_mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
  return double(iters) * 12 * 8 * 2;
}

// 24 chains of 16-lane FMAs, each its own variable so that all stay in registers.
// clang-format off
#define COLMAX_24(X) \
  X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) \
  X(12) X(13) X(14) X(15) X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23)
// clang-format on
#define COLMAX_DECLARE(j) __m512 a##j = _mm512_set1_ps(1.0f + float(j) * 1e-3f);
#define COLMAX_FMA(j) a##j = _mm512_fmadd_ps(a##j, b, c);
#define COLMAX_KEEP(j) __asm__ volatile("" : "+v"(a##j));
#define COLMAX_SUM(j) s = _mm512_add_ps(s, a##j);
__attribute__((target("avx512f"))) double fma_avx512(int64_t iters) {
  COLMAX_24(COLMAX_DECLARE)
  const __m512 b = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
  for (int64_t i = 0; i < iters; ++i) {
    COLMAX_24(COLMAX_FMA)
    COLMAX_24(COLMAX_KEEP)
  }
  __m512 s = _mm512_setzero_ps();
  COLMAX_24(COLMAX_SUM)
  benchmark::DoNotOptimize(s);
  return double(iters) * 24 * 16 * 2;
}
#endif

// Portable fallback: 16 scalar chains the compiler may vectorise.
double fma_portable(int64_t iters) {
  float a[16];
  for (float& x : a) x = 1.0f;
  for (int64_t i = 0; i < iters; ++i) {
    for (float& x : a) x = x * 0.999999f + 1e-7f;
    benchmark::ClobberMemory();
  }
  for (float x : a) benchmark::DoNotOptimize(x);
  return double(iters) * 16 * 2;
}

double fma_best(int64_t iters, const char** isa) {
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx512f")) {
    *isa = "avx512";
    return fma_avx512(iters / 2);
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    *isa = "avx2";
    return fma_avx2(iters);
  }
#endif
  *isa = "portable";
  return fma_portable(iters);
}

// FLOP/s of `threads` threads running the probe together.
void BM_FmaPeak(benchmark::State& state) {
  const int threads = int(state.range(0));
  const char* isa = "";
  double flops = 0;
  for (auto _ : state) {
    std::atomic<int> ready{0};
    std::vector<double> done(static_cast<size_t>(threads));
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        ready.fetch_add(1);
        while (ready.load() < threads) {
        }
        done[size_t(t)] = fma_best(kIterations, &isa);
      });
    }
    for (auto& th : pool) th.join();
    for (double d : done) flops += d;
  }
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsRate);
  state.SetLabel(isa);
}
BENCHMARK(BM_FmaPeak)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(int64_t(std::thread::hardware_concurrency()))
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace colmax::bench
