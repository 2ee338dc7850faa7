// GPU-only shapes, too large for the full float64 reference: the tile kernels against the
// plain GPU kernel on every score, and against the float64 reference on a sample of scores.
// Large Nd, documents up to 16,384 tokens, queries up to 2,048 tokens, every dim class, every
// layout, both mask modes, fp32 / fp16 / bf16 / mixed inputs.
#include <gtest/gtest.h>

#include "cuda/forward.hpp"
#include "support/cases.hpp"
#include "support/device.hpp"

namespace colmax::test {
namespace {

// Against the plain kernel: both compute exact products in fp32; only the summation order
// differs.
double simple_tolerance(const CaseSpec& s) {
  return s.q_dtype == DType::float32 && s.d_dtype == DType::float32 ? 2e-5 : 2e-4;
}

void check_large(const CaseSpec& spec) {
  SCOPED_TRACE(spec.describe());
  const Case c = make_large_case(spec);
  const std::vector<float> got = gpu_scores(c, c.options());
  const std::vector<float> plain = simple_scores(c, c.options());
  ASSERT_EQ(compare_scores(got, plain, simple_tolerance(spec)), "");
  // A spread sample (first, last, and strided positions) against float64.
  const int64_t n = int64_t(got.size());
  if (n == 0) return;
  std::vector<int64_t> at = {0, n - 1};
  for (int64_t i = 1; i < 7; ++i) at.push_back((n * i) / 7);
  const std::vector<float> want = sampled_reference(c, at);
  std::vector<float> have;
  for (int64_t i : at) have.push_back(got[size_t(i)]);
  ASSERT_EQ(compare_scores(have, want, tolerance(spec)), "");
}

CaseSpec spec(Layout layout, int64_t nq, int64_t nd, int64_t lq, int64_t ld, int64_t dim,
              DType dt = DType::bfloat16) {
  CaseSpec s;
  s.layout = layout;
  s.nq = nq;
  s.nd = nd;
  s.np = nq * 4;
  s.lq_min = s.lq_max = lq;
  s.ld_min = s.ld_max = ld;
  s.dim = dim;
  s.q_dtype = s.d_dtype = dt;
  s.seed = uint64_t(nq * 131 + nd * 7 + lq * 3 + ld + dim);
  return s;
}

TEST(CudaLarge, ManyDocuments) {
  COLMAX_REQUIRE_GPU();
  CaseSpec s = spec(Layout::cross, 3, 60000, 32, 48, 64);
  s.d_mask = MaskKind::holes;
  check_large(s);
  s = spec(Layout::packed, 2, 40000, 32, 40, 64);
  s.lq_min = 8;
  s.ld_min = 1;
  s.ld_max = 80;
  check_large(s);
}

// More document bytes than half of L2 against several query groups: the query-rows wgmma
// kernel walks the documents in tiles (query group after query group within a tile).
TEST(CudaLarge, DocumentTilesOfTheWgmmaKernel) {
  COLMAX_REQUIRE_GPU();
  cuda::set_forward_family(cuda::ForwardFamily::stream_wgmma);
  CaseSpec s = spec(Layout::cross, 41, 1500, 32, 300, 128);
  check_large(s);
  s = spec(Layout::packed, 23, 2500, 40, 400, 96, DType::float16);
  s.lq_min = 9;
  s.ld_min = 1;
  check_large(s);
  cuda::set_forward_family(cuda::ForwardFamily::automatic);
}

TEST(CudaLarge, LongDocuments) {
  COLMAX_REQUIRE_GPU();
  CaseSpec s = spec(Layout::cross, 2, 3, 64, 16384, 128);
  s.d_mask = MaskKind::padding;
  s.mode = MaskMode::zero;
  s.negative = true;
  check_large(s);
  s = spec(Layout::pairs, 3, 3, 32, 16384, 96, DType::float16);
  s.normalize = true;
  check_large(s);
  s = spec(Layout::cross, 16, 32, 32, 8192, 128);
  check_large(s);
}

TEST(CudaLarge, LongQueries) {
  COLMAX_REQUIRE_GPU();
  CaseSpec s = spec(Layout::cross, 1, 40, 2048, 512, 128);
  s.normalize = true;
  s.q_mask = MaskKind::holes;
  check_large(s);
  s = spec(Layout::candidates, 2, 5, 1500, 300, 64);
  check_large(s);
  s = spec(Layout::packed_pairs, 4, 6, 2048, 700, 128);
  s.lq_min = 700;
  s.ld_min = 100;
  s.np = 9;
  check_large(s);
  s = spec(Layout::cross, 1, 30, 1024, 1024, 128, DType::float32);
  check_large(s);
}

TEST(CudaLarge, EveryDimClass) {
  COLMAX_REQUIRE_GPU();
  const Layout layouts[] = {Layout::cross, Layout::candidates, Layout::pairs, Layout::packed,
                            Layout::packed_pairs};
  const DType dtypes[] = {DType::bfloat16, DType::float16, DType::float32, DType::bfloat16};
  int i = 0;
  for (int64_t dim : {8, 16, 48, 64, 96, 100, 128, 200, 256, 384, 512, 1000, 1024}) {
    CaseSpec s = spec(layouts[i % 5], 5, 40, 40, 120, dim, dtypes[i % 4]);
    if (i % 4 == 3) s.q_dtype = DType::float16;  // mixed inputs
    s.lq_min = 5;
    s.ld_min = 1;
    s.d_mask = i % 2 ? MaskKind::holes : MaskKind::padding;
    s.q_mask = i % 3 ? MaskKind::none : MaskKind::holes;
    s.mode = i % 2 ? MaskMode::zero : MaskMode::exclude;
    s.normalize = i % 3 == 1;
    check_large(s);
    ++i;
  }
}

TEST(CudaLarge, EveryLayoutBothModes) {
  COLMAX_REQUIRE_GPU();
  for (MaskMode mode : {MaskMode::exclude, MaskMode::zero}) {
    CaseSpec s = spec(Layout::candidates, 64, 32, 32, 300, 128);
    s.mode = mode;
    s.d_mask = MaskKind::holes;
    s.negative = mode == MaskMode::zero;
    check_large(s);
    s = spec(Layout::pairs, 3000, 3000, 32, 300, 128);
    s.mode = mode;
    s.d_mask = MaskKind::fully_masked;
    check_large(s);
    s = spec(Layout::packed, 32, 2000, 32, 512, 128);
    s.lq_min = 8;
    s.ld_min = 32;
    s.mode = mode;
    s.d_mask = MaskKind::holes;
    s.q_mask = MaskKind::padding;
    check_large(s);
    s = spec(Layout::packed_pairs, 50, 400, 32, 300, 128);
    s.lq_min = 1;
    s.ld_min = 0;
    s.np = 5000;
    s.mode = mode;
    s.d_mask = MaskKind::holes;
    check_large(s);
    s = spec(Layout::cross, 64, 1000, 32, 300, 128);
    s.mode = mode;
    s.d_mask = MaskKind::padding;
    s.normalize = true;
    check_large(s);
    s = spec(Layout::cross, 37, 500, 20, 77, 48, DType::float16);
    s.mode = mode;
    s.q_mask = MaskKind::holes;
    check_large(s);
  }
}

TEST(CudaLarge, EmptyBatches) {
  COLMAX_REQUIRE_GPU();
  for (Layout layout :
       {Layout::cross, Layout::candidates, Layout::pairs, Layout::packed, Layout::packed_pairs}) {
    for (auto [nq, nd] : {std::pair<int64_t, int64_t>{0, 100}, {5, 0}, {0, 0}}) {
      CaseSpec s = spec(layout, nq, nd, 16, 32, 64);
      if (layout == Layout::pairs) s.nd = s.nq;
      s.np = (s.nq && s.nd) ? 3 : 0;
      const Case c = make_large_case(s);
      EXPECT_EQ(compare_scores(gpu_scores(c, c.options()), reference_scores(c), 1e-2), "")
          << s.describe();
    }
  }
}

}  // namespace
}  // namespace colmax::test
