// colmax_bench_backward_cuda: times colmax's CUDA training calls on the shapes of the
// training issue (bf16, dim 128) with CUDA events, and writes JSON.
//
//   colmax_bench_backward_cuda [--out FILE] [--min-ms 200] [--shape NAME ...]
//
// For every shape: the forward that saves winners (int16), the backward from saved winners
// with each strategy, the backward that recomputes the winners, and a whole step (forward
// + deterministic backward). grad_out is fixed random values: the cross-entropy between the
// two (a softmax over the [B, B] scores) is not included; it is microseconds at these sizes.
// Memory: the winners, colmax's scratch high-water mark (CUDA's stream-ordered pool), and
// the step's extra memory beyond Q and D (scores + winners + scratch + gradients). The
// ceilings of the same GPU are measured in the same run: a bf16 cuBLAS GEMM (8192^3) and a
// device-to-device copy.
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "colmax/colmax.hpp"

namespace {

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    std::fprintf(stderr, "CUDA error in %s: %s\n", what, cudaGetErrorString(e));
    std::exit(2);
  }
}

struct Shape {
  std::string name;
  bool candidates;  // D [Nq, K, Ld, dim] (distillation) instead of in-batch [B, Ld, dim]
  int64_t nq, nd, lq, ld, dim;
};

std::vector<Shape> issue_shapes() {
  return {
      {"in_batch_64", false, 64, 64, 32, 300, 128},
      {"in_batch_256", false, 256, 256, 32, 300, 128},
      {"in_batch_1024", false, 1024, 1024, 32, 300, 128},
      {"kd_64x32", true, 64, 32, 32, 300, 128},
      {"colpali_32", false, 32, 32, 32, 1030, 128},
      {"colpali_64", false, 64, 64, 32, 1030, 128},
      {"long_doc_32", false, 32, 32, 128, 8192, 128},
  };
}

// Device buffer of bf16 values uniform in [-1, 1), drawn on the host.
void* random_bf16(int64_t n, uint64_t seed) {
  std::vector<__nv_bfloat16> h(static_cast<size_t>(n));
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (auto& x : h) x = __float2bfloat16(u(rng));
  void* d = nullptr;
  check(cudaMalloc(&d, size_t(n) * 2), "cudaMalloc");
  check(cudaMemcpy(d, h.data(), size_t(n) * 2, cudaMemcpyHostToDevice), "cudaMemcpy");
  return d;
}

void* device_floats(int64_t n, uint64_t seed) {
  std::vector<float> h(static_cast<size_t>(n));
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (auto& x : h) x = u(rng);
  void* d = nullptr;
  check(cudaMalloc(&d, std::max<size_t>(size_t(n) * 4, 4)), "cudaMalloc");
  check(cudaMemcpy(d, h.data(), size_t(n) * 4, cudaMemcpyHostToDevice), "cudaMemcpy");
  return d;
}

struct Timing {
  double median_us = 0, p10_us = 0, p90_us = 0;
  int runs = 0;
};

// Runs f until min_ms have passed (at least 5, at most 200 runs), each timed with events.
template <class F>
Timing time_it(F&& f, double min_ms) {
  cudaEvent_t a, b;
  check(cudaEventCreate(&a), "event");
  check(cudaEventCreate(&b), "event");
  f();  // warm-up
  f();
  check(cudaDeviceSynchronize(), "sync");
  std::vector<double> us;
  double total = 0;
  while ((total < min_ms * 1000 || us.size() < 5) && us.size() < 200) {
    check(cudaEventRecord(a), "record");
    f();
    check(cudaEventRecord(b), "record");
    check(cudaEventSynchronize(b), "sync");
    float ms = 0;
    check(cudaEventElapsedTime(&ms, a, b), "elapsed");
    us.push_back(ms * 1000.0);
    total += ms * 1000.0;
  }
  std::sort(us.begin(), us.end());
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  Timing t;
  t.runs = int(us.size());
  t.median_us = us[us.size() / 2];
  t.p10_us = us[us.size() / 10];
  t.p90_us = us[us.size() * 9 / 10];
  return t;
}

cudaMemPool_t pool() {
  cudaMemPool_t p;
  check(cudaDeviceGetDefaultMemPool(&p, 0), "pool");
  return p;
}

void reset_pool_high() {
  uint64_t zero = 0;
  check(cudaMemPoolSetAttribute(pool(), cudaMemPoolAttrUsedMemHigh, &zero), "pool reset");
}

uint64_t pool_high() {
  uint64_t v = 0;
  check(cudaMemPoolGetAttribute(pool(), cudaMemPoolAttrUsedMemHigh, &v), "pool high");
  return v;
}

std::string json_timing(const Timing& t) {
  std::ostringstream s;
  s << "{\"median_us\": " << t.median_us << ", \"p10_us\": " << t.p10_us
    << ", \"p90_us\": " << t.p90_us << ", \"runs\": " << t.runs << "}";
  return s.str();
}

// Ceilings of this GPU, measured now.
std::string measure_ceilings(double min_ms) {
  cublasHandle_t h;
  if (cublasCreate(&h) != CUBLAS_STATUS_SUCCESS) return "{}";
  const int n = 8192;
  void* A = random_bf16(int64_t(n) * n, 1);
  void* B = random_bf16(int64_t(n) * n, 2);
  void* C = nullptr;
  check(cudaMalloc(&C, size_t(n) * n * 2), "cudaMalloc");
  const float one = 1, zero = 0;
  const Timing gemm = time_it(
      [&] {
        cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, A, CUDA_R_16BF, n, B, CUDA_R_16BF,
                     n, &zero, C, CUDA_R_16BF, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
      },
      min_ms);
  const double tflops = 2.0 * n * n * double(n) / (gemm.median_us * 1e-6) / 1e12;
  const size_t bytes = size_t(1) << 30;
  void* X = nullptr;
  void* Y = nullptr;
  check(cudaMalloc(&X, bytes), "cudaMalloc");
  check(cudaMalloc(&Y, bytes), "cudaMalloc");
  const Timing copy =
      time_it([&] { cudaMemcpyAsync(Y, X, bytes, cudaMemcpyDeviceToDevice); }, min_ms);
  const double tbs = 2.0 * double(bytes) / (copy.median_us * 1e-6) / 1e12;
  cudaFree(A), cudaFree(B), cudaFree(C), cudaFree(X), cudaFree(Y);
  cublasDestroy(h);
  std::ostringstream s;
  s << "{\"bf16_gemm_tflops\": " << tflops << ", \"d2d_copy_tb_s\": " << tbs << "}";
  return s.str();
}

std::string run_shape(const Shape& sh, double min_ms) {
  using namespace colmax;
  const int64_t dq = sh.nq * sh.lq * sh.dim;
  const int64_t dd = (sh.candidates ? sh.nq * sh.nd : sh.nd) * sh.ld * sh.dim;
  void* q = random_bf16(dq, 11);
  void* d = random_bf16(dd, 12);
  void* gq = nullptr;
  void* gd = nullptr;
  check(cudaMalloc(&gq, size_t(dq) * 2), "cudaMalloc");
  check(cudaMalloc(&gd, size_t(dd) * 2), "cudaMalloc");
  const int64_t outputs = sh.nq * sh.nd;
  void* out = device_floats(outputs, 13);
  void* grad = device_floats(outputs, 14);
  void* w = nullptr;
  const int64_t wbytes = outputs * sh.lq * 2;
  check(cudaMalloc(&w, size_t(std::max<int64_t>(wbytes, 2))), "cudaMalloc");
  const Device gpu{DeviceKind::cuda, 0};
  const TensorView Q(q, DType::bfloat16, {sh.nq, sh.lq, sh.dim}, gpu);
  const TensorView D = sh.candidates
                           ? TensorView(d, DType::bfloat16, {sh.nq, sh.nd, sh.ld, sh.dim}, gpu)
                           : TensorView(d, DType::bfloat16, {sh.nd, sh.ld, sh.dim}, gpu);
  const TensorView GQ(gq, DType::bfloat16, {sh.nq, sh.lq, sh.dim}, gpu);
  const TensorView GD = sh.candidates
                            ? TensorView(gd, DType::bfloat16, {sh.nq, sh.nd, sh.ld, sh.dim}, gpu)
                            : TensorView(gd, DType::bfloat16, {sh.nd, sh.ld, sh.dim}, gpu);
  const TensorView O(out, DType::float32, {sh.nq, sh.nd}, gpu);
  const TensorView G(grad, DType::float32, {sh.nq, sh.nd}, gpu);
  const TensorView Wn(w, DType::int16, {sh.nq, sh.nd, sh.lq}, gpu);
  Options o;
  o.backend = Backend::cuda;

  auto forward = [&] { maxsim_forward(Q, D, O, Wn, {}, o); };
  auto backward = [&](BackwardStrategy st, bool saved) {
    maxsim_backward(Q, D, G, saved ? Wn : TensorView{}, GQ, GD, {}, o, st);
  };
  reset_pool_high();
  const Timing fwd = time_it(forward, min_ms);
  const uint64_t fwd_scratch = pool_high();
  reset_pool_high();
  const Timing det = time_it([&] { backward(BackwardStrategy::deterministic, true); }, min_ms);
  const uint64_t det_scratch = pool_high();
  reset_pool_high();
  const Timing fast = time_it([&] { backward(BackwardStrategy::fast, true); }, min_ms);
  const uint64_t fast_scratch = pool_high();
  reset_pool_high();
  const Timing rec = time_it([&] { backward(BackwardStrategy::deterministic, false); }, min_ms);
  const uint64_t rec_scratch = pool_high();
  const Timing step = time_it(
      [&] {
        forward();
        backward(BackwardStrategy::deterministic, true);
      },
      min_ms);
  const Timing step_fast = time_it(
      [&] {
        forward();
        backward(BackwardStrategy::fast, true);
      },
      min_ms);
  check(cudaGetLastError(), "kernels");

  const double flops = 2.0 * double(outputs) * double(sh.lq) * double(sh.ld) * double(sh.dim);
  const uint64_t grads = uint64_t(dq + dd) * 2;
  const uint64_t scores = uint64_t(outputs) * 4 * 2;  // scores and their gradient
  std::ostringstream s;
  s << "{\"name\": \"" << sh.name << "\", \"layout\": \""
    << (sh.candidates ? "candidates" : "cross") << "\", \"nq\": " << sh.nq << ", \"nd\": " << sh.nd
    << ", \"lq\": " << sh.lq << ", \"ld\": " << sh.ld << ", \"dim\": " << sh.dim
    << ", \"dtype\": \"bfloat16\""
    << ", \"forward_flop\": " << flops << ", \"forward_with_winners\": " << json_timing(fwd)
    << ", \"backward_deterministic\": " << json_timing(det)
    << ", \"backward_fast\": " << json_timing(fast)
    << ", \"backward_recompute_deterministic\": " << json_timing(rec)
    << ", \"step_deterministic\": " << json_timing(step)
    << ", \"step_fast\": " << json_timing(step_fast) << ", \"winners_bytes\": " << wbytes
    << ", \"scratch_bytes\": {\"forward\": " << fwd_scratch
    << ", \"deterministic\": " << det_scratch << ", \"fast\": " << fast_scratch
    << ", \"recompute\": " << rec_scratch << "}"
    << ", \"step_extra_bytes_saved_winners\": "
    << scores + uint64_t(wbytes) + std::max(fwd_scratch, det_scratch) + grads
    << ", \"step_extra_bytes_recompute\": " << scores + rec_scratch + grads << "}";
  cudaFree(q), cudaFree(d), cudaFree(gq), cudaFree(gd), cudaFree(out), cudaFree(grad), cudaFree(w);
  return s.str();
}

}  // namespace

int main(int argc, char** argv) {
  std::string out_path;
  double min_ms = 200;
  std::vector<std::string> only;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--out" && i + 1 < argc)
      out_path = argv[++i];
    else if (a == "--min-ms" && i + 1 < argc)
      min_ms = std::atof(argv[++i]);
    else if (a == "--shape" && i + 1 < argc)
      only.push_back(argv[++i]);
    else {
      std::fprintf(stderr, "usage: %s [--out FILE] [--min-ms MS] [--shape NAME ...]\n", argv[0]);
      return 1;
    }
  }
  const auto gpus = colmax::cuda_devices();
  if (gpus.empty()) {
    std::fprintf(stderr, "no CUDA device\n");
    return 1;
  }
  std::ostringstream json;
  json << "{\"device\": \"" << gpus[0].name << "\", \"colmax_version\": \"" << colmax::version()
       << "\", \"ceilings\": " << measure_ceilings(min_ms) << ", \"shapes\": [";
  bool first = true;
  for (const auto& sh : issue_shapes()) {
    if (!only.empty() && std::find(only.begin(), only.end(), sh.name) == only.end()) continue;
    const std::string r = run_shape(sh, min_ms);
    std::cerr << r << "\n";
    json << (first ? "" : ", ") << r;
    first = false;
  }
  json << "]}\n";
  if (out_path.empty()) {
    std::cout << json.str();
  } else {
    std::ofstream(out_path) << json.str();
  }
  return 0;
}
