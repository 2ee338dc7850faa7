// colmax_cuda_bench: times colmax's CUDA forward on the benchmark shapes of the GPU forward
// issue (bf16, dim 128 unless the shape says otherwise) with CUDA events.
//
//   colmax_cuda_bench --shapes [--out FILE] [--min-ms 300]   every shape, JSON to FILE/stdout
//   colmax_cuda_bench --tune layout,dim,nq,lq,nd,ld [--repeat N]
//                                   one problem; prints {"median_us": ...} (for tune_dispatch.py,
//                                   which forces a tile configuration with COLMAX_CUDA_TILE)
//
// Inputs are uniform in [-1, 1) (bench/cuda/peers.py draws the peers' inputs the same way);
// shapes whose inputs fit in L2 rotate among several copies so that repeated calls do not
// measure the cache. Each call is timed with its own pair of events; the median is reported
// with the 10th and 90th percentiles, the first call's wall time (a new shape costs no
// compilation or tuning), and the device memory colmax took beyond its inputs and outputs.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "colmax/colmax.hpp"
#include "fill.hpp"

namespace colmax::bench {
namespace {

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    std::fprintf(stderr, "CUDA error in %s: %s\n", what, cudaGetErrorString(e));
    std::exit(2);
  }
}

struct Shape {
  std::string name, layout;  // cross, candidates, pairs, packed
  int64_t nq, nd, lq, ld, dim;
  int64_t lq_min = 0, ld_min = 0;  // packed: lengths in [min, max]
};

// The issue's shapes. Packed lengths follow packed_length() (shared with peers.py).
std::vector<Shape> issue_shapes() {
  return {
      {"1_rerank", "cross", 1, 1000, 32, 300, 128},
      {"2_corpus_scan", "cross", 1, 100000, 32, 300, 128},
      {"3_long_docs", "cross", 1, 1000, 32, 1024, 128},
      {"4_colpali_rerank", "cross", 1, 1000, 128, 1024, 128},
      {"5_visual", "cross", 1, 1000, 1024, 1024, 128},
      {"6_batched_queries", "cross", 64, 10000, 32, 300, 128},
      {"7_in_batch", "cross", 256, 256, 32, 300, 128},
      {"8_distillation", "candidates", 64, 32, 32, 300, 128},
      {"9_pairs", "pairs", 5000, 5000, 32, 300, 128},
      {"10_packed", "packed", 32, 2000, 32, 512, 128, 8, 32},
      {"11_long_context", "cross", 16, 32, 32, 8192, 128},
      {"12a_dim48", "cross", 1, 10000, 32, 300, 48},
      {"12b_dim64", "cross", 1, 10000, 32, 300, 64},
  };
}

int64_t packed_length(int64_t i, int64_t lo, int64_t hi) {
  return lo + (i * 7919 + 13) % (hi - lo + 1);
}

struct Problem {
  Shape s;
  int64_t q_elems = 0, d_elems = 0, outs = 0, tq = 0, td = 0;
  double flops = 0;
  std::vector<int32_t> cu_q, cu_d;
};

Problem describe(const Shape& s) {
  Problem p;
  p.s = s;
  if (s.layout == "packed") {
    p.cu_q.push_back(0);
    for (int64_t i = 0; i < s.nq; ++i)
      p.cu_q.push_back(p.cu_q.back() + int32_t(packed_length(i, s.lq_min, s.lq)));
    p.cu_d.push_back(0);
    for (int64_t i = 0; i < s.nd; ++i)
      p.cu_d.push_back(p.cu_d.back() + int32_t(packed_length(i, s.ld_min, s.ld)));
    p.tq = p.cu_q.back();
    p.td = p.cu_d.back();
    p.q_elems = p.tq * s.dim;
    p.d_elems = p.td * s.dim;
    p.outs = s.nq * s.nd;
    p.flops = 2.0 * double(p.tq) * double(p.td) * double(s.dim);
  } else {
    p.q_elems = s.nq * s.lq * s.dim;
    const int64_t docs = s.layout == "candidates" ? s.nq * s.nd : s.nd;
    p.d_elems = docs * s.ld * s.dim;
    const double pairs = s.layout == "cross"        ? double(s.nq * s.nd)
                         : s.layout == "candidates" ? double(s.nq * s.nd)
                                                    : double(s.nq);
    p.outs = int64_t(pairs);
    p.flops = 2.0 * pairs * double(s.lq) * double(s.ld) * double(s.dim);
  }
  return p;
}

double bytes_moved(const Problem& p) {
  return double(p.q_elems + p.d_elems) * 2.0 + double(p.outs) * 4.0 +
         double(p.cu_q.size() + p.cu_d.size()) * 4.0;
}

struct Buffers {
  void *q = nullptr, *d = nullptr, *out = nullptr, *cu_q = nullptr, *cu_d = nullptr;
};

struct Inputs {
  std::vector<Buffers> sets;
  ~Inputs() {
    for (auto& b : sets) {
      for (void* x : {b.q, b.d, b.out, b.cu_q, b.cu_d}) {
        if (x) cudaFree(x);
      }
    }
  }
};

void make_inputs(const Problem& p, int rotations, Inputs& in, cudaStream_t st) {
  for (int r = 0; r < rotations; ++r) {
    Buffers b;
    check(cudaMalloc(&b.q, size_t(p.q_elems) * 2), "cudaMalloc Q");
    check(cudaMalloc(&b.d, size_t(p.d_elems) * 2), "cudaMalloc D");
    check(cudaMalloc(&b.out, size_t(std::max<int64_t>(p.outs, 1)) * 4), "cudaMalloc out");
    fill_uniform(b.q, p.q_elems, FillType::bf16, 1000 + uint64_t(r), st);
    fill_uniform(b.d, p.d_elems, FillType::bf16, 2000 + uint64_t(r), st);
    if (!p.cu_q.empty()) {
      check(cudaMalloc(&b.cu_q, p.cu_q.size() * 4), "cudaMalloc cu_q");
      check(cudaMalloc(&b.cu_d, p.cu_d.size() * 4), "cudaMalloc cu_d");
      check(cudaMemcpy(b.cu_q, p.cu_q.data(), p.cu_q.size() * 4, cudaMemcpyHostToDevice), "cu_q");
      check(cudaMemcpy(b.cu_d, p.cu_d.data(), p.cu_d.size() * 4, cudaMemcpyHostToDevice), "cu_d");
    }
    in.sets.push_back(b);
  }
  check(cudaStreamSynchronize(st), "fill");
}

void call(const Problem& p, const Buffers& b, cudaStream_t st) {
  const Shape& s = p.s;
  const Device gpu{DeviceKind::cuda, 0};
  Options o;
  o.stream = st;
  o.backend = Backend::cuda;
  if (s.layout == "cross") {
    maxsim(TensorView(b.q, DType::bfloat16, {s.nq, s.lq, s.dim}, gpu),
           TensorView(b.d, DType::bfloat16, {s.nd, s.ld, s.dim}, gpu),
           TensorView(b.out, DType::float32, {s.nq, s.nd}, gpu), {}, o);
  } else if (s.layout == "candidates") {
    maxsim(TensorView(b.q, DType::bfloat16, {s.nq, s.lq, s.dim}, gpu),
           TensorView(b.d, DType::bfloat16, {s.nq, s.nd, s.ld, s.dim}, gpu),
           TensorView(b.out, DType::float32, {s.nq, s.nd}, gpu), {}, o);
  } else if (s.layout == "pairs") {
    maxsim_pairs(TensorView(b.q, DType::bfloat16, {s.nq, s.lq, s.dim}, gpu),
                 TensorView(b.d, DType::bfloat16, {s.nq, s.ld, s.dim}, gpu),
                 TensorView(b.out, DType::float32, {s.nq}, gpu), {}, o);
  } else {
    maxsim_packed(TensorView(b.q, DType::bfloat16, {p.tq, s.dim}, gpu),
                  TensorView(b.cu_q, DType::int32, {s.nq + 1}, gpu),
                  TensorView(b.d, DType::bfloat16, {p.td, s.dim}, gpu),
                  TensorView(b.cu_d, DType::int32, {s.nd + 1}, gpu),
                  TensorView(b.out, DType::float32, {s.nq, s.nd}, gpu), {}, o);
  }
}

struct Timing {
  double median_us = 0, p10_us = 0, p90_us = 0, first_call_us = 0;
  int iterations = 0, rotations = 1;
  long long extra_bytes = 0;
};

size_t free_bytes() {
  size_t f = 0, t = 0;
  check(cudaMemGetInfo(&f, &t), "cudaMemGetInfo");
  return f;
}

Timing time_problem(const Problem& p, double min_ms, int repeat) {
  cudaStream_t st;
  check(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking), "stream");
  int l2 = 0;
  check(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, 0), "L2 size");
  const double in_bytes = double(p.q_elems + p.d_elems) * 2.0;
  // Enough copies that one pass over all of them is at least 4x the L2.
  const int rotations = int(std::clamp(4.0 * l2 / std::max(in_bytes, 1.0) + 1.0, 1.0, 32.0));
  Timing t;
  t.rotations = rotations;
  Inputs in;
  make_inputs(p, rotations, in, st);
  const size_t free0 = free_bytes();
  auto wall0 = std::chrono::steady_clock::now();
  call(p, in.sets[0], st);
  check(cudaStreamSynchronize(st), "first call");
  auto wall1 = std::chrono::steady_clock::now();
  t.first_call_us = std::chrono::duration<double, std::micro>(wall1 - wall0).count();
  size_t free_min = free_bytes();
  for (int i = 0; i < 3; ++i) call(p, in.sets[size_t(i % rotations)], st);
  check(cudaStreamSynchronize(st), "warm-up");
  // Estimate the per-call time to size the run.
  cudaEvent_t a, b;
  check(cudaEventCreate(&a), "event");
  check(cudaEventCreate(&b), "event");
  check(cudaEventRecord(a, st), "record");
  for (int i = 0; i < 5; ++i) call(p, in.sets[size_t(i % rotations)], st);
  check(cudaEventRecord(b, st), "record");
  check(cudaEventSynchronize(b), "sync");
  float est_ms = 0;
  check(cudaEventElapsedTime(&est_ms, a, b), "elapsed");
  est_ms /= 5;
  int n = repeat > 0 ? repeat : int(std::clamp(min_ms / std::max(est_ms, 1e-3f), 30.0, 2000.0));
  std::vector<cudaEvent_t> ev(static_cast<size_t>(2 * n));
  for (auto& e : ev) check(cudaEventCreate(&e), "event");
  for (int i = 0; i < n; ++i) {
    check(cudaEventRecord(ev[size_t(2 * i)], st), "record");
    call(p, in.sets[size_t(i % rotations)], st);
    check(cudaEventRecord(ev[size_t(2 * i + 1)], st), "record");
  }
  check(cudaStreamSynchronize(st), "timed loop");
  free_min = std::min(free_min, free_bytes());
  std::vector<double> us(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    float ms = 0;
    check(cudaEventElapsedTime(&ms, ev[size_t(2 * i)], ev[size_t(2 * i + 1)]), "elapsed");
    us[size_t(i)] = double(ms) * 1000.0;
  }
  for (auto& e : ev) cudaEventDestroy(e);
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  std::sort(us.begin(), us.end());
  t.iterations = n;
  t.median_us = us[size_t(n / 2)];
  t.p10_us = us[size_t(n / 10)];
  t.p90_us = us[size_t((9 * n) / 10)];
  t.extra_bytes = (long long)free0 - (long long)free_min;
  check(cudaStreamDestroy(st), "stream");
  return t;
}

// Device-to-device copy bandwidth, counting bytes read plus bytes written.
double copy_gbps() {
  const size_t bytes = size_t(1) << 30;
  void *x, *y;
  check(cudaMalloc(&x, bytes), "copy src");
  check(cudaMalloc(&y, bytes), "copy dst");
  check(cudaMemset(x, 1, bytes), "memset");
  cudaEvent_t a, b;
  cudaEventCreate(&a);
  cudaEventCreate(&b);
  for (int i = 0; i < 3; ++i) cudaMemcpy(y, x, bytes, cudaMemcpyDeviceToDevice);
  std::vector<double> runs;
  for (int i = 0; i < 10; ++i) {
    cudaEventRecord(a);
    cudaMemcpyAsync(y, x, bytes, cudaMemcpyDeviceToDevice);
    cudaEventRecord(b);
    cudaEventSynchronize(b);
    float ms = 0;
    cudaEventElapsedTime(&ms, a, b);
    runs.push_back(2.0 * double(bytes) / (double(ms) * 1e-3) / 1e9);
  }
  cudaFree(x);
  cudaFree(y);
  std::sort(runs.begin(), runs.end());
  return runs[runs.size() / 2];
}

std::string json_timing(const Problem& p, const Timing& t) {
  std::ostringstream o;
  const Shape& s = p.s;
  o << "{\"name\": \"" << s.name << "\", \"layout\": \"" << s.layout << "\", \"nq\": " << s.nq
    << ", \"nd\": " << s.nd << ", \"lq\": " << s.lq << ", \"ld\": " << s.ld
    << ", \"dim\": " << s.dim << ", \"lq_min\": " << s.lq_min << ", \"ld_min\": " << s.ld_min
    << ", \"bytes\": " << bytes_moved(p) << ", \"flops\": " << p.flops
    << ", \"median_us\": " << t.median_us << ", \"p10_us\": " << t.p10_us
    << ", \"p90_us\": " << t.p90_us << ", \"first_call_us\": " << t.first_call_us
    << ", \"iterations\": " << t.iterations << ", \"rotations\": " << t.rotations
    << ", \"extra_bytes\": " << t.extra_bytes << "}";
  return o.str();
}

int run_shapes(const std::string& out, double min_ms) {
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, 0), "properties");
  std::ostringstream j;
  j << "{\"device\": \"" << prop.name << "\", \"sm_count\": " << prop.multiProcessorCount
    << ", \"colmax_version\": \"" << version() << "\", \"copy_gbps\": " << copy_gbps()
    << ", \"shapes\": [\n";
  bool first = true;
  for (const Shape& s : issue_shapes()) {
    const Problem p = describe(s);
    const Timing t = time_problem(p, min_ms, 0);
    std::fprintf(stderr, "%-20s %10.1f us  (p10 %.1f, p90 %.1f, first call %.0f us)\n",
                 s.name.c_str(), t.median_us, t.p10_us, t.p90_us, t.first_call_us);
    j << (first ? "  " : ",\n  ") << json_timing(p, t);
    first = false;
  }
  j << "\n]}\n";
  if (out.empty()) {
    std::cout << j.str();
  } else {
    std::ofstream(out) << j.str();
  }
  return 0;
}

int run_tune(const std::string& spec, int repeat) {
  // layout,dim,nq,lq,nd,ld
  std::vector<std::string> f;
  std::stringstream ss(spec);
  for (std::string x; std::getline(ss, x, ',');) f.push_back(x);
  if (f.size() != 6) {
    std::fprintf(stderr, "--tune needs layout,dim,nq,lq,nd,ld\n");
    return 1;
  }
  Shape s{"tune",
          f[0] == "diagonal"  ? "pairs"
          : f[0] == "grouped" ? "candidates"
                              : f[0],
          std::atoll(f[2].c_str()),
          std::atoll(f[4].c_str()),
          std::atoll(f[3].c_str()),
          std::atoll(f[5].c_str()),
          std::atoll(f[1].c_str())};
  if (s.layout == "pairs") s.nd = s.nq;
  if (s.layout == "list") {  // pair lists are timed as packed pairs of equal lengths
    s.layout = "packed";
    s.lq_min = s.lq;
    s.ld_min = s.ld;
  }
  const Timing t = time_problem(describe(s), 200, repeat);
  std::printf("{\"median_us\": %.3f}\n", t.median_us);
  return 0;
}

}  // namespace
}  // namespace colmax::bench

int main(int argc, char** argv) {
  std::string out, tune;
  bool shapes = false;
  double min_ms = 300;
  int repeat = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--shapes") {
      shapes = true;
    } else if (a == "--out") {
      out = next();
    } else if (a == "--min-ms") {
      min_ms = std::atof(next().c_str());
    } else if (a == "--tune") {
      tune = next();
    } else if (a == "--repeat") {
      repeat = std::atoi(next().c_str());
    } else {
      std::fprintf(stderr, "usage: %s --shapes [--out FILE] [--min-ms MS] | --tune SPEC\n",
                   argv[0]);
      return 1;
    }
  }
  if (colmax::cuda_devices().empty()) {
    std::fprintf(stderr, "no CUDA GPU\n");
    return 3;
  }
  if (!tune.empty()) return colmax::bench::run_tune(tune, repeat);
  if (shapes) return colmax::bench::run_shapes(out, min_ms);
  std::fprintf(stderr, "nothing to do: pass --shapes or --tune\n");
  return 1;
}
