// The stream kernels (src/cuda/stream; on sm_90 both the TMA and the register kernel)
// against the float64 reference: every compiled width, query rows 1..128 (teams of 1, 2 and
// 4 warps), stacked queries walked document by document, packed query groups that overflow
// a team (row chunks), masks of every kind and dtype, both mask modes, normalisation, NaN
// tokens, empty and one-token documents. Also the rule that decides which problems go to
// them (host-only: runs without a GPU).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "cuda/forward.hpp"
#include "cuda/stream/stream_launch.hpp"
#include "support/cases.hpp"
#include "support/device.hpp"

namespace colmax::test {
namespace {

struct ForceFamily {
  explicit ForceFamily(cuda::ForwardFamily f) { cuda::set_forward_family(f); }
  ~ForceFamily() { cuda::set_forward_family(cuda::ForwardFamily::automatic); }
};

std::vector<CaseSpec> stream_specs() {
  std::vector<CaseSpec> specs;
  const Layout layouts[] = {Layout::cross, Layout::candidates, Layout::pairs, Layout::packed,
                            Layout::packed_pairs};
  const MaskKind masks[] = {MaskKind::none, MaskKind::padding, MaskKind::holes,
                            MaskKind::fully_masked};
  const DType mask_dtypes[] = {DType::boolean, DType::int64, DType::float32, DType::uint8};
  int i = 0;
  for (int64_t dim : {32, 48, 64, 96, 128, 256}) {
    for (int64_t lq : {1, 9, 32, 33, 64, 100, 128}) {
      CaseSpec s;
      s.seed = 5000 + uint64_t(i);
      s.layout = layouts[i % 5];
      s.dim = dim;
      s.lq_max = lq;
      s.lq_min = s.layout >= Layout::packed ? std::max<int64_t>(1, lq / 3) : lq;
      // Short, medium and long documents, including empty and one-token ones when packed.
      switch (i % 3) {
        case 0:
          s.ld_min = 0, s.ld_max = 3;
          break;
        case 1:
          s.ld_min = 1, s.ld_max = 70;
          break;
        default:
          s.ld_min = 200, s.ld_max = 700;
      }
      if (s.layout < Layout::packed) s.ld_min = s.ld_max;
      // Up to 9 queries: cross products stack several groups (document-major order).
      s.nq = 1 + i % 9;
      s.nd = 3 + i % 7;
      if (s.layout == Layout::pairs) s.nd = s.nq;
      s.np = s.layout == Layout::packed_pairs ? 5 + i % 11 : 0;
      const double per_pair = double(lq) * double(s.ld_max) * double(dim);
      while (s.nq > 1 && double(s.nq * s.nd) * per_pair > 2e7) --s.nq;
      if (s.layout == Layout::pairs) s.nd = s.nq;
      s.q_dtype = s.d_dtype = i % 2 ? DType::float16 : DType::bfloat16;
      s.q_mask = masks[(i / 2) % 3];  // no fully masked queries: keep most rows alive
      s.d_mask = masks[(i / 3) % 4];
      s.mask_dtype = mask_dtypes[i % 4];
      s.mode = i % 4 < 2 ? MaskMode::zero : MaskMode::exclude;
      s.normalize = i % 3 == 1;
      s.nan_tokens = i % 10 == 7 ? 1 : 0;
      s.negative = i % 5 == 3;
      specs.push_back(s);
      ++i;
    }
  }
  // COLMAX_STREAM_CASES=N keeps about N of them, spread over the widths (for the sanitizers).
  if (const char* env = std::getenv("COLMAX_STREAM_CASES")) {
    const size_t n = size_t(std::max(1, std::atoi(env)));
    const size_t step = (specs.size() + n - 1) / n;
    std::vector<CaseSpec> kept;
    for (size_t k = 0; k < specs.size(); k += step) kept.push_back(specs[k]);
    specs = kept;
  }
  return specs;
}

// A case through whatever family is forced, against the float64 reference ("" when they agree).
std::string check(const CaseSpec& spec) {
  const Case c = make_case(spec);
  return compare_scores(gpu_scores(c, c.options()), reference_scores(c), tolerance(spec));
}

// Every spec through family `f`.
void all_match(cuda::ForwardFamily f, const std::vector<CaseSpec>& specs) {
  ForceFamily force(f);
  for (const CaseSpec& spec : specs) ASSERT_EQ(check(spec), "") << spec.describe();
}

TEST(CudaStreamKernel, MatchesReference) {
  COLMAX_REQUIRE_GPU();
  ForceFamily force(cuda::ForwardFamily::stream);
  for (const CaseSpec& spec : stream_specs()) {
    const uint64_t before = cuda::stream_launch_count();
    ASSERT_EQ(check(spec), "") << spec.describe();
    // Empty batches launch nothing; every other case must have run on the stream kernel.
    const bool empty =
        spec.nq == 0 || spec.nd == 0 || (spec.layout == Layout::packed_pairs && spec.np == 0);
    if (!empty) {
      EXPECT_GT(cuda::stream_launch_count(), before) << spec.describe();
    }
  }
}

// Without the copy engine: the register kernel (what sm_80-89 and strided documents run).
TEST(CudaStreamKernel, RegisterKernelMatchesReference) {
  COLMAX_REQUIRE_GPU();
  all_match(cuda::ForwardFamily::stream_registers, stream_specs());
}

// The wgmma kernel (sm_90a): the widths it runs (64, 96, 128) of the same cases, plus
// queries longer than a pass (row chunks) and many stacked queries.
std::vector<CaseSpec> wg_specs() {
  std::vector<CaseSpec> specs;
  for (const CaseSpec& s : stream_specs()) {
    if (s.dim == 64 || s.dim == 96 || s.dim == 128) specs.push_back(s);
  }
  int i = 0;
  for (int64_t lq : {129, 300, 700}) {
    for (Layout layout : {Layout::cross, Layout::candidates, Layout::packed}) {
      CaseSpec s;
      s.seed = 7000 + uint64_t(i);
      s.layout = layout;
      s.dim = i % 2 ? 64 : 128;
      s.lq_max = lq;
      s.lq_min = layout == Layout::packed ? lq / 2 : lq;
      s.ld_max = 150 + 37 * i;
      s.ld_min = layout == Layout::packed ? 0 : s.ld_max;
      s.nq = 2 + i % 3;
      s.nd = 3 + i % 4;
      s.q_dtype = s.d_dtype = i % 2 ? DType::float16 : DType::bfloat16;
      s.q_mask = i % 3 == 0 ? MaskKind::holes : MaskKind::none;
      s.d_mask =
          i % 4 == 1 ? MaskKind::holes : (i % 4 == 2 ? MaskKind::fully_masked : MaskKind::none);
      s.mode = i % 2 ? MaskMode::zero : MaskMode::exclude;
      s.normalize = i % 3 == 2;
      specs.push_back(s);
      ++i;
    }
  }
  // 40 queries of 32 tokens against short documents: ten stacked groups, document-major.
  CaseSpec many;
  many.seed = 7100;
  many.layout = Layout::cross;
  many.dim = 128;
  many.nq = 40;
  many.nd = 12;
  many.lq_min = many.lq_max = 32;
  many.ld_min = many.ld_max = 90;
  many.q_dtype = many.d_dtype = DType::bfloat16;
  specs.push_back(many);
  // Many pairs a block (a block takes pairs / multiprocessors of them in order): the
  // query-rows kernel chains the stages of consecutive pairs that hold the same query rows,
  // and breaks the chain where the query group changes, a document is empty or a pair takes
  // several passes. Padded and packed documents (lengths 0..100, so stage counts vary from
  // pair to pair), stacked and per-query-candidate queries.
  const auto chained = [&](uint64_t seed, Layout layout, int64_t dim, int64_t nq, int64_t nd,
                           int64_t lq_min, int64_t lq, int64_t ld_min, int64_t ld) {
    CaseSpec c;
    c.seed = seed;
    c.layout = layout;
    c.dim = dim;
    c.nq = nq, c.nd = nd;
    c.lq_min = lq_min, c.lq_max = lq;
    c.ld_min = ld_min, c.ld_max = ld;
    c.q_dtype = c.d_dtype = seed % 2 ? DType::float16 : DType::bfloat16;
    c.q_mask = seed % 3 == 0 ? MaskKind::holes : MaskKind::none;
    c.nan_tokens = seed % 4 == 1 ? 1 : 0;
    if (layout == Layout::packed_pairs) c.np = 400;
    specs.push_back(c);
  };
  chained(7200, Layout::cross, 128, 24, 200, 32, 32, 40, 40);
  chained(7201, Layout::cross, 96, 8, 150, 32, 32, 200, 200);
  chained(7202, Layout::packed, 64, 16, 400, 20, 32, 0, 100);
  chained(7203, Layout::candidates, 128, 20, 40, 64, 64, 70, 70);
  chained(7204, Layout::packed_pairs, 128, 30, 60, 33, 60, 1, 130);
  return specs;
}

// By default the query-rows wgmma kernel takes the cases without a document mask or
// normalisation, the document-rows one the others; forced, the latter takes them all.
TEST(CudaStreamKernel, WgmmaKernelMatchesReference) {
  COLMAX_REQUIRE_GPU();
  const uint64_t before = cuda::wgq_launch_count();
  all_match(cuda::ForwardFamily::stream_wgmma, wg_specs());
  EXPECT_GT(cuda::wgq_launch_count(), before);
}

TEST(CudaStreamKernel, DocumentRowsWgmmaKernelMatchesReference) {
  COLMAX_REQUIRE_GPU();
  cuda::set_wg_kernel(cuda::WgKernel::docs);
  const uint64_t before = cuda::wgq_launch_count();
  all_match(cuda::ForwardFamily::stream_wgmma, wg_specs());
  cuda::set_wg_kernel(cuda::WgKernel::automatic);
  EXPECT_EQ(cuda::wgq_launch_count(), before);
}

TEST(CudaStreamKernel, TileFamilyAgreesOnTheSameCases) {
  COLMAX_REQUIRE_GPU();
  all_match(cuda::ForwardFamily::tile, stream_specs());
}

// ---- the dispatch rule (no GPU needed)

cuda::ProblemView padded(int64_t nq, int64_t lq, int64_t nd, int64_t ld, int64_t dim,
                         cuda::Elem e = cuda::Elem::bf16) {
  cuda::ProblemView v;
  for (cuda::SeqView* s : {&v.q, &v.d}) {
    s->elem = e;
    s->elem_bytes = e == cuda::Elem::f32 ? 4 : 2;
    s->dim = dim;
    s->token_stride = dim;
    s->copy_bytes = 16;
  }
  v.q.count = nq;
  v.q.length = lq;
  v.q.outer_stride = lq * dim;
  v.d.count = nd;
  v.d.length = ld;
  v.d.outer_stride = ld * dim;
  v.pairing = cuda::PairingKind::cross;
  return v;
}

TEST(CudaStreamPlan, ShortQueriesStreamOneWarpPerDocument) {
  cuda::StreamLaunch L;
  ASSERT_TRUE(cuda::stream_plan(padded(1, 32, 1000, 300, 128), L));
  EXPECT_EQ(L.ks, 8);
  EXPECT_EQ(L.team, 1);
  EXPECT_EQ(L.group, 1);
  EXPECT_FALSE(L.doc_major);
  EXPECT_EQ(L.pairs, 1000);
  EXPECT_TRUE(L.preferred);
  EXPECT_TRUE(L.tma);  // contiguous documents
}

TEST(CudaStreamPlan, StackedQueriesShareADocumentInDocumentOrder) {
  cuda::StreamLaunch L;
  ASSERT_TRUE(cuda::stream_plan(padded(64, 32, 10000, 300, 128), L));
  EXPECT_EQ(L.group, 4);  // 128 rows
  EXPECT_EQ(L.team, 4);
  EXPECT_TRUE(L.doc_major);
  EXPECT_EQ(L.groups, 16);
  EXPECT_EQ(L.pairs, 16 * 10000);
  EXPECT_FALSE(L.preferred);  // the tile kernel shares each document among 256 rows
}

TEST(CudaStreamPlan, WideEmbeddingsUseMoreWarpsPerQuery) {
  cuda::StreamLaunch L;
  ASSERT_TRUE(cuda::stream_plan(padded(1, 32, 10, 300, 256), L));
  EXPECT_EQ(L.ks, 16);
  EXPECT_EQ(L.team, 2);  // 16 rows a warp at dim 256
  ASSERT_TRUE(cuda::stream_plan(padded(1, 128, 10, 300, 64), L));
  EXPECT_EQ(L.team, 4);
  ASSERT_TRUE(cuda::stream_plan(padded(1, 48, 10, 300, 48), L));
  EXPECT_EQ(L.ks, 3);
  EXPECT_EQ(L.team, 2);
}

TEST(CudaStreamPlan, EmptyQueriesStackOneRowEach) {
  cuda::StreamLaunch L;
  ASSERT_TRUE(cuda::stream_plan(padded(5, 0, 10, 300, 128), L));
  EXPECT_EQ(L.group, 5);
  EXPECT_EQ(L.team, 1);
}

TEST(CudaStreamPlan, OtherProblemsGoToTheTileKernel) {
  cuda::StreamLaunch L;
  EXPECT_FALSE(cuda::stream_plan(padded(1, 129, 10, 300, 128), L));  // long queries
  EXPECT_FALSE(cuda::stream_plan(padded(1, 32, 10, 300, 100), L));   // width not compiled
  EXPECT_FALSE(cuda::stream_plan(padded(1, 32, 10, 300, 512), L));
  EXPECT_FALSE(cuda::stream_plan(padded(1, 32, 10, 300, 128, cuda::Elem::f32), L));
  cuda::ProblemView mixed = padded(1, 32, 10, 300, 128);
  mixed.d.elem = cuda::Elem::f16;
  EXPECT_FALSE(cuda::stream_plan(mixed, L));
  cuda::ProblemView unaligned = padded(1, 32, 10, 300, 128);
  unaligned.d.copy_bytes = 8;
  EXPECT_FALSE(cuda::stream_plan(unaligned, L));
}

TEST(CudaStreamPlan, TrainingForwardStreamsWhereTheScoresDo) {
  cuda::StreamLaunch L;
  // Per-query candidates (KD 64 x 32) and one short query: the TMA stream kernel's winners.
  cuda::ProblemView kd = padded(64, 32, 64 * 32, 300, 128);
  kd.pairing = cuda::PairingKind::grouped;
  kd.group = 32;
  EXPECT_TRUE(cuda::winners_on_stream(kd, L));
  EXPECT_EQ(L.team, 1);
  EXPECT_TRUE(L.tma);
  EXPECT_TRUE(cuda::winners_on_stream(padded(1, 32, 1000, 300, 96), L));
  // In-batch (stacked queries share each document) and long queries: a wgmma kernel.
  EXPECT_FALSE(cuda::winners_on_stream(padded(256, 32, 256, 300, 128), L));
  EXPECT_FALSE(cuda::winners_on_stream(padded(1, 64, 1000, 300, 128), L));
  // Widths without a winners variant, and strided documents, stay on a wgmma kernel.
  EXPECT_FALSE(cuda::winners_on_stream(padded(1, 32, 1000, 300, 32), L));
  cuda::ProblemView strided = padded(1, 32, 1000, 300, 128);
  strided.d.token_stride = 256;
  EXPECT_FALSE(cuda::winners_on_stream(strided, L));
}

TEST(CudaStreamPlan, WgmmaTakesPairsOfMoreThan32Rows) {
  cuda::StreamLaunch L;
  ASSERT_TRUE(cuda::wg_plan(padded(1, 32, 1000, 300, 128), L));
  EXPECT_EQ(L.rows, 32);
  EXPECT_FALSE(L.preferred);  // the stream kernels are faster there
  ASSERT_TRUE(cuda::wg_plan(padded(1, 128, 1000, 1024, 128), L));
  EXPECT_TRUE(L.preferred);
  ASSERT_TRUE(cuda::wg_plan(padded(64, 32, 10000, 300, 128), L));
  EXPECT_EQ(L.group, 4);
  EXPECT_EQ(L.rows, 128);
  EXPECT_TRUE(L.doc_major);
  EXPECT_TRUE(L.preferred);
  ASSERT_TRUE(cuda::wg_plan(padded(1, 1024, 1000, 1024, 64), L));
  EXPECT_EQ(L.group, 1);
  EXPECT_EQ(L.rows, 1024);
  EXPECT_EQ(L.wg_groups, 2);  // eight 128-row chunks: four passes over each document, not eight
  ASSERT_TRUE(cuda::wg_plan(padded(1, 128, 1000, 1024, 128), L));
  EXPECT_EQ(L.wg_groups, 1);  // one chunk: a second warpgroup would idle
  ASSERT_TRUE(cuda::wg_plan(padded(3, 129, 10, 300, 128), L));
  EXPECT_EQ(L.wg_groups, 2);
  EXPECT_FALSE(cuda::wg_plan(padded(4, 64, 10, 300, 256), L));  // widths 64, 96, 128 only
  cuda::ProblemView strided = padded(4, 64, 10, 300, 128);
  strided.d.token_stride = 136;
  EXPECT_FALSE(cuda::wg_plan(strided, L));
}

TEST(CudaStreamPlan, StridedDocumentsUseTheRegisterKernel) {
  cuda::StreamLaunch L;
  cuda::ProblemView strided = padded(1, 32, 10, 300, 128);
  strided.d.token_stride = 136;
  ASSERT_TRUE(cuda::stream_plan(strided, L));
  EXPECT_FALSE(L.tma);
}

}  // namespace
}  // namespace colmax::test
