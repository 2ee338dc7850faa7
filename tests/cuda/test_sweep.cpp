// The CPU test sweep again (same seeds, same cases), on the GPU, against the float64
// reference: default dispatch, every compiled tile shape forced in turn, tf32 precision,
// the plain kernel, and the edge cases.
#include <gtest/gtest.h>

#include <cstdlib>

#include "cuda/tile/tile_launch.hpp"
#include "cuda/tile/tile_params.hpp"
#include "support/cases.hpp"
#include "support/device.hpp"

namespace colmax::test {
namespace {

int sweep_cases() {
  const char* env = std::getenv("COLMAX_SWEEP_CASES");
  return env ? std::atoi(env) : 300;
}

uint64_t sweep_seed() {
  const char* env = std::getenv("COLMAX_SWEEP_SEED");
  return env ? std::strtoull(env, nullptr, 10) : 20261123;
}

// The sweep's specs, drawn exactly as tests/test_sweep.cpp draws them.
std::vector<CaseSpec> sweep_specs(int n) {
  std::mt19937_64 rng(sweep_seed());
  std::vector<CaseSpec> specs;
  for (int i = 0; i < n; ++i) specs.push_back(random_spec(rng, sweep_seed() + uint64_t(i)));
  return specs;
}

// Forces a tile configuration for the lifetime of the guard.
struct ForceTile {
  explicit ForceTile(cuda::TileOverride o) { cuda::set_tile_override(o); }
  ~ForceTile() { cuda::set_tile_override({}); }
};

std::string check_gpu(const Case& c, const Options& o, double tol) {
  return compare_scores(gpu_scores(c, o), reference_scores(c), tol);
}

TEST(CudaSweep, MatchesReference) {
  COLMAX_REQUIRE_GPU();
  const auto specs = sweep_specs(sweep_cases());
  for (size_t i = 0; i < specs.size(); ++i) {
    const Case c = make_case(specs[i]);
    ASSERT_EQ(check_gpu(c, c.options(), tolerance(c.spec)), "")
        << "case " << i << ": " << specs[i].describe();
  }
}

TEST(CudaSweep, EveryTileShape) {
  COLMAX_REQUIRE_GPU();
  const auto specs = sweep_specs(std::min(sweep_cases(), 120));
  for (int shape = 0; shape < cuda::kNumTileShapes; ++shape) {
    for (size_t i = 0; i < specs.size(); ++i) {
      // Rotate the pipeline depth and query slots too: 2..4 stages, 1..4 slots.
      ForceTile force({shape, 2 + int(i % 3), 1 + int(i % 4)});
      const Case c = make_case(specs[i]);
      ASSERT_EQ(check_gpu(c, c.options(), tolerance(c.spec)), "")
          << "shape " << shape << " case " << i << ": " << specs[i].describe();
    }
  }
}

TEST(CudaSweep, Tf32PrecisionIsClose) {
  COLMAX_REQUIRE_GPU();
  const auto specs = sweep_specs(sweep_cases());
  int checked = 0;
  for (size_t i = 0; i < specs.size(); ++i) {
    if (specs[i].q_dtype != DType::float32 || specs[i].d_dtype != DType::float32) continue;
    const Case c = make_case(specs[i]);
    Options o = c.options();
    o.fp32_precision = Fp32Precision::tf32;
    ASSERT_EQ(check_gpu(c, o, 5e-3), "") << "case " << i << ": " << specs[i].describe();
    ++checked;
  }
  EXPECT_GT(checked, 20);
}

TEST(CudaSweep, SimpleKernelMatchesReference) {
  COLMAX_REQUIRE_GPU();
  const auto specs = sweep_specs(std::min(sweep_cases(), 150));
  for (size_t i = 0; i < specs.size(); ++i) {
    const Case c = make_case(specs[i]);
    ASSERT_EQ(compare_scores(simple_scores(c, c.options()), reference_scores(c), tolerance(c.spec)),
              "")
        << "case " << i << ": " << specs[i].describe();
  }
}

TEST(CudaSweep, EdgeCases) {
  COLMAX_REQUIRE_GPU();
  for (const CaseSpec& spec : edge_specs(true)) {
    const Case c = make_case(spec);
    ASSERT_EQ(check_gpu(c, c.options(), tolerance(c.spec)), "") << spec.describe();
  }
}

TEST(CudaSweep, EdgeCasesEveryTileShape) {
  COLMAX_REQUIRE_GPU();
  const auto specs = edge_specs(true);
  for (int shape = 0; shape < cuda::kNumTileShapes; ++shape) {
    ForceTile force({shape, 3, 2});
    for (const CaseSpec& spec : specs) {
      const Case c = make_case(spec);
      ASSERT_EQ(check_gpu(c, c.options(), tolerance(c.spec)), "")
          << "shape " << shape << ": " << spec.describe();
    }
  }
}

}  // namespace
}  // namespace colmax::test
