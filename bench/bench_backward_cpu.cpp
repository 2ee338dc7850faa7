// Google Benchmark of the CPU training calls: the forward that saves winners, the backward
// from saved winners, and the backward that recomputes them, on small training shapes
// (a 2-core development machine). bench/python/bench_backward_cpu_numpy.py times NumPy on the
// same shapes and inputs.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

#include "colmax/colmax.hpp"

namespace {

struct Inputs {
  int64_t b, lq, ld, dim;
  std::vector<float> q, d, out, grad, gq, gd;
  std::vector<int16_t> w;

  Inputs(int64_t b_, int64_t lq_, int64_t ld_, int64_t dim_) : b(b_), lq(lq_), ld(ld_), dim(dim_) {
    // The same inputs as the NumPy script: uniform [-1, 1) from a fixed seed, fp32.
    std::mt19937_64 rng(42);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    q.resize(size_t(b * lq * dim));
    d.resize(size_t(b * ld * dim));
    for (auto& x : q) x = u(rng);
    for (auto& x : d) x = u(rng);
    out.resize(size_t(b * b));
    grad.assign(size_t(b * b), 1.0f / float(b));
    gq.resize(q.size());
    gd.resize(d.size());
    w.resize(size_t(b * b * lq));
  }
  colmax::TensorView Q() const { return {q.data(), colmax::DType::float32, {b, lq, dim}}; }
  colmax::TensorView D() const { return {d.data(), colmax::DType::float32, {b, ld, dim}}; }
  colmax::TensorView O() const { return {out.data(), colmax::DType::float32, {b, b}}; }
  colmax::TensorView G() const { return {grad.data(), colmax::DType::float32, {b, b}}; }
  colmax::TensorView GQ() const { return {gq.data(), colmax::DType::float32, {b, lq, dim}}; }
  colmax::TensorView GD() const { return {gd.data(), colmax::DType::float32, {b, ld, dim}}; }
  colmax::TensorView W() const { return {w.data(), colmax::DType::int16, {b, b, lq}}; }
};

colmax::Options cpu_options() {
  colmax::Options o;
  o.backend = colmax::Backend::cpu;
  return o;
}

void set_counters(benchmark::State& state, const Inputs& in) {
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * double(in.b * in.b * in.lq * in.ld * in.dim),
                                                 benchmark::Counter::kIsIterationInvariantRate,
                                                 benchmark::Counter::kIs1000);
}

void BM_ForwardWithWinners(benchmark::State& state) {
  Inputs in(state.range(0), 32, state.range(1), 128);
  for (auto _ : state) colmax::maxsim_forward(in.Q(), in.D(), in.O(), in.W(), {}, cpu_options());
  set_counters(state, in);
}

void BM_BackwardSavedWinners(benchmark::State& state) {
  Inputs in(state.range(0), 32, state.range(1), 128);
  colmax::maxsim_forward(in.Q(), in.D(), in.O(), in.W(), {}, cpu_options());
  for (auto _ : state) {
    colmax::maxsim_backward(in.Q(), in.D(), in.G(), in.W(), in.GQ(), in.GD(), {}, cpu_options());
  }
}

void BM_BackwardRecompute(benchmark::State& state) {
  Inputs in(state.range(0), 32, state.range(1), 128);
  for (auto _ : state) {
    colmax::maxsim_backward(in.Q(), in.D(), in.G(), {}, in.GQ(), in.GD(), {}, cpu_options());
  }
  set_counters(state, in);
}

void BM_TrainingStep(benchmark::State& state) {
  Inputs in(state.range(0), 32, state.range(1), 128);
  for (auto _ : state) {
    colmax::maxsim_forward(in.Q(), in.D(), in.O(), in.W(), {}, cpu_options());
    colmax::maxsim_backward(in.Q(), in.D(), in.G(), in.W(), in.GQ(), in.GD(), {}, cpu_options());
  }
  set_counters(state, in);
}

// In-batch B x B, Lq = 32, Ld = {180, 300}, dim 128.
void shapes(benchmark::internal::Benchmark* b) {
  b->Args({16, 300})
      ->Args({32, 180})
      ->Args({32, 300})
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
}

BENCHMARK(BM_ForwardWithWinners)->Apply(shapes);
BENCHMARK(BM_BackwardSavedWinners)->Apply(shapes);
BENCHMARK(BM_BackwardRecompute)->Apply(shapes);
BENCHMARK(BM_TrainingStep)->Apply(shapes);

}  // namespace

BENCHMARK_MAIN();
