// The CUDA forward-with-winners and backward against the float64 reference (small random
// cases of every layout) and the CPU backend (training-sized shapes), the winner rule, and
// determinism. Skips cleanly on machines without a GPU.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>

#include "cuda/forward.hpp"
#include "support/backward_cases.hpp"

namespace colmax::test {
namespace {

bool have_gpu() {
  return !cuda_devices().empty();
}

#define REQUIRE_GPU() \
  if (!have_gpu()) GTEST_SKIP() << "no CUDA device"

void check_cuda(cudaError_t e) {
  if (e != cudaSuccess) throw std::runtime_error(cudaGetErrorString(e));
}

// Copies host tensors to the GPU for one call, and outputs back.
class Arena {
 public:
  ~Arena() {
    for (void* p : owned_) cudaFree(p);
  }
  TensorView place(const HostTensor& t) {
    if (!t.present) return {};
    void* p = nullptr;
    check_cuda(cudaMalloc(&p, std::max<size_t>(t.bytes.size(), 1)));
    check_cuda(cudaMemcpy(p, t.bytes.data(), t.bytes.size(), cudaMemcpyHostToDevice));
    owned_.push_back(p);
    where_[&t] = p;
    const auto* base = static_cast<const std::byte*>(p) + t.offset * dtype_size(t.dtype);
    return TensorView(base, t.dtype, std::span<const int64_t>(t.shape),
                      std::span<const int64_t>(t.strides), Device{DeviceKind::cuda, 0});
  }
  void fetch(HostTensor& t) {
    check_cuda(cudaDeviceSynchronize());
    check_cuda(cudaMemcpy(t.bytes.data(), where_.at(&t), t.bytes.size(), cudaMemcpyDeviceToHost));
  }
  Placer placer() {
    return [this](const HostTensor& t) { return place(t); };
  }

 private:
  std::vector<void*> owned_;
  std::map<const HostTensor*, void*> where_;
};

ForwardResult gpu_forward(const Case& c, DType wt) {
  Arena a;
  HostTensor out = make_tensor(DType::float32, c.out_shape);
  for (int64_t i = 0; i < out.numel(); ++i) set_value(out, i, kPoison);
  HostTensor w = make_tensor(wt, winners_shape(c));
  for (int64_t i = 0; i < w.numel(); ++i) set_value(w, i, 7777);
  const TensorView out_v = a.place(out), w_v = a.place(w);
  run_forward(c, a.placer(), out_v, w_v, c.options());
  a.fetch(out);
  a.fetch(w);
  return {read_floats(out), read_winners(w)};
}

Gradients gpu_backward(const Case& c, const HostTensor& grad_out,
                       const std::vector<int64_t>& winners, BackwardStrategy strategy,
                       bool want_q = true, bool want_d = true) {
  Arena a;
  HostTensor w;
  if (!winners.empty()) {
    w = make_tensor(DType::int32, winners_shape(c));
    for (size_t i = 0; i < winners.size(); ++i) set_value(w, int64_t(i), double(winners[i]));
  } else if (c.out_shape.empty() || winners_width(c) == 0) {
    w = make_tensor(DType::int32, winners_shape(c));
  }
  HostTensor gq = make_grad_like(c.Q, c.spec.strided, c.spec.seed + 1);
  HostTensor gd = make_grad_like(c.D, c.spec.strided, c.spec.seed + 2);
  const TensorView gq_v = want_q ? a.place(gq) : TensorView{};
  const TensorView gd_v = want_d ? a.place(gd) : TensorView{};
  run_backward(c, a.placer(), a.place(grad_out), a.place(w), gq_v, gd_v, c.options(), strategy);
  if (want_q) a.fetch(gq);
  if (want_d) a.fetch(gd);
  return {want_q ? read_logical(gq) : std::vector<double>{},
          want_d ? read_logical(gd) : std::vector<double>{}};
}

bool bitwise_equal(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * 8) == 0);
}

// Forward vs `want` (reference or CPU), then both strategies' gradients vs `backend`'s
// gradients given the GPU's own winners; determinism of the deterministic strategy.
std::string check_case(const Case& c, Backend want_backend) {
  const double tol = tolerance(c.spec);
  const DType wt = c.spec.seed % 2 ? DType::int16 : DType::int32;
  const ForwardResult want = host_forward(c, want_backend);
  const ForwardResult got = gpu_forward(c, wt);
  if (std::string e = compare_scores(got.scores, want.scores, tol); !e.empty()) {
    return "scores: " + e;
  }
  if (std::string e = compare_winners(c, got.winners, want.winners, 1e-5); !e.empty()) return e;
  const HostTensor g = make_grad_out(c, c.spec.seed);
  const Gradients ref = host_backward(c, want_backend, g, got.winners);
  const double gtol = gradient_tolerance(c.spec);
  for (BackwardStrategy st : {BackwardStrategy::deterministic, BackwardStrategy::fast}) {
    const char* name = st == BackwardStrategy::fast ? "fast " : "deterministic ";
    const Gradients gpu = gpu_backward(c, g, got.winners, st);
    if (std::string e = compare_gradients(gpu.dQ, ref.dQ, gtol); !e.empty()) {
      return std::string(name) + "grad_Q: " + e;
    }
    if (std::string e = compare_gradients(gpu.dD, ref.dD, gtol); !e.empty()) {
      return std::string(name) + "grad_D: " + e;
    }
    if (std::string e = check_masked_zero(c, gpu); !e.empty()) return name + e;
    if (st == BackwardStrategy::deterministic) {
      const Gradients again = gpu_backward(c, g, got.winners, st);
      if (!bitwise_equal(again.dQ, gpu.dQ) || !bitwise_equal(again.dD, gpu.dD)) {
        return "deterministic gradients differ between two runs";
      }
      const Gradients recomputed = gpu_backward(c, g, {}, st);
      if (!bitwise_equal(recomputed.dQ, gpu.dQ) || !bitwise_equal(recomputed.dD, gpu.dD)) {
        return "gradients with recomputed winners differ from those with saved winners";
      }
    }
  }
  return "";
}

int sweep_cases() {
  const char* env = std::getenv("COLMAX_SWEEP_CASES");
  return env ? std::atoi(env) : 200;
}

// The sweep's first `cases` cases against the reference ("" when all agree, else the first
// disagreement with its case).
std::string sweep(int cases) {
  std::mt19937_64 rng(20261207);
  for (int i = 0; i < cases; ++i) {
    CaseSpec spec = random_spec(rng, 60000 + uint64_t(i));
    spec.nan_tokens = i % 9 == 4 ? 2 : 0;
    const std::string e = check_case(make_case(spec), Backend::reference);
    if (!e.empty()) return "case " + std::to_string(i) + ": " + spec.describe() + ": " + e;
  }
  return "";
}

// The default dispatch: on sm_90a the sweep reaches the TMA stream kernel's winners variant
// (short queries, one query group a document) as well as the wgmma kernels.
TEST(CudaBackward, SweepMatchesReference) {
  REQUIRE_GPU();
  const uint64_t before = cuda::tma_winners_launch_count();
  ASSERT_EQ(sweep(sweep_cases()), "");
  if (cuda::wg_available(0)) {
    EXPECT_GT(cuda::tma_winners_launch_count(), before);
  }
}

// The same sweep with the training forward's own kernel (WMMA / FMA) instead of the wgmma
// stream kernels, which the default dispatch takes on sm_90a for 16-bit inputs of dim 64, 96
// or 128: both must agree with the reference.
TEST(CudaBackward, SweepWithTheTrainingForwardKernel) {
  REQUIRE_GPU();
  cuda::set_forward_family(cuda::ForwardFamily::tile);
  const std::string e = sweep(std::min(sweep_cases(), 80));
  cuda::set_forward_family(cuda::ForwardFamily::automatic);
  ASSERT_EQ(e, "");
}

// And with the wgmma kernel that keeps the document rows in registers (the default takes the
// query-rows kernel wherever it can: no document mask, no normalisation).
TEST(CudaBackward, SweepWithTheDocumentRowsWgmmaKernel) {
  REQUIRE_GPU();
  cuda::set_wg_kernel(cuda::WgKernel::docs);
  const std::string e = sweep(std::min(sweep_cases(), 80));
  cuda::set_wg_kernel(cuda::WgKernel::automatic);
  ASSERT_EQ(e, "");
}

// Many pairs a block, where the forward's kernels carry state from pair to pair: the TMA
// stream kernel's winners (per-query candidates and pairs with short queries, masks in both
// modes, normalisation) and the query-rows wgmma kernel's runs of stages across the pairs of
// one query group (stacked queries, packed documents of 0..100 tokens, candidates of 64-token
// queries).
TEST(CudaBackward, ManyPairsABlock) {
  REQUIRE_GPU();
  const auto spec = [](uint64_t seed, Layout layout, int64_t nq, int64_t nd, int64_t lq_min,
                       int64_t lq, int64_t ld_min, int64_t ld) {
    CaseSpec s;
    s.seed = seed;
    s.layout = layout;
    s.nq = nq, s.nd = nd;
    s.lq_min = lq_min, s.lq_max = lq;
    s.ld_min = ld_min, s.ld_max = ld;
    s.dim = seed % 3 == 2 ? 64 : 128;
    s.q_dtype = s.d_dtype = seed % 2 ? DType::float16 : DType::bfloat16;
    return s;
  };
  std::vector<CaseSpec> specs;
  specs.push_back(spec(64000, Layout::candidates, 16, 24, 32, 32, 120, 120));
  specs.back().d_mask = MaskKind::holes;
  specs.back().mode = MaskMode::zero;
  specs.push_back(spec(64001, Layout::candidates, 12, 30, 20, 20, 75, 75));
  specs.back().d_mask = MaskKind::padding;
  specs.push_back(spec(64002, Layout::pairs, 300, 300, 32, 32, 100, 100));
  specs.back().normalize = true;
  specs.back().nan_tokens = 1;
  specs.push_back(spec(64003, Layout::cross, 16, 120, 32, 32, 90, 90));
  specs.push_back(spec(64004, Layout::packed, 12, 200, 20, 32, 0, 100));
  specs.back().q_mask = MaskKind::holes;
  specs.push_back(spec(64005, Layout::candidates, 10, 30, 64, 64, 70, 70));
  const uint64_t tma_before = cuda::tma_winners_launch_count();
  for (const CaseSpec& s : specs) {
    ASSERT_EQ(check_case(make_case(s), Backend::reference), "") << s.describe();
  }
  if (cuda::wg_available(0)) {
    EXPECT_GT(cuda::tma_winners_launch_count(), tma_before);
  }
}

TEST(CudaBackward, EdgeCases) {
  REQUIRE_GPU();
  int seed = 61000;
  for (Layout layout :
       {Layout::cross, Layout::candidates, Layout::pairs, Layout::packed, Layout::packed_pairs}) {
    for (DType dt : {DType::float32, DType::bfloat16, DType::float16}) {
      CaseSpec s;
      s.layout = layout;
      s.q_dtype = s.d_dtype = dt;
      auto run = [&](CaseSpec spec) {
        spec.seed = uint64_t(seed++);
        const Case c = make_case(spec);
        ASSERT_EQ(check_case(c, Backend::reference), "") << spec.describe();
      };
      s.nq = 3, s.nd = 4, s.np = 5, s.lq_min = s.lq_max = 1, s.ld_min = s.ld_max = 1, s.dim = 128;
      run(s);
      s.nq = 0, s.nd = 3, s.np = 0, s.lq_min = s.lq_max = 8, s.ld_min = s.ld_max = 8;
      run(s);
      s.nq = 2, s.nd = 0;
      run(s);
      s.nq = 2, s.nd = 3, s.np = 4, s.lq_min = s.lq_max = 0;
      run(s);
      s.lq_min = s.lq_max = 5, s.ld_min = s.ld_max = 0;
      run(s);
      for (MaskMode mode : {MaskMode::exclude, MaskMode::zero}) {
        for (int64_t dim : {1, 3, 100, 160}) {
          s.ld_min = 0, s.ld_max = 37, s.lq_min = 0, s.lq_max = 17, s.dim = dim;
          s.d_mask = MaskKind::fully_masked, s.q_mask = MaskKind::holes, s.mode = mode;
          s.normalize = dim != 100;
          s.negative = dim == 3;
          run(s);
        }
      }
      s.d_mask = s.q_mask = MaskKind::none, s.normalize = false, s.negative = false;
      // Queries longer than one block's 128 rows; long documents.
      s.nq = 2, s.nd = 3, s.np = 4, s.lq_min = 150, s.lq_max = 300, s.ld_min = 1, s.ld_max = 70;
      s.dim = 64;
      run(s);
      s.nq = 2, s.nd = 2, s.np = 3, s.lq_min = s.lq_max = 32, s.ld_min = 1000, s.ld_max = 1200;
      s.dim = 96;
      run(s);
    }
  }
}

// Training-sized shapes against the CPU backend (the reference would take minutes).
TEST(CudaBackward, TrainingShapesMatchCpu) {
  REQUIRE_GPU();
  struct Shape {
    Layout layout;
    int64_t nq, nd, lq, ld, dim;
    DType dtype;
    bool normalize;
    MaskKind d_mask;
    MaskMode mode;
  };
  const Shape shapes[] = {
      {Layout::cross, 64, 64, 32, 300, 128, DType::bfloat16, false, MaskKind::none,
       MaskMode::exclude},
      {Layout::cross, 48, 40, 32, 180, 128, DType::bfloat16, true, MaskKind::holes, MaskMode::zero},
      {Layout::candidates, 8, 32, 32, 300, 128, DType::float16, false, MaskKind::padding,
       MaskMode::exclude},
      {Layout::pairs, 32, 32, 32, 1030, 128, DType::bfloat16, true, MaskKind::none,
       MaskMode::exclude},
      {Layout::cross, 4, 3, 128, 4096, 128, DType::bfloat16, false, MaskKind::holes,
       MaskMode::exclude},
      {Layout::cross, 16, 16, 32, 300, 128, DType::float32, false, MaskKind::holes,
       MaskMode::exclude},
      {Layout::packed, 12, 20, 32, 300, 64, DType::bfloat16, true, MaskKind::holes,
       MaskMode::exclude},
      {Layout::packed_pairs, 16, 24, 40, 500, 128, DType::bfloat16, false, MaskKind::none,
       MaskMode::zero},
  };
  uint64_t seed = 62000;
  for (const Shape& sh : shapes) {
    CaseSpec s;
    s.layout = sh.layout;
    s.nq = sh.nq, s.nd = sh.nd, s.np = sh.nq * 3;
    s.lq_min = sh.layout >= Layout::packed ? sh.lq / 2 : sh.lq, s.lq_max = sh.lq;
    s.ld_min = sh.layout >= Layout::packed ? sh.ld / 3 : sh.ld, s.ld_max = sh.ld;
    s.dim = sh.dim;
    s.q_dtype = s.d_dtype = sh.dtype;
    s.normalize = sh.normalize;
    s.d_mask = sh.d_mask;
    s.mode = sh.mode;
    s.seed = seed++;
    const Case c = make_case(s);
    ASSERT_EQ(check_case(c, Backend::cpu), "") << s.describe();
  }
}

// ---- the winner rule on hand-made cases ------------------------------------------------------

HostTensor tensor(DType dtype, std::vector<int64_t> shape, std::initializer_list<double> v) {
  HostTensor t = make_tensor(dtype, std::move(shape));
  int64_t i = 0;
  for (double x : v) set_value(t, i++, x);
  return t;
}

struct Single {
  float score = 0;
  std::vector<int64_t> winners;
  std::vector<double> dQ, dD;
};

Single run_single(const HostTensor& Q, const HostTensor& D, const HostTensor& d_mask, MaskMode mode,
                  BackwardStrategy st, bool normalize = false) {
  Arena a;
  Options o;
  o.mask_mode = mode;
  o.normalize = normalize;
  HostTensor out = make_tensor(DType::float32, {1});
  HostTensor w = make_tensor(DType::int16, {1, Q.shape[1]});
  HostTensor g = tensor(DType::float32, {1}, {1.0});
  HostTensor gq = make_tensor(Q.dtype, Q.shape), gd = make_tensor(D.dtype, D.shape);
  const TensorView q_v = a.place(Q), d_v = a.place(D), out_v = a.place(out), w_v = a.place(w);
  const Masks masks{{}, a.place(d_mask)};
  maxsim_pairs_forward(q_v, d_v, out_v, w_v, masks, o);
  maxsim_pairs_backward(q_v, d_v, a.place(g), w_v, a.place(gq), a.place(gd), masks, o, st);
  a.fetch(out);
  a.fetch(w);
  a.fetch(gq);
  a.fetch(gd);
  return {read_floats(out)[0], read_winners(w), read_logical(gq), read_logical(gd)};
}

const double kNaN = std::numeric_limits<double>::quiet_NaN();

TEST(CudaBackwardRule, DuplicatedTokensSendTheGradientToTheFirst) {
  REQUIRE_GPU();
  for (BackwardStrategy st : {BackwardStrategy::deterministic, BackwardStrategy::fast}) {
    for (DType dt : {DType::float32, DType::bfloat16, DType::float16}) {
      // dim 16 so that 16-bit inputs take the tensor-core path.
      HostTensor Q = make_tensor(dt, {1, 2, 16}), D = make_tensor(dt, {1, 4, 16});
      const double q[2][2] = {{1, 0.25}, {2, 1.5}};
      const double d[4][2] = {{0.25, -1}, {2, 1}, {-0.5, 0.75}, {2, 1}};
      for (int t = 0; t < 2; ++t)
        for (int k = 0; k < 2; ++k) set_value(Q, t * 16 + k, q[t][k]);
      for (int s = 0; s < 4; ++s)
        for (int k = 0; k < 2; ++k) set_value(D, s * 16 + k, d[s][k]);
      const Single r = run_single(Q, D, {}, MaskMode::exclude, st);
      EXPECT_EQ(r.winners, (std::vector<int64_t>{1, 1}));
      EXPECT_NE(r.dD[16], 0.0);
      for (int k = 0; k < 16; ++k) EXPECT_EQ(r.dD[size_t(3 * 16 + k)], 0.0);
    }
  }
}

// Equal maxima and NaN in different stages and in different columns of one thread, on the
// kernels with winners (dim 64, bf16; three query rows: the TMA stream kernel by default, and
// both wgmma kernels): the first position wins, a NaN before any number.
TEST(CudaBackwardRule, TiesAcrossStagesOnTheWgmmaKernels) {
  REQUIRE_GPU();
  for (cuda::WgKernel k :
       {cuda::WgKernel::automatic, cuda::WgKernel::queries, cuda::WgKernel::docs}) {
    cuda::set_wg_kernel(k);
    const uint64_t tma_before = cuda::tma_winners_launch_count();
    HostTensor Q = make_tensor(DType::bfloat16, {1, 3, 64}),
               D = make_tensor(DType::bfloat16, {1, 200, 64});
    for (int t = 0; t < 3; ++t) set_value(Q, t * 64 + t, 1.0);
    for (int s = 0; s < 200; ++s)
      for (int k2 = 0; k2 < 3; ++k2) set_value(D, s * 64 + k2, 0.125 * ((s + k2) % 7) - 0.5);
    for (int s : {67, 3, 130, 2 + 64 * 2}) set_value(D, s * 64, 2.0);  // row 0: 3 first
    for (int s : {195, 131, 133}) set_value(D, s * 64 + 1, 3.0);       // row 1: 131 first
    set_value(D, 199 * 64 + 2, 4.0);                                   // row 2: the last token
    const Single r = run_single(Q, D, {}, MaskMode::exclude, BackwardStrategy::deterministic);
    EXPECT_EQ(r.winners, (std::vector<int64_t>{3, 131, 199}));
    EXPECT_EQ(r.score, 9.0f);
    set_value(D, 160 * 64 + 5, kNaN);
    set_value(D, 100 * 64 + 9, kNaN);
    const Single n = run_single(Q, D, {}, MaskMode::exclude, BackwardStrategy::deterministic);
    EXPECT_EQ(n.winners, (std::vector<int64_t>{100, 100, 100}));
    EXPECT_TRUE(std::isnan(n.score));
    if (cuda::wg_available(0)) {
      EXPECT_EQ(cuda::tma_winners_launch_count() > tma_before, k == cuda::WgKernel::automatic);
    }
  }
  cuda::set_wg_kernel(cuda::WgKernel::automatic);
}

TEST(CudaBackwardRule, ZeroModeAndNaN) {
  REQUIRE_GPU();
  const HostTensor Q = tensor(DType::float32, {1, 1, 2}, {1, 0});
  const HostTensor D = tensor(DType::float32, {1, 3, 2}, {-1, 0, kNaN, 6e4, -0.5, 0});
  const HostTensor m = tensor(DType::boolean, {1, 3}, {1, 0, 1});
  const Single ex = run_single(Q, D, m, MaskMode::exclude, BackwardStrategy::deterministic);
  EXPECT_EQ(ex.score, -0.5f);
  EXPECT_EQ(ex.winners, (std::vector<int64_t>{2}));
  EXPECT_EQ(ex.dD, (std::vector<double>{0, 0, 0, 0, 1, 0}));
  const Single zero = run_single(Q, D, m, MaskMode::zero, BackwardStrategy::deterministic);
  EXPECT_EQ(zero.score, 0.0f);
  EXPECT_EQ(zero.winners, (std::vector<int64_t>{-1}));
  EXPECT_EQ(zero.dD, (std::vector<double>(6, 0.0)));
  const HostTensor Dn = tensor(DType::float32, {1, 3, 2}, {1, 0, kNaN, 0, kNaN, 0});
  const Single nan = run_single(Q, Dn, {}, MaskMode::exclude, BackwardStrategy::deterministic);
  EXPECT_TRUE(std::isnan(nan.score));
  EXPECT_EQ(nan.winners, (std::vector<int64_t>{1}));
  EXPECT_TRUE(std::isnan(nan.dQ[0]));
  EXPECT_EQ(nan.dD[2], 1.0);
}

// Only one of the two gradients: the other output is left alone.
TEST(CudaBackward, OneGradientOnly) {
  REQUIRE_GPU();
  CaseSpec s;
  s.layout = Layout::cross, s.nq = 3, s.nd = 4, s.lq_min = s.lq_max = 8, s.ld_min = s.ld_max = 20;
  s.dim = 64, s.q_dtype = s.d_dtype = DType::bfloat16, s.seed = 63000;
  const Case c = make_case(s);
  const HostTensor g = make_grad_out(c, 1);
  const ForwardResult f = gpu_forward(c, DType::int16);
  const Gradients both = gpu_backward(c, g, f.winners, BackwardStrategy::deterministic);
  const Gradients q_only =
      gpu_backward(c, g, f.winners, BackwardStrategy::deterministic, true, false);
  const Gradients d_only =
      gpu_backward(c, g, f.winners, BackwardStrategy::deterministic, false, true);
  EXPECT_TRUE(bitwise_equal(both.dQ, q_only.dQ));
  EXPECT_TRUE(bitwise_equal(both.dD, d_only.dD));
}

}  // namespace
}  // namespace colmax::test
