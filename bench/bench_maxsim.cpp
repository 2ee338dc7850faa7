// MaxSim on the CPU engine at the shapes of issue 2's targets, reporting effective GFLOP/s:
// 2 · Nq · Σ_documents (Lq · Ld) · dim / time (masked or padded work is never counted).
// Inputs are L2-normalised Gaussian tokens; documents are far larger than the caches, so
// every iteration streams them from memory as a real reranking call would.
#include <benchmark/benchmark.h>

#include <string>
#include <thread>
#include <vector>

#include "bench_inputs.hpp"
#include "colmax/colmax.hpp"

namespace colmax::bench {
namespace {

constexpr int64_t kDim = 128;

DType dtype_arg(int64_t code) {
  return code == 0 ? DType::float32 : code == 1 ? DType::bfloat16 : DType::float16;
}

Options options(int64_t threads) {
  Options o;
  o.backend = Backend::cpu;
  o.num_threads = int(threads);
  return o;
}

void report(benchmark::State& state, double flop_per_call, DType dtype) {
  state.counters["GFLOP/s"] =
      benchmark::Counter(flop_per_call * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(std::string(dtype_name(dtype)) + " simd=" + cpu_simd_level());
}

// Args: dtype (0 fp32, 1 bf16, 2 fp16), Nq, Nd, Lq, Ld, threads.
void BM_MaxSim(benchmark::State& state) {
  const DType dtype = dtype_arg(state.range(0));
  const int64_t nq = state.range(1), nd = state.range(2), lq = state.range(3), ld = state.range(4);
  const Tokens& q = padded_tokens(dtype, nq, lq, kDim, 1);
  const Tokens& d = padded_tokens(dtype, nd, ld, kDim, 2);
  std::vector<float> out(size_t(nq * nd));
  const TensorView out_view(out.data(), DType::float32, {nq, nd});
  const Options o = options(state.range(5));
  for (auto _ : state) {
    maxsim(q.padded(), d.padded(), out_view, {}, o);
    benchmark::DoNotOptimize(out.data());
  }
  report(state, 2.0 * double(nq) * double(nd) * double(lq) * double(ld) * kDim, dtype);
}

// Packed documents of lengths uniform in [min_ld, max_ld]. Args: dtype, Nq, Nd, Lq, min_ld,
// max_ld, threads.
void BM_MaxSimVariable(benchmark::State& state) {
  const DType dtype = dtype_arg(state.range(0));
  const int64_t nq = state.range(1), nd = state.range(2), lq = state.range(3);
  const Tokens& q = packed_tokens(dtype, nq, lq, lq, kDim, 3);
  const Tokens& d = packed_tokens(dtype, nd, state.range(4), state.range(5), kDim, 4);
  std::vector<float> out(size_t(nq * nd));
  const TensorView out_view(out.data(), DType::float32, {nq, nd});
  const Options o = options(state.range(6));
  for (auto _ : state) {
    maxsim_packed(q.packed(), q.cu(), d.packed(), d.cu(), out_view, {}, o);
    benchmark::DoNotOptimize(out.data());
  }
  report(state, 2.0 * double(nq) * d.token_pairs_per_query(lq) * kDim, dtype);
}

// Top-k retrieval over padded documents. Args: dtype, Nq, Nd, Lq, Ld, k, threads.
void BM_Retrieve(benchmark::State& state) {
  const DType dtype = dtype_arg(state.range(0));
  const int64_t nq = state.range(1), nd = state.range(2), lq = state.range(3), ld = state.range(4),
                k = state.range(5);
  const Tokens& q = padded_tokens(dtype, nq, lq, kDim, 1);
  const Tokens& d = padded_tokens(dtype, nd, ld, kDim, 2);
  const int64_t kk = retrieve_count(k, nd);
  std::vector<float> scores(size_t(nq * kk));
  std::vector<int64_t> indices(size_t(nq * kk));
  const Options o = options(state.range(6));
  for (auto _ : state) {
    retrieve(q.padded(), d.padded(), k, TensorView(scores.data(), DType::float32, {nq, kk}),
             TensorView(indices.data(), DType::int64, {nq, kk}), {}, o);
    benchmark::DoNotOptimize(indices.data());
  }
  report(state, 2.0 * double(nq) * double(nd) * double(lq) * double(ld) * kDim, dtype);
}

void thread_counts(benchmark::internal::Benchmark* b, std::vector<int64_t> args) {
  const int64_t hw = std::max<int64_t>(1, std::thread::hardware_concurrency());
  for (int64_t t : {int64_t(1), hw}) {
    std::vector<int64_t> a = args;
    a.push_back(t);
    b->Args(a);
    if (hw == 1) break;
  }
}

void maxsim_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"dtype", "Nq", "Nd", "Lq", "Ld", "threads"});
  for (int64_t dtype : {0, 1, 2}) {
    thread_counts(b, {dtype, 1, 1000, 32, 300});
    thread_counts(b, {dtype, 1, 1000, 32, 1024});
  }
  for (int64_t dtype : {0, 1}) {
    thread_counts(b, {dtype, 16, 1000, 32, 300});
    thread_counts(b, {dtype, 16, 1000, 32, 1024});
  }
  // Documents that stay in the L3 cache (40 x 300 x 128 fp32 = 6 MB): the kernel without
  // the memory stream, for the share of the FMA peak the arithmetic itself reaches.
  for (int64_t dtype : {0, 1}) thread_counts(b, {dtype, 1, 40, 32, 300});
}

void variable_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"dtype", "Nq", "Nd", "Lq", "Ld_min", "Ld_max", "threads"});
  for (int64_t dtype : {0, 1}) thread_counts(b, {dtype, 1, 1000, 32, 32, 512});
}

void retrieve_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"dtype", "Nq", "Nd", "Lq", "Ld", "k", "threads"});
  for (int64_t dtype : {0, 1}) {
    thread_counts(b, {dtype, 1, 1000, 32, 300, 10});
    thread_counts(b, {dtype, 16, 1000, 32, 300, 10});
  }
}

BENCHMARK(BM_MaxSim)->Apply(maxsim_shapes)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MaxSimVariable)->Apply(variable_shapes)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Retrieve)->Apply(retrieve_shapes)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace colmax::bench
