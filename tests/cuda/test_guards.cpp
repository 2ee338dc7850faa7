// Device-resident offsets and pair indices are not checked on the host (that would need a
// synchronisation): the kernels guard them. A bad sequence or pair never reads out of bounds
// and scores NaN; its neighbours are unaffected. Also: runtime information and device errors.
#include <gtest/gtest.h>

#include <cmath>

#include "support/cases.hpp"
#include "support/device.hpp"

namespace colmax::test {
namespace {

CaseSpec packed_spec(Layout layout) {
  CaseSpec s;
  s.layout = layout;
  s.nq = 4;
  s.nd = 6;
  s.np = 8;
  s.lq_min = 3;
  s.lq_max = 9;
  s.ld_min = 5;
  s.ld_max = 30;
  s.dim = 64;
  s.q_dtype = s.d_dtype = DType::bfloat16;
  s.seed = 77;
  return s;
}

TEST(CudaGuards, BadDocumentOffsetsScoreNan) {
  COLMAX_REQUIRE_GPU();
  Case c = make_case(packed_spec(Layout::packed));
  const std::vector<float> good = reference_scores(c);
  // Document 2 ends past the tensor; document 4 runs backwards.
  const int64_t total = c.D.shape[0];
  set_value(c.cu_d, 3, double(total + 1000));
  set_value(c.cu_d, 5, 0.0);
  const std::vector<float> got = gpu_scores(c, c.options());
  for (int64_t q = 0; q < 4; ++q) {
    for (int64_t d = 0; d < 6; ++d) {
      const float g = got[size_t(q * 6 + d)];
      // Docs 2 (ends past the tensor), 3 (starts past it) and 4 (runs backwards) are broken;
      // doc 5 now spans [0, cu[6]): valid offsets, a finite score.
      if (d >= 2 && d <= 4) {
        EXPECT_TRUE(std::isnan(g)) << q << "," << d;
      } else if (d == 5) {
        EXPECT_FALSE(std::isnan(g)) << q << "," << d;
      } else {
        EXPECT_NEAR(g, good[size_t(q * 6 + d)], 1e-2 * std::max(1.0f, std::fabs(good[0])));
      }
    }
  }
}

TEST(CudaGuards, BadQueryOffsetsScoreNan) {
  COLMAX_REQUIRE_GPU();
  Case c = make_case(packed_spec(Layout::packed));
  set_value(c.cu_q, 0, -5.0);
  const std::vector<float> got = gpu_scores(c, c.options());
  for (int64_t d = 0; d < 6; ++d) EXPECT_TRUE(std::isnan(got[size_t(d)]));
  const std::vector<float> good = reference_scores(make_case(packed_spec(Layout::packed)));
  for (size_t i = 6; i < got.size(); ++i) EXPECT_NEAR(got[i], good[i], 0.05);
}

TEST(CudaGuards, BadPairIndicesScoreNan) {
  COLMAX_REQUIRE_GPU();
  Case c = make_case(packed_spec(Layout::packed_pairs));
  const std::vector<float> good = reference_scores(c);
  set_value(c.pair_q, 1, 4.0);  // == Nq
  set_value(c.pair_d, 3, -1.0);
  set_value(c.pair_d, 6, 1.0e9);
  const std::vector<float> got = gpu_scores(c, c.options());
  for (size_t p = 0; p < got.size(); ++p) {
    if (p == 1 || p == 3 || p == 6) {
      EXPECT_TRUE(std::isnan(got[p])) << p;
    } else {
      EXPECT_NEAR(got[p], good[p], 0.05) << p;
    }
  }
}

TEST(CudaGuards, RuntimeInformation) {
  EXPECT_TRUE(cuda_built());
  EXPECT_FALSE(cuda_archs().empty());
  COLMAX_REQUIRE_GPU();
  const auto devices = cuda_devices();
  ASSERT_FALSE(devices.empty());
  EXPECT_GE(devices[0].compute_capability, 80);
  EXPECT_GT(devices[0].multiprocessors, 0);
  EXPECT_FALSE(devices[0].name.empty());
}

TEST(CudaGuards, DeviceMismatchesAreErrors) {
  COLMAX_REQUIRE_GPU();
  Case c = make_case(packed_spec(Layout::cross));
  DevicePlacer dev;
  TensorView out = dev.poisoned_output(c.out_shape);
  Options o;
  try {
    maxsim(c.Q.view(), dev.place(c.D), out, {}, o);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::device) << e.what();
  }
  o.backend = Backend::cpu;
  EXPECT_THROW(maxsim(dev.place(c.Q), dev.place(c.D), out, {}, o), Error);
}

}  // namespace
}  // namespace colmax::test
